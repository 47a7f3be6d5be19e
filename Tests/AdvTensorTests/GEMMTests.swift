import AdvTensor
import TestSupport
import XCTest

/// `gemm` (oneDNN) against `referenceGEMM` (triple loop, Double accumulation) and a hand-computed
/// product, plus `Tensor.matmul`.
final class GEMMTests: XCTestCase {
    /// Written into the padding between rows (`ld` larger than the row length): a kernel that
    /// reads or writes with the wrong stride turns it into a huge mismatch.
    private let paddingSentinel: Float = 1e6

    /// A `[rows, columns]` row-major matrix stored with row stride `leadingDimension`, its valid
    /// entries uniform in [−1, 1) and its padding set to the sentinel.
    private func paddedMatrix(
        rows: Int, columns: Int, leadingDimension: Int,
        using rng: inout SeededGenerator
    ) -> [Float] {
        var storage = [Float](repeating: paddingSentinel, count: rows * leadingDimension)
        for r in 0..<rows { for c in 0..<columns { storage[r * leadingDimension + c] = 2 * rng.nextUniform() - 1 } }
        return storage
    }

    func testGEMMMatchesReferenceOnOddShapesAllTransposesWithPaddedLeadingDimensions() {
        var rng = SeededGenerator(seed: 11)
        let shapes = [(1, 1, 1), (3, 5, 7), (17, 31, 13), (65, 33, 129)]
        for (m, n, k) in shapes {
            for transposeA in [false, true] {
                for transposeB in [false, true] {
                    // Stored shapes: A is [m, k] or [k, m], B is [k, n] or [n, k]; C is [m, n].
                    let aRows = transposeA ? k : m
                    let aColumns = transposeA ? m : k
                    let bRows = transposeB ? n : k
                    let bColumns = transposeB ? k : n
                    let lda = aColumns + 3
                    let ldb = bColumns + 5
                    let ldc = n + 2
                    let a = paddedMatrix(rows: aRows, columns: aColumns, leadingDimension: lda, using: &rng)
                    let b = paddedMatrix(rows: bRows, columns: bColumns, leadingDimension: ldb, using: &rng)
                    let c = paddedMatrix(rows: m, columns: n, leadingDimension: ldc, using: &rng)
                    var fast = c
                    var reference = c
                    let context = "m=\(m) n=\(n) k=\(k) transposeA=\(transposeA) transposeB=\(transposeB)"
                    a.withUnsafeBufferPointer { ap in
                        b.withUnsafeBufferPointer { bp in
                            fast.withUnsafeMutableBufferPointer { cp in
                                gemm(
                                    transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: 0.75,
                                    a: ap.baseAddress!, lda: lda, b: bp.baseAddress!, ldb: ldb,
                                    beta: -0.5, c: cp.baseAddress!, ldc: ldc)
                            }
                            reference.withUnsafeMutableBufferPointer { cp in
                                referenceGEMM(
                                    transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: 0.75,
                                    a: ap.baseAddress!, lda: lda, b: bp.baseAddress!, ldb: ldb,
                                    beta: -0.5, c: cp.baseAddress!, ldc: ldc)
                            }
                        }
                    }
                    // Padding of C must be untouched by both (reference never writes it).
                    for r in 0..<m {
                        for j in n..<ldc { XCTAssertEqual(fast[r * ldc + j], paddingSentinel, "C padding written, \(context)") }
                    }
                    assertClose(fast, reference, rtol: 1e-4, atol: 1e-4, context)
                }
            }
        }
    }

