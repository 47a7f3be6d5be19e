import AdvNN
import AdvTensor
import XCTest

/// Every layer's pullback against central finite differences (`GradientCheck`), for the input
/// gradient and each parameter's gradient.
final class LayerGradientTests: XCTestCase {
    private var rng = SeededGenerator(seed: 200)

    /// Standard normal values pushed at least 0.1 away from 0, so a step of 1e-2 never crosses
    /// the kink of ReLU / LeakyReLU.
    private func awayFromZero(_ shape: [Int]) -> Tensor {
        Tensor.randomNormal(shape, using: &rng).map { $0 >= 0 ? $0 + 0.1 : $0 - 0.1 }
    }

    /// A random arrangement of distinct values 0.1 apart: no window of a max-pool has a
    /// runner-up within a finite-difference step of its maximum.
    private func distinctValues(_ shape: [Int]) -> Tensor {
        var values = (0..<shape.reduce(1, *)).map { Float($0) * 0.1 }
        values.seededShuffle(using: &rng)
        return Tensor(shape: shape, scalars: values).map { $0 - 1 }
    }

    private func randomize(_ parameter: Parameter, mean: Float = 0, std: Float = 1) {
        parameter.value = Tensor.randomNormal(parameter.value.shape, mean: mean, std: std, using: &rng)
    }

    func testLinear() {
        let layer = Linear(inputSize: 5, outputSize: 4, using: &rng)
        let x = Tensor.randomNormal([3, 5], using: &rng)
        assertGradientsMatch(GradientCheck().run(input: x, parameters: layer.namedParameters) { layer.forward($0, mode: .train) })
    }

    /// Stride 1, padding 2, 5×5 kernel: the MNIST CNN's convolutions, on a non-square image.
    func testConv2dStride1Padding2() {
        let layer = Conv2d(inputChannels: 2, outputChannels: 3, kernelSize: 5, stride: 1, padding: 2, using: &rng)
        let x = Tensor.randomNormal([2, 2, 6, 5], using: &rng)
        assertGradientsMatch(GradientCheck().run(input: x, parameters: layer.namedParameters) { layer.forward($0, mode: .train) })
    }

    /// Stride 2, padding 1, 3×3 kernel (a DCGAN-style downsampling convolution), odd sizes so
    /// that the last row and column of the input are not covered by every window.
    func testConv2dStride2Padding1() {
        let layer = Conv2d(inputChannels: 3, outputChannels: 4, kernelSize: 3, stride: 2, padding: 1, using: &rng)
        let x = Tensor.randomNormal([2, 3, 7, 6], using: &rng)
        assertGradientsMatch(GradientCheck().run(input: x, parameters: layer.namedParameters) { layer.forward($0, mode: .train) })
    }

    /// Kernel 4, stride 2, padding 1: the generator's upsampling (doubles H and W).
    func testConvTranspose2dKernel4Stride2Padding1() {
        let layer = ConvTranspose2d(inputChannels: 3, outputChannels: 2, kernelSize: 4, stride: 2, padding: 1, using: &rng)
        let x = Tensor.randomNormal([2, 3, 4, 3], using: &rng)
        let report = GradientCheck().run(input: x, parameters: layer.namedParameters) { input in
            let (y, pullback) = layer.forward(input, mode: .train)
            XCTAssertEqual(y.shape, [2, 2, 8, 6])
            return (y, pullback)
        }
        assertGradientsMatch(report)
    }

    func testConvTranspose2dKernel3Stride1Padding1() {
        let layer = ConvTranspose2d(inputChannels: 2, outputChannels: 3, kernelSize: 3, stride: 1, padding: 1, using: &rng)
        let x = Tensor.randomNormal([2, 2, 5, 4], using: &rng)
        assertGradientsMatch(GradientCheck().run(input: x, parameters: layer.namedParameters) { layer.forward($0, mode: .train) })
    }

    /// Output padding adds a last row and column that only the bias and the kernel's far taps reach.
    func testConvTranspose2dWithOutputPadding() {
        let layer = ConvTranspose2d(
            inputChannels: 2, outputChannels: 2, kernelSize: 3, stride: 2, padding: 1, outputPadding: 1, using: &rng)
        let x = Tensor.randomNormal([1, 2, 3, 4], using: &rng)
        let report = GradientCheck().run(input: x, parameters: layer.namedParameters) { input in
            let (y, pullback) = layer.forward(input, mode: .train)
            XCTAssertEqual(y.shape, [1, 2, 6, 8])
            return (y, pullback)
        }
        assertGradientsMatch(report)
    }

