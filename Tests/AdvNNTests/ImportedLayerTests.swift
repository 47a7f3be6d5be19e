import AdvNN
import AdvTensor
import TestSupport
import XCTest

/// The options an imported ONNX model needs beyond the lab's own networks (issue 20): `Pad2d`
/// (asymmetric and −∞ padding), `AveragePool2d` (padding with and without counting it, global
/// pooling) and layers built from given weights with non-square kernels; each against a plain
/// reference and central finite differences.
final class ImportedLayerTests: XCTestCase {
    private var rng = SeededGenerator(seed: 2020)

    func testPad2dAgainstPlainLoopsAndFiniteDifferences() {
        let x = Tensor.randomNormal([2, 3, 4, 5], using: &rng)
        let pad = Pad2d(top: 0, left: 1, bottom: 2, right: 3, value: -1.5)
        let y = pad(x)
        XCTAssertEqual(y.shape, [2, 3, 6, 9])
        for plane in 0..<6 {
            for row in 0..<6 {
                for column in 0..<9 {
                    let inside = row < 4 && (1...5).contains(column)
                    let expected = inside ? x.scalars[plane * 20 + row * 5 + column - 1] : -1.5
                    XCTAssertEqual(y.scalars[plane * 54 + row * 9 + column], expected, "plane \(plane) (\(row), \(column))")
                }
            }
        }
        assertGradientsMatch(GradientCheck().run(input: x) { pad.forward($0, mode: .train) })
    }

    func testAveragePool2dAgainstReference() {
        let x = Tensor.randomNormal([2, 3, 7, 6], using: &rng)
        for (kernel, stride, pads, countIncludePad) in [
            ((2, 2), (2, 2), (0, 0, 0, 0), false), ((3, 3), (1, 1), (1, 1, 1, 1), false),
            ((3, 3), (1, 1), (1, 1, 1, 1), true), ((3, 2), (2, 1), (0, 1, 2, 0), false),
        ] {
            let pool = AveragePool2d(
                kernelHeight: kernel.0, kernelWidth: kernel.1, strideHeight: stride.0, strideWidth: stride.1,
                top: pads.0, left: pads.1, bottom: pads.2, right: pads.3, countIncludePad: countIncludePad)
            let expected = referenceAveragePool2d(x, kernel: kernel, stride: stride, pads: pads, countIncludePad: countIncludePad)
            assertClose(pool(x), expected, rtol: 1e-5, atol: 1e-6, "kernel \(kernel) stride \(stride) pads \(pads) \(countIncludePad)")
            assertGradientsMatch(GradientCheck().run(input: x) { pool.forward($0, mode: .train) }, "kernel \(kernel) pads \(pads)")
        }
        // Global: one mean per plane.
        let global = AveragePool2d.global(height: 7, width: 6)(x)
        XCTAssertEqual(global.shape, [2, 3, 1, 1])
        for plane in 0..<6 {
            let mean = x.scalars[(plane * 42)..<((plane + 1) * 42)].reduce(0, +) / 42
            XCTAssertEqual(global.scalars[plane], mean, accuracy: 1e-5)
        }
    }

    /// The reference loop itself on a case worked by hand: a 3×3 image of 1…9, a 2×2 window
    /// padded by one on the top and left, padding not counted.
    func testReferenceAveragePoolOnAHandWorkedCase() {
        let x = Tensor(shape: [1, 1, 3, 3], scalars: (1...9).map(Float.init))
        let y = referenceAveragePool2d(x, kernel: (2, 2), stride: (2, 2), pads: (1, 1, 0, 0), countIncludePad: false)
        XCTAssertEqual(y.scalars, [1, 2.5, 5.5, 7])
    }

    /// A convolution with a non-square kernel from given weights (as an import builds it),
    /// against the plain loop and finite differences.
    func testConv2dFromGivenWeightsWithNonSquareKernel() {
        let weight = Tensor.randomNormal([3, 2, 3, 2], using: &rng)
        let bias = Tensor.randomNormal([3], using: &rng)
        let x = Tensor.randomNormal([2, 2, 6, 5], using: &rng)
        for backend in ConvolutionBackend.allCases {
            let layer = Conv2d(weight: weight, bias: bias, stride: 1, padding: 1)
            layer.backend = backend
            let expected = referenceConv2d(x, weight: weight, bias: bias, stride: 1, padding: 1)
            assertClose(layer(x), expected, rtol: 1e-4, atol: 1e-4, "\(backend)")
            let report = GradientCheck().run(input: x, parameters: layer.namedParameters) { layer.forward($0, mode: .train) }
            assertGradientsMatch(report, "\(backend)")
        }
    }
}
