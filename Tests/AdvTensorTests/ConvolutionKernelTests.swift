import AdvTensor
import TestSupport
import XCTest

/// im2col + GEMM convolution against `referenceConv2d`, col2im as the adjoint of im2col, and
/// the axis swap that moves between the NCHW and GEMM layouts.
final class ConvolutionKernelTests: XCTestCase {
    /// One convolution case: batch, channels, image size, output channels, kernel, stride, padding.
    struct Case: CustomStringConvertible {
        var batch: Int, channels: Int, height: Int, width: Int
        var outputChannels: Int, kernel: Int, stride: Int, padding: Int

        var geometry: ConvGeometry {
            ConvGeometry(
                channels: channels, height: height, width: width, kernelHeight: kernel, kernelWidth: kernel,
                stride: stride, padding: padding)
        }
        var description: String {
            "[\(batch), \(channels), \(height), \(width)] k\(kernel) s\(stride) p\(padding) → \(outputChannels)"
        }
    }

    /// Odd shapes: strides 1 and 2, paddings 0/1/2, non-square images, kernels 1/3/5, one and
    /// three channels, and images narrower than the kernel (padding makes up the difference).
    static let cases: [Case] = [
        Case(batch: 2, channels: 1, height: 7, width: 5, outputChannels: 3, kernel: 3, stride: 1, padding: 0),
        Case(batch: 2, channels: 3, height: 9, width: 6, outputChannels: 4, kernel: 3, stride: 1, padding: 1),
        Case(batch: 1, channels: 3, height: 8, width: 11, outputChannels: 2, kernel: 5, stride: 1, padding: 2),
        Case(batch: 2, channels: 3, height: 7, width: 9, outputChannels: 4, kernel: 3, stride: 2, padding: 1),
        Case(batch: 2, channels: 1, height: 10, width: 7, outputChannels: 3, kernel: 5, stride: 2, padding: 2),
        Case(batch: 1, channels: 3, height: 6, width: 5, outputChannels: 2, kernel: 1, stride: 1, padding: 0),
        Case(batch: 2, channels: 3, height: 7, width: 7, outputChannels: 3, kernel: 1, stride: 2, padding: 0),
        Case(batch: 1, channels: 1, height: 5, width: 8, outputChannels: 2, kernel: 3, stride: 2, padding: 0),
        Case(batch: 2, channels: 1, height: 12, width: 12, outputChannels: 2, kernel: 5, stride: 1, padding: 2),
        Case(batch: 1, channels: 3, height: 7, width: 1, outputChannels: 2, kernel: 5, stride: 1, padding: 2),
        Case(batch: 2, channels: 1, height: 1, width: 6, outputChannels: 2, kernel: 5, stride: 1, padding: 2),
        Case(batch: 1, channels: 3, height: 2, width: 3, outputChannels: 2, kernel: 5, stride: 1, padding: 2),
    ]

    /// The convolution the way `Conv2d` computes it: im2col, one GEMM `[OC, C·K·K] · [C·K·K, N·P]`,
    /// then `[OC, N, P] -> [N, OC, P]` and the bias. The column buffer starts as NaN so that any
    /// entry im2col forgets to write (padding taps included) poisons the result.
    func im2colConvolution(_ images: Tensor, weight: Tensor, bias: Tensor, geometry g: ConvGeometry) -> Tensor {
        let n = images.shape[0]
        let oc = weight.shape[0]
        let positions = g.outputHeight * g.outputWidth
        let columnCount = n * positions
        var columns = [Float](repeating: .nan, count: g.patchSize * columnCount)
        images.scalars.withUnsafeBufferPointer { x in
            columns.withUnsafeMutableBufferPointer { col in im2col(x.baseAddress!, batch: n, geometry: g, columns: col.baseAddress!) }
        }
        var product = [Float](repeating: 0, count: oc * columnCount)
        weight.scalars.withUnsafeBufferPointer { w in
            columns.withUnsafeBufferPointer { col in
                product.withUnsafeMutableBufferPointer { out in
                    gemm(
                        transposeA: false, transposeB: false, m: oc, n: columnCount, k: g.patchSize,
                        a: w.baseAddress!, lda: g.patchSize, b: col.baseAddress!, ldb: columnCount,
                        c: out.baseAddress!, ldc: columnCount)
                }
            }
        }
        var result = Tensor.zeros([n, oc, g.outputHeight, g.outputWidth])
        result.scalars.withUnsafeMutableBufferPointer { out in
            product.withUnsafeBufferPointer { p in swapLeadingAxes(p.baseAddress!, oc, n, positions, into: out.baseAddress!) }
        }
        for b in 0..<n { for o in 0..<oc { for i in 0..<positions { result.scalars[(b * oc + o) * positions + i] += bias.scalars[o] } } }
        return result
    }

