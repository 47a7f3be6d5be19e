import CDNNL
import Foundation

/// Matrix products. One entry point, `gemm`, on oneDNN's `dnnl_sgemm` (row-major; oneDNN picks
/// its kernels for the CPU at run time: AVX2 on the AMD EPYC this lab runs on, about 88 GFLOP/s on
/// one core); `referenceGEMM` beside it is the plain triple loop that tests compare it with.
///
/// Both compute `C = alpha · op(A) · op(B) + beta · C` with row-major storage:
/// `op(A)` is `[m, k]`, `op(B)` is `[k, n]`, `C` is `[m, n]`; `lda`, `ldb`, `ldc` are the row
/// strides of the stored (untransposed) matrices.
public enum GEMM {
    /// Floating-point operations of one `m × n × k` product (a multiply and an add each).
    public static func flops(m: Int, n: Int, k: Int) -> Double { 2 * Double(m) * Double(n) * Double(k) }

    /// Threads that oneDNN's OpenMP runtime uses: the first number of `OMP_NUM_THREADS` when
    /// set, else one per active processor (libgomp's default). Independent of
    /// `Parallel.threadCount`, which covers the lab's own loops.
    public static let threadCount: Int = {
        if let text = ProcessInfo.processInfo.environment["OMP_NUM_THREADS"],
            let first = text.split(separator: ",").first, let n = Int(first.trimmingCharacters(in: .whitespaces)), n >= 1
        {
            return n
        }
        return max(1, ProcessInfo.processInfo.activeProcessorCount)
    }()
}

/// `C[m, n] = alpha · op(A)[m, k] · op(B)[k, n] + beta · C` through oneDNN (row-major).
@inline(__always)
public func gemm(
    transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
    alpha: Float = 1, a: UnsafePointer<Float>, lda: Int,
    b: UnsafePointer<Float>, ldb: Int,
    beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int
) {
    guard m > 0, n > 0 else { return }
    if k == 0 {
        // oneDNN rejects k = 0; the product is then the scaled C alone.
        for i in 0..<m { for j in 0..<n { c[i * ldc + j] = beta == 0 ? 0 : beta * c[i * ldc + j] } }
        return
    }
    let status = dnnl_sgemm(
        transposeA ? 84 : 78, transposeB ? 84 : 78,  // 'T' : 'N'
        dnnl_dim_t(m), dnnl_dim_t(n), dnnl_dim_t(k), alpha,
        a, dnnl_dim_t(lda), b, dnnl_dim_t(ldb), beta, c, dnnl_dim_t(ldc))
    // Arguments are checked by the callers' shapes; a failure here is an engine bug.
    precondition(status == dnnl_success, "dnnl_sgemm failed with status \(status.rawValue) for m=\(m) n=\(n) k=\(k)")
}

/// The plain reference for `gemm`: same contract, triple loop, Double accumulation.
public func referenceGEMM(
    transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
    alpha: Float = 1, a: UnsafePointer<Float>, lda: Int,
    b: UnsafePointer<Float>, ldb: Int,
    beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int
) {
    for i in 0..<m {
        for j in 0..<n {
            var sum = 0.0
            for p in 0..<k {
                let av = transposeA ? a[p * lda + i] : a[i * lda + p]
                let bv = transposeB ? b[j * ldb + p] : b[p * ldb + j]
                sum += Double(av) * Double(bv)
            }
            let previous = beta == 0 ? 0 : Double(beta) * Double(c[i * ldc + j])
            c[i * ldc + j] = Float(Double(alpha) * sum + previous)
        }
    }
}

extension Tensor {
    /// Matrix product of rank-2 tensors: `op(self)[m, k] · op(other)[k, n] -> [m, n]`.
    public func matmul(_ other: Tensor, transposeSelf: Bool = false, transposeOther: Bool = false) -> Tensor {
        precondition(rank == 2 && other.rank == 2, "matmul needs rank-2 tensors, got \(shape) and \(other.shape)")
        let m = transposeSelf ? shape[1] : shape[0]
        let k = transposeSelf ? shape[0] : shape[1]
        let k2 = transposeOther ? other.shape[1] : other.shape[0]
        let n = transposeOther ? other.shape[0] : other.shape[1]
        precondition(k == k2, "matmul inner dimensions differ: \(shape) and \(other.shape)")
        var result = Tensor.zeros([m, n])
        if m == 0 || n == 0 || k == 0 { return result }
        scalars.withUnsafeBufferPointer { a in
            other.scalars.withUnsafeBufferPointer { b in
                result.scalars.withUnsafeMutableBufferPointer { c in
                    gemm(
                        transposeA: transposeSelf, transposeB: transposeOther, m: m, n: n, k: k,
                        a: a.baseAddress!, lda: shape[1], b: b.baseAddress!, ldb: other.shape[1],
                        c: c.baseAddress!, ldc: n)
                }
            }
        }
        return result
    }
}
