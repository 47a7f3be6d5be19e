import AdvAnalysis
import AdvTensor
import XCTest

/// The Fréchet distance behind FCD, checked against closed forms and against an independent
/// Double computation (Cholesky + Jacobi eigenvalues, written here, not LAPACK).
final class FrechetDistanceTests: XCTestCase {
    /// Statistics with a given mean and row-major covariance.
    func statistics(mean: [Double], covariance: [Double]) -> GaussianStatistics {
        var result = GaussianStatistics(features: Tensor.zeros([2, mean.count]))
        result.mean = mean
        result.covariance = covariance
        return result
    }

    /// A random symmetric positive definite `[n, n]` matrix `A·Aᵀ + 0.1·I`.
    func randomCovariance(_ n: Int, using rng: inout SeededGenerator) -> [Double] {
        let a = (0..<(n * n)).map { _ in Double(rng.nextNormal()) }
        var result = [Double](repeating: 0, count: n * n)
        for i in 0..<n {
            for j in 0..<n {
                result[i * n + j] = (0..<n).reduce(0.0) { $0 + a[i * n + $1] * a[j * n + $1] } + (i == j ? 0.1 : 0)
            }
        }
        return result
    }

    func testDiagonalCovariancesMatchClosedForm() throws {
        var rng = SeededGenerator(seed: 1)
        let d = 6
        let mean1 = (0..<d).map { _ in Double(rng.nextNormal()) }
        let mean2 = (0..<d).map { _ in Double(rng.nextNormal()) }
        let std1 = (0..<d).map { _ in 0.2 + 2 * Double(rng.nextUniform()) }
        let std2 = (0..<d).map { _ in 0.2 + 2 * Double(rng.nextUniform()) }
        func diagonal(_ std: [Double]) -> [Double] {
            var result = [Double](repeating: 0, count: d * d)
            for i in 0..<d { result[i * d + i] = std[i] * std[i] }
            return result
        }
        let expected =
            zip(mean1, mean2).reduce(0.0) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) }
            + zip(std1, std2).reduce(0.0) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) }
        let distance = try frechetDistance(
            statistics(mean: mean1, covariance: diagonal(std1)),
            statistics(mean: mean2, covariance: diagonal(std2)))
        XCTAssertEqual(distance, expected, accuracy: 1e-10 * expected)
    }

    func testOneDimensionalCase() throws {
        // (1 − 4)² + (√4 − √9)² = 9 + 1
        let distance = try frechetDistance(statistics(mean: [1], covariance: [4]), statistics(mean: [4], covariance: [9]))
        XCTAssertEqual(distance, 10, accuracy: 1e-12)
    }

    /// Tr((Σ₁Σ₂)^{1/2}) = Σ √λ over the eigenvalues of Lᵀ Σ₂ L with Σ₁ = L·Lᵀ (a similar matrix
    /// to Σ₁Σ₂, but symmetric), so the expected value needs neither LAPACK nor a matrix root.
    func testFullCovariancesMatchIndependentComputation() throws {
        var rng = SeededGenerator(seed: 2)
        for n in [3, 5] {
            let covariance1 = randomCovariance(n, using: &rng)
            let covariance2 = randomCovariance(n, using: &rng)
            let mean1 = (0..<n).map { _ in Double(rng.nextNormal()) }
            let mean2 = (0..<n).map { _ in Double(rng.nextNormal()) }
            let l = ReferenceLinearAlgebra.cholesky(covariance1, n)
            let similar = ReferenceLinearAlgebra.multiply(
                ReferenceLinearAlgebra.multiply(ReferenceLinearAlgebra.transpose(l, n), covariance2, n), l, n)
            let traceRoot = ReferenceLinearAlgebra.jacobiEigenvalues(similar, n).reduce(0.0) { $0 + max($1, 0).squareRoot() }
            let trace1 = (0..<n).reduce(0.0) { $0 + covariance1[$1 * n + $1] }
            let trace2 = (0..<n).reduce(0.0) { $0 + covariance2[$1 * n + $1] }
            let meanTerm = zip(mean1, mean2).reduce(0.0) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) }
            let expected = meanTerm + trace1 + trace2 - 2 * traceRoot

            let a = statistics(mean: mean1, covariance: covariance1)
            let b = statistics(mean: mean2, covariance: covariance2)
            XCTAssertEqual(try frechetDistance(a, b), expected, accuracy: 1e-9 * (trace1 + trace2), "n = \(n)")
            XCTAssertEqual(try frechetDistance(b, a), expected, accuracy: 1e-9 * (trace1 + trace2), "symmetric, n = \(n)")
            XCTAssertGreaterThan(expected, 0)
        }
    }

    func testIdenticalStatisticsGiveZero() throws {
        var rng = SeededGenerator(seed: 3)
        let statistics = GaussianStatistics(features: Tensor.randomNormal([200, 16], using: &rng))
        let trace = (0..<16).reduce(0.0) { $0 + statistics.covariance[$1 * 16 + $1] }
        XCTAssertEqual(try frechetDistance(statistics, statistics), 0, accuracy: 1e-9 * trace)
    }

    func testStatisticsOfFeatures() {
        var rng = SeededGenerator(seed: 4)
        let n = 50
        let d = 4
        let features = Tensor.randomNormal([n, d], using: &rng) + Tensor(shape: [n, d], scalars: (0..<(n * d)).map { Float($0 % d) * 3 })
        let statistics = GaussianStatistics(features: features)
        let rows = (0..<n).map { row in (0..<d).map { Double(features.scalars[row * d + $0]) } }
        let mean = (0..<d).map { j in rows.reduce(0.0) { $0 + $1[j] } / Double(n) }
        for j in 0..<d { XCTAssertEqual(statistics.mean[j], mean[j], accuracy: 1e-6) }
        for i in 0..<d {
            for j in 0..<d {
                let covariance = rows.reduce(0.0) { $0 + ($1[i] - mean[i]) * ($1[j] - mean[j]) } / Double(n - 1)
                XCTAssertEqual(statistics.covariance[i * d + j], covariance, accuracy: 1e-5 * (1 + abs(covariance)), "[\(i), \(j)]")
            }
        }
    }

    func testSymmetricEigenvaluesOfKnownMatrix() throws {
        // The second-difference matrix: eigenvalues 2 − 2cos(kπ/4), k = 1, 2, 3.
        let values = try symmetricEigenvalues([2, -1, 0, -1, 2, -1, 0, -1, 2], dimension: 3)
        XCTAssertEqual(values.count, 3)
        for (actual, expected) in zip(values, [2 - 2.0.squareRoot(), 2, 2 + 2.0.squareRoot()]) {
            XCTAssertEqual(actual, expected, accuracy: 1e-12)
        }
        // Ascending order whatever the order on the diagonal.
        XCTAssertEqual(try symmetricEigenvalues([5, 0, 0, 0, -1, 0, 0, 0, 3], dimension: 3), [-1, 3, 5])
    }

    func testSymmetricEigenvaluesMatchJacobi() throws {
        var rng = SeededGenerator(seed: 5)
        let n = 6
        let matrix = randomCovariance(n, using: &rng).enumerated().map { $0.element - ($0.offset % (n + 1) == 0 ? 3 : 0) }
        let expected = ReferenceLinearAlgebra.jacobiEigenvalues(matrix, n).sorted()
        let actual = try symmetricEigenvalues(matrix, dimension: n)
        for (a, e) in zip(actual, expected) { XCTAssertEqual(a, e, accuracy: 1e-10 * (1 + abs(e))) }
    }

    func testMatrixSquareRootSquaresBack() throws {
        var rng = SeededGenerator(seed: 6)
        let n = 4
        let covariance = randomCovariance(n, using: &rng)
        let root = try symmetricMatrixFunction(covariance, dimension: n) { $0.squareRoot() }
        let squared = ReferenceLinearAlgebra.multiply(root, root, n)
        for (a, e) in zip(squared, covariance) { XCTAssertEqual(a, e, accuracy: 1e-10 * (1 + abs(e))) }
    }
}

