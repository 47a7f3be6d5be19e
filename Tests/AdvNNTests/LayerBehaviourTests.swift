import AdvNN
import AdvTensor
import Foundation
import TestSupport
import XCTest

/// Layer outputs against plain reference computations, and the contracts of `ForwardMode`:
/// evaluation mode never touches parameter gradients, training mode adds into them, BatchNorm
/// keeps PyTorch's running statistics, dropout is the identity outside training.
final class LayerBehaviourTests: XCTestCase {
    private var rng = SeededGenerator(seed: 300)

    // MARK: Forward values

    func testLinearForwardMatchesHandComputation() {
        let layer = Linear(inputSize: 3, outputSize: 2, using: &rng)
        layer.weight.value = Tensor(shape: [2, 3], scalars: [1, 2, 3, -1, 0, 0.5])
        layer.bias.value = Tensor(shape: [2], scalars: [0.25, -2])
        let x = Tensor(shape: [2, 3], scalars: [1, 1, 1, 2, -1, 4])
        // y = x·Wᵀ + b
        XCTAssertEqual(layer(x), Tensor(shape: [2, 2], scalars: [6.25, -2.5, 12.25, -2]))
    }

    func testConv2dForwardMatchesReference() {
        for (stride, padding, kernel) in [(1, 2, 5), (2, 1, 3), (1, 0, 3), (2, 0, 1)] {
            let layer = Conv2d(inputChannels: 3, outputChannels: 4, kernelSize: kernel, stride: stride, padding: padding, using: &rng)
            let x = Tensor.randomNormal([2, 3, 9, 7], using: &rng)
            let expected = referenceConv2d(x, weight: layer.weight.value, bias: layer.bias.value, stride: stride, padding: padding)
            assertClose(layer(x), expected, rtol: 1e-4, atol: 1e-4, "stride \(stride) padding \(padding) kernel \(kernel)")
        }
    }