    /// Training mode: every output depends on the whole batch through the batch statistics, so
    /// the check uses the full `L = Σ r·y`, not one output at a time.
    func testBatchNormTrainingMode4D() {
        let layer = BatchNorm(channels: 2)
        randomize(layer.scale, mean: 1, std: 0.5)
        randomize(layer.shift)
        let x = Tensor.randomNormal([3, 2, 3, 4], mean: 1, std: 2, using: &rng)
        assertGradientsMatch(GradientCheck().run(input: x, parameters: layer.namedParameters) { layer.forward($0, mode: .train) })
    }

    func testBatchNormTrainingMode2D() {
        let layer = BatchNorm(channels: 4)
        randomize(layer.scale, mean: 1, std: 0.5)
        randomize(layer.shift)
        let x = Tensor.randomNormal([6, 4], mean: -0.5, std: 1.5, using: &rng)
        assertGradientsMatch(GradientCheck().run(input: x, parameters: layer.namedParameters) { layer.forward($0, mode: .train) })
    }

    /// Evaluation mode with parameter gradients on (fine-tuning): an affine map per channel
    /// from the running statistics.
    func testBatchNormEvaluationMode() {
        let layer = BatchNorm(channels: 3)
        randomize(layer.scale, mean: 1, std: 0.5)
        randomize(layer.shift)
        randomize(layer.runningMean)
        layer.runningVariance.value = Tensor(shape: [3], scalars: [0.5, 2, 4])
        let x = Tensor.randomNormal([2, 3, 2, 3], using: &rng)
        let mode = ForwardMode(training: false, parameterGradients: true)
        assertGradientsMatch(GradientCheck().run(input: x, parameters: layer.namedParameters) { layer.forward($0, mode: mode) })
    }

    func testMaxPool2d() {
        let x = distinctValues([2, 2, 6, 5])
        assertGradientsMatch(GradientCheck().run(input: x) { MaxPool2d(kernelSize: 2).forward($0, mode: .train) }, "kernel 2")
        // Overlapping windows (kernel 3, stride 2): one input can be the maximum of two windows.
        assertGradientsMatch(
            GradientCheck().run(input: x) { MaxPool2d(kernelSize: 3, stride: 2).forward($0, mode: .train) }, "kernel 3 stride 2")
    }

    func testReLUAndLeakyReLU() {
        let x = awayFromZero([3, 7])
        assertGradientsMatch(GradientCheck().run(input: x) { ReLU().forward($0, mode: .train) }, "ReLU")
        assertGradientsMatch(GradientCheck().run(input: x) { LeakyReLU(slope: 0.2).forward($0, mode: .train) }, "LeakyReLU")
    }

    func testTanhAndSigmoid() {
        let x = Tensor.randomNormal([3, 7], std: 1.5, using: &rng)
        assertGradientsMatch(GradientCheck().run(input: x) { Tanh().forward($0, mode: .train) }, "Tanh")
        assertGradientsMatch(GradientCheck().run(input: x) { Sigmoid().forward($0, mode: .train) }, "Sigmoid")
    }

    func testFlattenAndReshape() {
        let images = Tensor.randomNormal([2, 3, 2, 2], using: &rng)
        assertGradientsMatch(GradientCheck().run(input: images) { Flatten().forward($0, mode: .train) }, "Flatten")
        let vectors = Tensor.randomNormal([4, 6], using: &rng)
        assertGradientsMatch(GradientCheck().run(input: vectors) { Reshape([2, 3]).forward($0, mode: .train) }, "Reshape")
    }

    /// The same seed on every evaluation gives the same mask on both sides of the difference.
    func testDropoutWithFixedMask() {
        let x = Tensor.randomNormal([4, 6], using: &rng)
        let dropout = Dropout(rate: 0.4)
        let report = GradientCheck().run(input: x) { input in
            var maskGenerator = SeededGenerator(seed: 77)
            return dropout.forward(input, mode: .train, using: &maskGenerator)
        }
        assertGradientsMatch(report)
    }

    /// Indices in, so only the table has a gradient; index 1 appears twice and must accumulate.
    func testEmbeddingTable() {
        let embedding = Embedding(count: 5, dimension: 3, using: &rng)
        let indices = [1, 4, 1, 0]
        let report = GradientCheck().run(input: Tensor.zeros([0]), parameters: embedding.namedParameters) { _ in
            let (y, pullback) = embedding.forward(indices, mode: .train)
            return (
                y,
                { dy in
                    pullback(dy)
                    return Tensor.zeros([0])
                }
            )
        }
        assertGradientsMatch(report)
        // Rows 2 and 3 are never looked up: exactly zero gradient.
        XCTAssertEqual(Array(embedding.table.gradient.scalars[6..<12]), [Float](repeating: 0, count: 6))
    }
}