/// Plain Double linear algebra on small row-major matrices, as a reference for the tests.
enum ReferenceLinearAlgebra {
    static func multiply(_ a: [Double], _ b: [Double], _ n: Int) -> [Double] {
        var c = [Double](repeating: 0, count: n * n)
        for i in 0..<n { for j in 0..<n { for k in 0..<n { c[i * n + j] += a[i * n + k] * b[k * n + j] } } }
        return c
    }

    static func transpose(_ a: [Double], _ n: Int) -> [Double] {
        var t = a
        for i in 0..<n { for j in 0..<n { t[j * n + i] = a[i * n + j] } }
        return t
    }

    /// Lower-triangular L with L·Lᵀ = a (a symmetric positive definite).
    static func cholesky(_ a: [Double], _ n: Int) -> [Double] {
        var l = [Double](repeating: 0, count: n * n)
        for i in 0..<n {
            for j in 0...i {
                let sum = (0..<j).reduce(0.0) { $0 + l[i * n + $1] * l[j * n + $1] }
                l[i * n + j] = i == j ? (a[i * n + i] - sum).squareRoot() : (a[i * n + j] - sum) / l[j * n + j]
            }
        }
        return l
    }

    /// Eigenvalues of a symmetric matrix by cyclic Jacobi rotations (unsorted).
    static func jacobiEigenvalues(_ matrix: [Double], _ n: Int) -> [Double] {
        var a = matrix
        for _ in 0..<100 {
            var off = 0.0
            for i in 0..<n { for j in 0..<n where i != j { off += a[i * n + j] * a[i * n + j] } }
            if off < 1e-26 { break }
            for p in 0..<n {
                for q in (p + 1)..<n where a[p * n + q] != 0 {
                    // Rotation that zeroes a[p][q] (Golub & Van Loan, Algorithm 8.4.1).
                    let theta = (a[q * n + q] - a[p * n + p]) / (2 * a[p * n + q])
                    let t = (theta >= 0 ? 1.0 : -1.0) / (abs(theta) + (theta * theta + 1).squareRoot())
                    let c = 1 / (t * t + 1).squareRoot()
                    let s = t * c
                    for k in 0..<n {  // columns p, q
                        let akp = a[k * n + p]
                        let akq = a[k * n + q]
                        a[k * n + p] = c * akp - s * akq
                        a[k * n + q] = s * akp + c * akq
                    }
                    for k in 0..<n {  // rows p, q
                        let apk = a[p * n + k]
                        let aqk = a[q * n + k]
                        a[p * n + k] = c * apk - s * aqk
                        a[q * n + k] = s * apk + c * aqk
                    }
                }
            }
        }
        return (0..<n).map { a[$0 * n + $0] }
    }
}
