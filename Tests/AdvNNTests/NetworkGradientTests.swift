import AdvNN
import AdvTensor
import XCTest

/// A composed mini network, conv → BatchNorm → ReLU → max-pool → flatten → linear → mean
/// cross-entropy, differentiated end to end by chaining the pullbacks in reverse.
final class NetworkGradientTests: XCTestCase {
    /// The network of the test: a struct of named sub-layers as the models are.
    private struct MiniNetwork {
        let convolution: Conv2d
        let normalization: BatchNorm
        let activation = ReLU()
        let pooling = MaxPool2d(kernelSize: 2)
        let flatten = Flatten()
        let classifier: Linear

        init(using rng: inout SeededGenerator) {
            convolution = Conv2d(inputChannels: 1, outputChannels: 3, kernelSize: 3, padding: 1, using: &rng)
            normalization = BatchNorm(channels: 3)
            classifier = Linear(inputSize: 3 * 4 * 4, outputSize: 3, using: &rng)
        }

        var namedParameters: [(String, Parameter)] {
            prefixed("convolution", convolution.namedParameters) + prefixed("normalization", normalization.namedParameters)
                + prefixed("classifier", classifier.namedParameters)
        }

        // images: [N, 1, 8, 8] -> loss [1]
        func loss(_ images: Tensor, labels: [Int], mode: ForwardMode) -> (Tensor, Pullback) {
            let (convolved, convolutionPullback) = convolution.forward(images, mode: mode)
            let (normalized, normalizationPullback) = normalization.forward(convolved, mode: mode)
            let (activated, activationPullback) = activation.forward(normalized, mode: mode)
            let (pooled, poolingPullback) = pooling.forward(activated, mode: mode)
            let (flat, flattenPullback) = flatten.forward(pooled, mode: mode)
            let (logits, classifierPullback) = classifier.forward(flat, mode: mode)
            let (value, dLogits) = softmaxCrossEntropy(logits: logits, labels: labels)
            return (
                Tensor(shape: [1], scalars: [value]),
                { r in
                    let dFlat = classifierPullback(dLogits * r.scalars[0])
                    let dPooled = flattenPullback(dFlat)
                    let dActivated = poolingPullback(dPooled)
                    let dNormalized = activationPullback(dActivated)
                    let dConvolved = normalizationPullback(dNormalized)
                    return convolutionPullback(dConvolved)
                }
            )
        }
    }

    func testEndToEndGradientsMatchFiniteDifferences() {
        var rng = SeededGenerator(seed: 600)
        let network = MiniNetwork(using: &rng)
        let images = Tensor.randomUniform([4, 1, 8, 8], using: &rng)
        let labels = [0, 2, 1, 2]
        // The convolution bias is checked separately below: BatchNorm cancels it exactly.
        let checked = network.namedParameters.filter { $0.0 != "convolution.bias" }
        var check = GradientCheck()
        // A small step: a convolution weight moves all 768 pre-activations at once, and none of
        // them may cross a ReLU kink or swap a max-pool winner within ±h (1e-2 fails on most seeds).
        check.step = 1e-3
        check.coordinatesPerTensor = 64
        let report = check.run(input: images, parameters: checked) { network.loss($0, labels: labels, mode: .train) }
        assertGradientsMatch(report)
        XCTAssertEqual(report.results.count, 1 + checked.count)
    }

    /// A per-channel constant added before training-mode BatchNorm is removed by the batch mean,
    /// so the convolution bias gets (numerically) zero gradient while its weights do not.
    func testBatchNormCancelsTheConvolutionBiasGradient() {
        var rng = SeededGenerator(seed: 601)
        let network = MiniNetwork(using: &rng)
        let images = Tensor.randomUniform([4, 1, 8, 8], using: &rng)
        network.convolution.weight.zeroGradient()
        network.convolution.bias.zeroGradient()
        _ = network.loss(images, labels: [0, 1, 2, 0], mode: .train).1(Tensor(shape: [1], scalars: [1]))
        let weightScale = network.convolution.weight.gradient.maxAbs()
        XCTAssertGreaterThan(weightScale, 1e-3)
        XCTAssertLessThan(network.convolution.bias.gradient.maxAbs(), 1e-4 * weightScale)
    }
}