    /// The transposed convolution by its definition: every input value scatters
    /// `x[n, i, y, x] · W[i, o, ky, kx]` to output `(y·s − p + ky, x·s − p + kx)`.
    private func referenceConvTranspose2d(
        _ x: Tensor, weight: Tensor, bias: Tensor, stride: Int, padding: Int,
        outputPadding: Int
    ) -> Tensor {
        let (n, cin, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let (cout, k) = (weight.shape[1], weight.shape[2])
        let oh = (h - 1) * stride - 2 * padding + k + outputPadding
        let ow = (w - 1) * stride - 2 * padding + k + outputPadding
        var sums = [Double](repeating: 0, count: n * cout * oh * ow)
        for b in 0..<n { for o in 0..<cout { for i in 0..<(oh * ow) { sums[(b * cout + o) * oh * ow + i] = Double(bias.scalars[o]) } } }
        for b in 0..<n {
            for i in 0..<cin {
                for y in 0..<h {
                    for xx in 0..<w {
                        let value = Double(x[b, i, y, xx])
                        for o in 0..<cout {
                            for ky in 0..<k {
                                for kx in 0..<k {
                                    let oy = y * stride - padding + ky
                                    let ox = xx * stride - padding + kx
                                    guard oy >= 0, oy < oh, ox >= 0, ox < ow else { continue }
                                    sums[((b * cout + o) * oh + oy) * ow + ox] += value * Double(weight[i, o, ky, kx])
                                }
                            }
                        }
                    }
                }
            }
        }
        return Tensor(shape: [n, cout, oh, ow], scalars: sums.map { Float($0) })
    }

    func testConvTranspose2dForwardMatchesReference() {
        for (kernel, stride, padding, outputPadding) in [(4, 2, 1, 0), (3, 1, 1, 0), (3, 2, 1, 1), (5, 1, 2, 0), (2, 2, 0, 0)] {
            let layer = ConvTranspose2d(
                inputChannels: 3, outputChannels: 2, kernelSize: kernel, stride: stride, padding: padding,
                outputPadding: outputPadding, using: &rng)
            let x = Tensor.randomNormal([2, 3, 4, 5], using: &rng)
            let expected = referenceConvTranspose2d(
                x, weight: layer.weight.value, bias: layer.bias.value, stride: stride,
                padding: padding, outputPadding: outputPadding)
            assertClose(layer(x), expected, rtol: 1e-4, atol: 1e-4, "k\(kernel) s\(stride) p\(padding) op\(outputPadding)")
        }
    }

    func testMaxPoolForwardAndTies() {
        let x = Tensor(
            shape: [1, 1, 3, 4],
            scalars: [
                1, 5, 2, 0,
                3, 4, 8, 8,
                9, 9, 9, 9,
            ])
        // Kernel 2: one row of windows (the third row is dropped); the tie 8/8 goes to the first.
        let (y, pullback) = MaxPool2d(kernelSize: 2).forward(x, mode: .eval)
        XCTAssertEqual(y, Tensor(shape: [1, 1, 1, 2], scalars: [5, 8]))
        XCTAssertEqual(
            pullback(Tensor(shape: [1, 1, 1, 2], scalars: [10, 20])).scalars,
            [
                0, 10, 0, 0,
                0, 0, 20, 0,
                0, 0, 0, 0,
            ])
        // Kernel 2 stride 1: overlapping windows; the shared 8 at (1, 2) collects two gradients.
        let (overlapping, overlappingPullback) = MaxPool2d(kernelSize: 2, stride: 1).forward(x, mode: .eval)
        XCTAssertEqual(overlapping, Tensor(shape: [1, 1, 2, 3], scalars: [5, 8, 8, 9, 9, 9]))
        XCTAssertEqual(
            overlappingPullback(Tensor(repeating: 1, shape: [1, 1, 2, 3])).scalars,
            [
                0, 1, 0, 0,
                0, 0, 2, 0,
                1, 1, 1, 0,
            ])
    }

    func testActivationValues() {
        let x = Tensor(shape: [1, 5], scalars: [-100, -1, 0, 2, 100])
        XCTAssertEqual(ReLU()(x).scalars, [0, 0, 0, 2, 100])
        XCTAssertEqual(LeakyReLU(slope: 0.2)(x).scalars, [-20, -0.2, 0, 2, 100])
        let sigmoid = Sigmoid()(x).scalars
        XCTAssertTrue(sigmoid.allSatisfy(\.isFinite))
        assertClose(sigmoid, [0, 1 / (1 + Float(M_E)), 0.5, 1 / (1 + expf(-2)), 1], rtol: 1e-6, atol: 1e-30)
        assertClose(Tanh()(x).scalars, [-1, tanhf(-1), 0, tanhf(2), 1])
        XCTAssertEqual(Flatten()(Tensor.zeros([2, 3, 4, 5])).shape, [2, 60])
        XCTAssertEqual(Reshape([3, 2, 2])(Tensor.zeros([5, 12])).shape, [5, 3, 2, 2])
    }

    // MARK: Parameter gradients and ForwardMode

    /// Layers with parameters and a forward that takes and returns a tensor.
    private func parameterizedLayers() -> [(String, any Layer, Tensor)] {
        let bn = BatchNorm(channels: 3)
        bn.scale.value = Tensor(shape: [3], scalars: [1.5, 0.5, -1])
        return [
            ("Linear", Linear(inputSize: 6, outputSize: 4, using: &rng), Tensor.randomNormal([3, 6], using: &rng)),
            (
                "Conv2d", Conv2d(inputChannels: 3, outputChannels: 2, kernelSize: 3, padding: 1, using: &rng),
                Tensor.randomNormal([2, 3, 5, 4], using: &rng)
            ),
            (
                "ConvTranspose2d", ConvTranspose2d(inputChannels: 3, outputChannels: 2, kernelSize: 4, stride: 2, padding: 1, using: &rng),
                Tensor.randomNormal([2, 3, 3, 2], using: &rng)
            ),
            ("BatchNorm", bn, Tensor.randomNormal([4, 3, 2, 2], using: &rng)),
        ]
    }

    private func fillGradients(_ layer: any Layer, with value: Float) {
        for parameter in layer.parameters { parameter.gradient = Tensor(repeating: value, shape: parameter.value.shape) }
    }

    /// Evaluation mode (what attacks use) leaves every parameter gradient exactly as it was,
    /// and yields the same input gradient as a pass with parameter gradients on.
    func testEvaluationModeLeavesParameterGradientsUntouched() {
        for (name, layer, x) in parameterizedLayers() {
            let dy = Tensor.randomNormal(layer(x).shape, using: &rng)
            fillGradients(layer, with: 0.5)
            let inputGradient = layer.forward(x, mode: .eval).1(dy)
            for (parameterName, parameter) in layer.namedParameters {
                XCTAssertEqual(parameter.gradient, Tensor(repeating: 0.5, shape: parameter.value.shape), "\(name).\(parameterName)")
            }
            let withParameters = layer.forward(x, mode: ForwardMode(training: false, parameterGradients: true)).1(dy)
            assertClose(inputGradient, withParameters, "\(name): input gradient depends on parameterGradients")
        }
        let embedding = Embedding(count: 4, dimension: 2, using: &rng)
        embedding.table.gradient = Tensor(repeating: 0.5, shape: [4, 2])
        embedding.forward([0, 3], mode: .eval).1(Tensor(repeating: 1, shape: [2, 2]))
        XCTAssertEqual(embedding.table.gradient, Tensor(repeating: 0.5, shape: [4, 2]), "Embedding")
    }

    /// `.trainParametersOnly` skips the input gradient of the layers that own a product for it
    /// (their pullback returns an empty tensor) and leaves exactly the parameter gradients that
    /// `.train` leaves, on both convolution backends.
    func testParametersOnlyModeSkipsInputGradientAndKeepsParameterGradients() {
        for backend in ConvolutionBackend.allCases {
            for (name, layer, x) in parameterizedLayers() where !(layer is BatchNorm) {
                (layer as? Conv2d)?.backend = backend
                (layer as? ConvTranspose2d)?.backend = backend
                let dy = Tensor.randomNormal(layer(x).shape, using: &rng)
                layer.zeroGradients()
                let full = layer.forward(x, mode: .train).1(dy)
                XCTAssertEqual(full.shape, x.shape, "\(name) \(backend)")
                let expected = layer.parameters.map(\.gradient)
                layer.zeroGradients()
                let skipped = layer.forward(x, mode: .trainParametersOnly).1(dy)
                XCTAssertEqual(skipped.shape, [0], "\(name) \(backend): input gradient computed anyway")
                for (parameter, gradient) in zip(layer.parameters, expected) {
                    XCTAssertEqual(parameter.gradient, gradient, "\(name) \(backend)")
                }
            }
        }
    }

    /// Training mode adds into the gradients rather than overwriting them: a pass starting from
    /// P leaves P + G, where G is what the same pass leaves starting from zero.
    func testTrainingModeAccumulatesParameterGradients() {
        for (name, layer, x) in parameterizedLayers() {
            let dy = Tensor.randomNormal(layer(x).shape, using: &rng)
            layer.zeroGradients()
            _ = layer.forward(x, mode: .train).1(dy)
            let fresh = layer.parameters.map(\.gradient)
            XCTAssertTrue(fresh.contains { $0.maxAbs() > 0 }, "\(name): no gradient at all")
            fillGradients(layer, with: 0.5)
            _ = layer.forward(x, mode: .train).1(dy)
            for (parameter, gradient) in zip(layer.parameters, fresh) {
                assertClose(parameter.gradient, gradient + 0.5, rtol: 1e-5, atol: 1e-5, name)
            }
        }
        let embedding = Embedding(count: 4, dimension: 2, using: &rng)
        embedding.table.gradient = Tensor(repeating: 0.5, shape: [4, 2])
        embedding.forward([3, 0, 3], mode: .train).1(Tensor(shape: [3, 2], scalars: [1, 2, 3, 4, 5, 6]))
        XCTAssertEqual(embedding.table.gradient.scalars, [3.5, 4.5, 0.5, 0.5, 0.5, 0.5, 6.5, 8.5])
    }

    // MARK: BatchNorm statistics

    /// PyTorch's update: `running = (1 − 0.1)·running + 0.1·batch`, with the unbiased batch
    /// variance (divided by m − 1) for the running variance; evaluation mode changes nothing.
    func testBatchNormRunningStatisticsFollowPyTorch() {
        let layer = BatchNorm(channels: 3)
        var expectedMean = [Double](repeating: 0, count: 3)
        var expectedVariance = [Double](repeating: 1, count: 3)
        for step in 0..<2 {
            // Channel c has mean ≈ c − 1 and standard deviation ≈ c + 1.
            var x = Tensor.randomNormal([4, 3, 2, 3], using: &rng)
            for i in x.scalars.indices {
                let c = (i / 6) % 3
                x.scalars[i] = x.scalars[i] * Float(c + 1) + Float(c - 1)
            }
            _ = layer.forward(x, mode: .train)
            for c in 0..<3 {
                let (mean, unbiased) = plainChannelStatistics(x, channel: c)
                expectedMean[c] = 0.9 * expectedMean[c] + 0.1 * mean
                expectedVariance[c] = 0.9 * expectedVariance[c] + 0.1 * unbiased
            }
            assertClose(layer.runningMean.value.scalars, expectedMean.map(Float.init), rtol: 1e-4, atol: 1e-5, "step \(step)")
            assertClose(layer.runningVariance.value.scalars, expectedVariance.map(Float.init), rtol: 1e-4, atol: 1e-5, "step \(step)")
        }
        let before = (layer.runningMean.value, layer.runningVariance.value)
        _ = layer.forward(Tensor.randomNormal([4, 3, 2, 3], using: &rng), mode: .eval)
        XCTAssertEqual(layer.runningMean.value, before.0)
        XCTAssertEqual(layer.runningVariance.value, before.1)
    }

    /// Mean and unbiased variance of one channel of x [N, C, H, W] over batch and positions,
    /// one scalar at a time in Double.
    func plainChannelStatistics(_ x: Tensor, channel c: Int) -> (mean: Double, unbiased: Double) {
        let (n, h, w) = (x.shape[0], x.shape[2], x.shape[3])
        var values: [Double] = []
        for b in 0..<n { for i in 0..<(h * w) { values.append(Double(x[b, c, i / w, i % w])) } }
        let mean = values.reduce(0, +) / Double(values.count)
        return (mean, values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(values.count - 1))
    }

    /// The statistics' sums run eight scalars at a time with a scalar tail: on rows of 21 (two
    /// blocks and a tail) and far from zero, momentum 1 leaves exactly the batch's mean and
    /// unbiased variance, computed here one scalar at a time in Double.
    func testBatchNormStatisticsOfWideRowsMatchPlainSums() {
        let layer = BatchNorm(channels: 2, momentum: 1)
        let x = Tensor.randomNormal([3, 2, 3, 7], mean: 5, std: 2, using: &rng)
        _ = layer.forward(x, mode: .train)
        for c in 0..<2 {
            let (mean, unbiased) = plainChannelStatistics(x, channel: c)
            XCTAssertEqual(Double(layer.runningMean.value[c]), mean, accuracy: 1e-5 * abs(mean))
            XCTAssertEqual(Double(layer.runningVariance.value[c]), unbiased, accuracy: 1e-4 * unbiased)
        }
    }

    /// Training mode normalises each channel by the batch's own mean and biased variance.
    func testBatchNormTrainingOutputIsNormalisedPerChannel() {
        let layer = BatchNorm(channels: 2)
        layer.scale.value = Tensor(shape: [2], scalars: [2, 1])
        layer.shift.value = Tensor(shape: [2], scalars: [0, 3])
        let x = Tensor.randomNormal([5, 2], mean: 4, std: 3, using: &rng)
        let y = layer(x, mode: .train)
        for c in 0..<2 {
            let column = (0..<5).map { Double(y[$0, c]) }
            let mean = column.reduce(0, +) / 5
            let variance = column.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / 5
            XCTAssertEqual(mean, c == 0 ? 0 : 3, accuracy: 1e-5)
            XCTAssertEqual(variance, c == 0 ? 4 : 1, accuracy: 1e-3)
        }
    }

    func testBatchNormEvaluationUsesRunningStatistics() {
        let layer = BatchNorm(channels: 2, epsilon: 1e-5)
        layer.scale.value = Tensor(shape: [2], scalars: [2, -1])
        layer.shift.value = Tensor(shape: [2], scalars: [0.5, 1])
        layer.runningMean.value = Tensor(shape: [2], scalars: [1, -2])
        layer.runningVariance.value = Tensor(shape: [2], scalars: [4, 0.25])
        let x = Tensor(shape: [2, 2], scalars: [3, -2, 1, 0])
        let expected: [Double] = [
            2 * (3 - 1) / (4 + 1e-5).squareRoot() + 0.5, 1,
            0.5, -1 * 2 / (0.25 + 1e-5).squareRoot() + 1,
        ]
        assertClose(layer(x).scalars, expected.map(Float.init), rtol: 1e-6, atol: 1e-6)
    }

    // MARK: Dropout

    func testDropoutMasksAndScalesOnlyInTraining() {
        let dropout = Dropout(rate: 0.25)
        let x = Tensor.randomNormal([100, 100], using: &rng).map { $0 == 0 ? 1 : $0 }
        XCTAssertEqual(dropout.forward(x, mode: .eval, using: &rng).0, x)
        XCTAssertEqual(Dropout(rate: 0).forward(x, mode: .train, using: &rng).0, x)

        var first = SeededGenerator(seed: 9)
        var second = SeededGenerator(seed: 9)
        let (y, pullback) = dropout.forward(x, mode: .train, using: &first)
        XCTAssertEqual(dropout.forward(x, mode: .train, using: &second).0, y, "same seed, same mask")
        var dropped = 0
        var wrongScale = 0
        for (out, value) in zip(y.scalars, x.scalars) {
            if out == 0 { dropped += 1 } else if abs(out - value / 0.75) > 1e-6 * abs(value) { wrongScale += 1 }
        }
        XCTAssertEqual(wrongScale, 0, "survivors are scaled by 1 / (1 − rate)")
        XCTAssertEqual(Double(dropped) / Double(x.count), 0.25, accuracy: 0.02)
        // The pullback applies the same mask: ∂x = mask ⊙ ∂y, so ∂x ⊙ x = y ⊙ ∂y.
        let dy = Tensor.randomNormal(x.shape, using: &rng)
        assertClose(pullback(dy) * x, y * dy, rtol: 1e-5, atol: 1e-6)
    }
}