    func testIm2colConvolutionMatchesReferenceConv2d() {
        var rng = SeededGenerator(seed: 21)
        for testCase in Self.cases {
            let g = testCase.geometry
            let images = Tensor.randomNormal([testCase.batch, g.channels, g.height, g.width], using: &rng)
            let weight = Tensor.randomNormal([testCase.outputChannels, g.channels, g.kernelHeight, g.kernelWidth], using: &rng)
            let bias = Tensor.randomNormal([testCase.outputChannels], using: &rng)
            let fast = im2colConvolution(images, weight: weight, bias: bias, geometry: g)
            let reference = referenceConv2d(images, weight: weight, bias: bias, stride: g.stride, padding: g.padding)
            assertClose(fast, reference, rtol: 1e-4, atol: 1e-4, "\(testCase)")
        }
    }

    /// `referenceConv2d` itself on a case small enough to work out by hand: a 3×3 image of
    /// 1…9, a 2×2 kernel [[1, 0], [0, −1]] and bias 0.5, stride 1, padding 1 (4×4 output).
    func testReferenceConv2dHandComputed() {
        let image = Tensor(shape: [1, 1, 3, 3], scalars: (1...9).map(Float.init))
        let weight = Tensor(shape: [1, 1, 2, 2], scalars: [1, 0, 0, -1])
        let bias = Tensor(shape: [1], scalars: [0.5])
        // out[y, x] = in[y−1, x−1] − in[y, x] (zero outside) + 0.5
        let expected: [Float] = [
            -0.5, -1.5, -2.5, 0.5,
            -3.5, -3.5, -3.5, 3.5,
            -6.5, -3.5, -3.5, 6.5,
            0.5, 7.5, 8.5, 9.5,
        ]
        XCTAssertEqual(
            referenceConv2d(image, weight: weight, bias: bias, stride: 1, padding: 1),
            Tensor(shape: [1, 1, 4, 4], scalars: expected))
        // Stride 2 without padding: a single window, in[0, 0] − in[1, 1].
        XCTAssertEqual(referenceConv2d(image, weight: weight, bias: nil, stride: 2, padding: 0).scalars, [1 - 5])
    }

    /// im2col writes exactly its `[C·K·K, N·OH·OW]` block: nothing past its end (a trailing
    /// sentinel must survive), including images narrower than the kernel.
    func testIm2colWritesNothingPastTheColumnBuffer() {
        var rng = SeededGenerator(seed: 22)
        let sentinel: Float = 12_345
        for testCase in Self.cases {
            let g = testCase.geometry
            let images = Tensor.randomNormal([testCase.batch, g.channels, g.height, g.width], using: &rng)
            let needed = g.patchSize * testCase.batch * g.outputHeight * g.outputWidth
            var columns = [Float](repeating: sentinel, count: needed + 16)
            images.scalars.withUnsafeBufferPointer { x in
                columns.withUnsafeMutableBufferPointer { col in
                    im2col(x.baseAddress!, batch: testCase.batch, geometry: g, columns: col.baseAddress!)
                }
            }
            XCTAssertEqual(Array(columns[needed...]), [Float](repeating: sentinel, count: 16), "im2col wrote past its block, \(testCase)")
        }
    }

