import AdvTensor
import CLAPACK
import Foundation

/// Errors of the statistics code.
public struct AnalysisError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// Mean and covariance of feature vectors, accumulated in Double.
public struct GaussianStatistics: Sendable {
    public var mean: [Double]
    /// Row-major `[D, D]` sample covariance (divided by N − 1).
    public var covariance: [Double]
    public var dimension: Int { mean.count }

    /// Statistics of `features [N, D]` (N ≥ 2).
    public init(features: Tensor) {
        precondition(features.rank == 2 && features.shape[0] >= 2, "statistics need [N ≥ 2, D], got \(features.shape)")
        let n = features.shape[0]
        let d = features.shape[1]
        var mean = [Double](repeating: 0, count: d)
        for row in 0..<n { for j in 0..<d { mean[j] += Double(features.scalars[row * d + j]) } }
        for j in 0..<d { mean[j] /= Double(n) }
        // Centre in Float and let the GEMM form Xᵀ·X (D×D from N×D): the dominant cost.
        let centred = Tensor(shape: [n, d]) { out in
            for row in 0..<n { for j in 0..<d { out[row * d + j] = features.scalars[row * d + j] - Float(mean[j]) } }
        }
        let gram = centred.matmul(centred, transposeSelf: true)
        self.mean = mean
        self.covariance = gram.scalars.map { Double($0) / Double(n - 1) }
    }
}

/// The Fréchet distance between two Gaussians (Dowson & Landau 1982), the statistic of FID
/// (Heusel et al. 2017): `‖μ₁ − μ₂‖² + Tr(Σ₁ + Σ₂ − 2 (Σ₁ Σ₂)^{1/2})`.
///
/// `Tr (Σ₁Σ₂)^{1/2}` is computed as `Tr (Σ₁^{1/2} Σ₂ Σ₁^{1/2})^{1/2}`, two symmetric eigen-
/// decompositions (LAPACK `dsyevd`), negative round-off eigenvalues clipped to 0.
public func frechetDistance(_ a: GaussianStatistics, _ b: GaussianStatistics) throws -> Double {
    precondition(a.dimension == b.dimension, "Fréchet distance: dimensions \(a.dimension) and \(b.dimension)")
    let d = a.dimension
    let meanTerm = zip(a.mean, b.mean).reduce(0.0) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) }
    let traceA = (0..<d).reduce(0.0) { $0 + a.covariance[$1 * d + $1] }
    let traceB = (0..<d).reduce(0.0) { $0 + b.covariance[$1 * d + $1] }
    let rootA = try symmetricMatrixFunction(a.covariance, dimension: d) { max($0, 0).squareRoot() }
    let middle = multiply(multiply(rootA, b.covariance, d), rootA, d)
    // Symmetrise against round-off before the second decomposition.
    var symmetric = middle
    for i in 0..<d { for j in 0..<d { symmetric[i * d + j] = 0.5 * (middle[i * d + j] + middle[j * d + i]) } }
    let eigenvalues = try symmetricEigenvalues(symmetric, dimension: d)
    let traceRoot = eigenvalues.reduce(0.0) { $0 + max($1, 0).squareRoot() }
    return meanTerm + traceA + traceB - 2 * traceRoot
}

/// Eigenvalues (ascending) of a symmetric row-major `[n, n]` matrix, by LAPACK `dsyevd`.
public func symmetricEigenvalues(_ matrix: [Double], dimension n: Int) throws -> [Double] {
    var a = matrix
    var w = [Double](repeating: 0, count: n)
    let info = LAPACKE_dsyevd(LAPACK_ROW_MAJOR, Int8(UInt8(ascii: "N")), Int8(UInt8(ascii: "U")), Int32(n), &a, Int32(n), &w)
    guard info == 0 else { throw AnalysisError("symmetric eigen-decomposition failed (LAPACK info \(info))") }
    return w
}

/// `f(M) = V · diag(f(λ)) · Vᵀ` for a symmetric row-major `[n, n]` matrix M.
public func symmetricMatrixFunction(_ matrix: [Double], dimension n: Int, _ f: (Double) -> Double) throws -> [Double] {
    var v = matrix
    var w = [Double](repeating: 0, count: n)
    let info = LAPACKE_dsyevd(LAPACK_ROW_MAJOR, Int8(UInt8(ascii: "V")), Int8(UInt8(ascii: "U")), Int32(n), &v, Int32(n), &w)
    guard info == 0 else { throw AnalysisError("symmetric eigen-decomposition failed (LAPACK info \(info))") }
    // Columns of v are the eigenvectors: result = Σ_k f(λ_k) v_k v_kᵀ.
    let scaled = w.map(f)
    var scaledV = v
    for i in 0..<n { for k in 0..<n { scaledV[i * n + k] *= scaled[k] } }
    var result = [Double](repeating: 0, count: n * n)
    for i in 0..<n {
        for j in 0..<n {
            var sum = 0.0
            for k in 0..<n { sum += scaledV[i * n + k] * v[j * n + k] }
            result[i * n + j] = sum
        }
    }
    return result
}

/// Row-major `[n, n]` product in Double (cache-friendly i-k-j order).
func multiply(_ a: [Double], _ b: [Double], _ n: Int) -> [Double] {
    var c = [Double](repeating: 0, count: n * n)
    a.withUnsafeBufferPointer { pa in
        b.withUnsafeBufferPointer { pb in
            c.withUnsafeMutableBufferPointer { pc in
                Parallel.forEachChunk(n, minimumChunk: 8) { rows in
                    for i in rows {
                        for k in 0..<n {
                            let aik = pa[i * n + k]
                            if aik == 0 { continue }
                            for j in 0..<n { pc[i * n + j] += aik * pb[k * n + j] }
                        }
                    }
                }
            }
        }
    }
    return c
}