    /// Both kernels against a product worked out by hand, so a bug shared by the two (the
    /// transpose convention, alpha/beta) is caught too.
    func testBothKernelsMatchHandComputedProduct() {
        // A = [[1, 2, 3], [4, 5, 6]], B = [[7, 8], [9, 10], [11, 12]], A·B = [[58, 64], [139, 154]].
        let a: [Float] = [1, 2, 3, 4, 5, 6]
        let aTransposed: [Float] = [1, 4, 2, 5, 3, 6]
        let b: [Float] = [7, 8, 9, 10, 11, 12]
        let bTransposed: [Float] = [7, 9, 11, 8, 10, 12]
        // C = 2·A·B + 1·C with C = 1 everywhere.
        let expected: [Float] = [117, 129, 279, 309]
        typealias Kernel = (
            Bool, Bool, Int, Int, Int, Float, UnsafePointer<Float>, Int, UnsafePointer<Float>, Int, Float, UnsafeMutablePointer<Float>, Int
        ) -> Void
        let kernels: [(String, Kernel)] = [
            (
                "gemm",
                {
                    gemm(
                        transposeA: $0, transposeB: $1, m: $2, n: $3, k: $4, alpha: $5, a: $6, lda: $7, b: $8, ldb: $9, beta: $10, c: $11,
                        ldc: $12)
                }
            ),
            (
                "referenceGEMM",
                {
                    referenceGEMM(
                        transposeA: $0, transposeB: $1, m: $2, n: $3, k: $4, alpha: $5, a: $6, lda: $7, b: $8, ldb: $9, beta: $10, c: $11,
                        ldc: $12)
                }
            ),
        ]
        for (name, kernel) in kernels {
            for transposeA in [false, true] {
                for transposeB in [false, true] {
                    let aStored = transposeA ? aTransposed : a
                    let bStored = transposeB ? bTransposed : b
                    var c: [Float] = [1, 1, 1, 1]
                    aStored.withUnsafeBufferPointer { ap in
                        bStored.withUnsafeBufferPointer { bp in
                            c.withUnsafeMutableBufferPointer { cp in
                                kernel(
                                    transposeA, transposeB, 2, 2, 3, 2, ap.baseAddress!, transposeA ? 2 : 3,
                                    bp.baseAddress!, transposeB ? 3 : 2, 1, cp.baseAddress!, 2)
                            }
                        }
                    }
                    XCTAssertEqual(c, expected, "\(name) transposeA=\(transposeA) transposeB=\(transposeB)")
                }
            }
        }
    }

    /// oneDNN rejects k = 0, so `gemm` handles it itself: the result is `beta · C`.
    func testGEMMWithEmptyInnerDimensionScalesC() {
        let a: [Float] = [0]
        let b: [Float] = [0]
        for beta: Float in [0, 0.5] {
            var c: [Float] = [2, -4, 6, 8, 10, 12]
            a.withUnsafeBufferPointer { ap in
                b.withUnsafeBufferPointer { bp in
                    c.withUnsafeMutableBufferPointer { cp in
                        gemm(
                            transposeA: false, transposeB: false, m: 2, n: 3, k: 0, a: ap.baseAddress!, lda: 1,
                            b: bp.baseAddress!, ldb: 3, beta: beta, c: cp.baseAddress!, ldc: 3)
                    }
                }
            }
            XCTAssertEqual(c, [2, -4, 6, 8, 10, 12].map { beta * $0 }, "beta \(beta)")
        }
    }

    func testMatmulMatchesReferenceForAllTransposes() {
        var rng = SeededGenerator(seed: 12)
        let (m, n, k) = (5, 7, 3)
        for transposeSelf in [false, true] {
            for transposeOther in [false, true] {
                let left = Tensor.randomUniform(transposeSelf ? [k, m] : [m, k], low: -1, high: 1, using: &rng)
                let right = Tensor.randomUniform(transposeOther ? [n, k] : [k, n], low: -1, high: 1, using: &rng)
                let product = left.matmul(right, transposeSelf: transposeSelf, transposeOther: transposeOther)
                var expected = Tensor.zeros([m, n])
                left.scalars.withUnsafeBufferPointer { a in
                    right.scalars.withUnsafeBufferPointer { b in
                        expected.scalars.withUnsafeMutableBufferPointer { c in
                            referenceGEMM(
                                transposeA: transposeSelf, transposeB: transposeOther, m: m, n: n, k: k,
                                a: a.baseAddress!, lda: left.shape[1], b: b.baseAddress!, ldb: right.shape[1],
                                c: c.baseAddress!, ldc: n)
                        }
                    }
                }
                assertClose(product, expected, rtol: 1e-5, atol: 1e-5, "transposeSelf=\(transposeSelf) transposeOther=\(transposeOther)")
            }
        }
    }

    func testMatmulHandComputedAndEmptyInnerDimension() {
        let a = Tensor(shape: [2, 3], scalars: [1, 2, 3, 4, 5, 6])
        let b = Tensor(shape: [3, 2], scalars: [7, 8, 9, 10, 11, 12])
        XCTAssertEqual(a.matmul(b), Tensor(shape: [2, 2], scalars: [58, 64, 139, 154]))
        // Aᵀ·A = [3, 3]
        XCTAssertEqual(
            a.matmul(a, transposeSelf: true),
            Tensor(shape: [3, 3], scalars: [17, 22, 27, 22, 29, 36, 27, 36, 45]))
        XCTAssertEqual(Tensor.zeros([2, 0]).matmul(Tensor.zeros([0, 4])), Tensor.zeros([2, 4]))
    }

    func testFlopCount() {
        XCTAssertEqual(GEMM.flops(m: 2, n: 3, k: 5), 60)
    }
}