    /// ⟨im2col(x), y⟩ = ⟨x, col2im(y)⟩ for random x and y: col2im is the adjoint the
    /// convolution pullbacks rely on. col2im must also clear its output first.
    func testCol2imIsTheAdjointOfIm2col() {
        var rng = SeededGenerator(seed: 23)
        for testCase in Self.cases {
            let g = testCase.geometry
            let n = testCase.batch
            let images = Tensor.randomNormal([n, g.channels, g.height, g.width], using: &rng)
            let columnsCotangent = Tensor.randomNormal([g.patchSize, n * g.outputHeight * g.outputWidth], using: &rng)
            var columns = [Float](repeating: .nan, count: columnsCotangent.count)
            images.scalars.withUnsafeBufferPointer { x in
                columns.withUnsafeMutableBufferPointer { col in im2col(x.baseAddress!, batch: n, geometry: g, columns: col.baseAddress!) }
            }
            var imagesCotangent = [Float](repeating: .nan, count: images.count)
            columnsCotangent.scalars.withUnsafeBufferPointer { col in
                imagesCotangent.withUnsafeMutableBufferPointer { x in
                    col2im(col.baseAddress!, batch: n, geometry: g, images: x.baseAddress!)
                }
            }
            let left = zip(columns, columnsCotangent.scalars).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
            let right = zip(images.scalars, imagesCotangent).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
            XCTAssertTrue(left.isFinite && right.isFinite, "\(testCase)")
            XCTAssertEqual(left, right, accuracy: 1e-4 * max(1, abs(left)), "\(testCase)")
        }
    }

    /// A 1×1 kernel with stride 1 and no padding makes im2col a pure layout change.
    func testIm2colWithUnitKernelIsChannelMajorCopy() {
        let images = Tensor(shape: [2, 2, 1, 2], scalars: [1, 2, 3, 4, 5, 6, 7, 8])
        let g = ConvGeometry(channels: 2, height: 1, width: 2, kernelHeight: 1, kernelWidth: 1)
        var columns = [Float](repeating: .nan, count: 8)
        images.scalars.withUnsafeBufferPointer { x in
            columns.withUnsafeMutableBufferPointer { col in im2col(x.baseAddress!, batch: 2, geometry: g, columns: col.baseAddress!) }
        }
        // Row per channel, column n·P + p.
        XCTAssertEqual(columns, [1, 2, 5, 6, 3, 4, 7, 8])
    }

    func testConvGeometrySizes() {
        let g = ConvGeometry(channels: 3, height: 28, width: 27, kernelHeight: 5, kernelWidth: 3, stride: 2, padding: 1)
        XCTAssertEqual(g.outputHeight, (28 + 2 - 5) / 2 + 1)
        XCTAssertEqual(g.outputWidth, (27 + 2 - 3) / 2 + 1)
        XCTAssertEqual(g.patchSize, 3 * 5 * 3)
    }

    func testSwapLeadingAxesMovesEveryBlock() {
        var rng = SeededGenerator(seed: 24)
        // Small, rank-2, and large enough to run on several threads.
        for shape in [[3, 4, 5], [2, 3], [1, 6, 2, 2], [200, 300]] {
            let source = Tensor.randomNormal(shape, using: &rng)
            let swapped = source.swappingLeadingAxes()
            var expectedShape = shape
            expectedShape.swapAt(0, 1)
            XCTAssertEqual(swapped.shape, expectedShape)
            let (a, b) = (shape[0], shape[1])
            let p = shape.dropFirst(2).reduce(1, *)
            var mismatches = 0
            for i in 0..<a {
                for j in 0..<b {
                    for q in 0..<p where swapped.scalars[(j * a + i) * p + q] != source.scalars[(i * b + j) * p + q] { mismatches += 1 }
                }
            }
            XCTAssertEqual(mismatches, 0, "shape \(shape)")
            XCTAssertEqual(swapped.swappingLeadingAxes(), source, "swapping twice is the identity, shape \(shape)")
        }
        let small = Tensor(shape: [2, 3], scalars: [1, 2, 3, 4, 5, 6])
        XCTAssertEqual(small.swappingLeadingAxes(), Tensor(shape: [3, 2], scalars: [1, 4, 2, 5, 3, 6]))
        XCTAssertEqual(Tensor.zeros([0, 3, 2]).swappingLeadingAxes().shape, [3, 0, 2])
    }
}
