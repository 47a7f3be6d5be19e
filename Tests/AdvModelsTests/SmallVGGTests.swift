import AdvModels
import AdvNN
import AdvTensor
import XCTest

/// The small VGG (the validity panel's judge architecture): its pullback to the image and to
/// every parameter against central finite differences, and the registry that builds it.
final class SmallVGGTests: XCTestCase {
    func testImageGradient() {
        var rng = SeededGenerator(seed: 90)
        let model = SmallVGG(using: &rng)
        let images = Tensor.randomUniform([2, 1, 28, 28], using: &rng)
        var coordinates: [Int] = []
        for example in 0..<2 {
            for (row, column) in [(8, 9), (12, 14), (14, 14), (15, 20), (20, 11), (3, 3)] {
                coordinates.append(example * 784 + row * 28 + column)
            }
        }
        let cotangent = Tensor.randomNormal([2, 10], using: &rng)
        let report = FiniteDifferenceCheck().run(input: images, coordinates: coordinates, cotangent: cotangent) {
            model.logits($0, mode: .eval)
        }
        assertPasses(report, "∂(Σ r·logits)/∂image")
    }

    /// Every parameter tensor (each conv and FC layer's weight and bias) on sampled coordinates.
    func testEveryParameterGradient() {
        var rng = SeededGenerator(seed: 91)
        let model = SmallVGG(using: &rng)
        let images = Tensor.randomUniform([3, 1, 28, 28], using: &rng)
        let cotangent = Tensor.randomNormal([3, 10], using: &rng)
        XCTAssertEqual(model.namedParameters.count, 10, "five layers, a weight and a bias each")
        for (index, (name, parameter)) in model.namedParameters.enumerated() {
            let original = parameter.value
            let coordinates = sampledCoordinates(12, of: original.count, seed: 92 + UInt64(index))
            let report = FiniteDifferenceCheck().run(input: original, coordinates: coordinates, cotangent: cotangent) { value in
                parameter.value = value
                let (logits, back) = model.logits(images, mode: .train)
                return (
                    logits,
                    { dLogits in
                        parameter.value = original
                        model.zeroGradients()
                        _ = back(dLogits)
                        return parameter.gradient
                    }
                )
            }
            parameter.value = original
            assertPasses(report, "∂(Σ r·logits)/∂\(name)")
        }
    }

    /// `--arch vgg` and the checkpoints' `small-vgg` name the same constructor; the challenge CNN stays the default entry.
    func testRegistryBuildsBothArchitectures() {
        var rng = SeededGenerator(seed: 93)
        XCTAssertEqual(ClassifierArchitectures.names, ["challenge", "vgg"])
        let shape = ImageShape(channels: 1, height: 28, width: 28)
        XCTAssertTrue(ClassifierArchitectures.entry(for: "vgg")?.make(shape, &rng) is SmallVGG)
        XCTAssertTrue(ClassifierArchitectures.entry(for: SmallVGG.architecture)?.make(shape, &rng) is SmallVGG)
        XCTAssertTrue(ClassifierArchitectures.entry(for: "challenge")?.make(shape, &rng) is MNISTChallengeCNN)
        XCTAssertNil(ClassifierArchitectures.entry(for: "resnet"))
        let logits = SmallVGG(using: &rng).logits(Tensor.randomUniform([4, 1, 28, 28], using: &rng), mode: .eval).0
        XCTAssertEqual(logits.shape, [4, 10])
    }
}
