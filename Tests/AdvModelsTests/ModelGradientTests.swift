import AdvModels
import AdvNN
import AdvTensor
import XCTest

/// The models' composed pullbacks against central finite differences: what the latent search
/// (∂/∂z through G and D) and every attack (∂/∂image) rely on. BatchNorm couples the examples
/// of a batch in training mode, so there the whole batch's output is one function of the input.
final class ModelGradientTests: XCTestCase {
    static let latentSize = 6
    static let classes = [3, 7, 0, 9]
    static let trainingWithoutParameterGradients = ForwardMode(training: true, parameterGradients: false)

    func makeGAN(seed: UInt64) -> (ACGANGenerator, ACGANDiscriminator) {
        var rng = SeededGenerator(seed: seed)
        let generator = ACGANGenerator(latentSize: Self.latentSize, using: &rng)
        let discriminator = ACGANDiscriminator(using: &rng)
        // A few training-mode passes move the running statistics away from (0, 1), so that the
        // evaluation-mode check exercises them.
        for _ in 0..<3 {
            let z = Tensor.randomNormal([8, Self.latentSize], std: 2, using: &rng)
            let images = generator.forward(z, classes: (0..<8).map { $0 % 10 }, mode: Self.trainingWithoutParameterGradients).0
            _ = discriminator.forward(images, mode: Self.trainingWithoutParameterGradients)
        }
        return (generator, discriminator)
    }

    /// z [N, latent] -> [N, 11]: D's source logit and class logits of G(z, classes), side by side.
    func composed(_ generator: ACGANGenerator, _ discriminator: ACGANDiscriminator, mode: ForwardMode)
        -> (Tensor) -> (Tensor, Pullback) {
        { z in
            let (images, imagesPullback) = generator.forward(z, classes: Self.classes, mode: mode)
            let judged = discriminator.forward(images, mode: mode)
            return (joinColumns(judged.sourceLogits, judged.classLogits), { cotangent in
                let (dSource, dClasses) = splitColumns(cotangent, first: 1)
                return imagesPullback(judged.pullback(dSource, dClasses))
            })
        }
    }

    /// images [N, 1, 28, 28] -> [N, 11]: both discriminator heads side by side.
    func discriminatorHeads(_ discriminator: ACGANDiscriminator, mode: ForwardMode) -> (Tensor) -> (Tensor, Pullback) {
        { images in
            let judged = discriminator.forward(images, mode: mode)
            return (joinColumns(judged.sourceLogits, judged.classLogits), { cotangent in
                let (dSource, dClasses) = splitColumns(cotangent, first: 1)
                return judged.pullback(dSource, dClasses)
            })
        }
    }

    func checkLatentGradient(mode: ForwardMode, seed: UInt64) {
        let (generator, discriminator) = makeGAN(seed: seed)
        var rng = SeededGenerator(seed: seed + 1)
        let z = Tensor.randomNormal([Self.classes.count, Self.latentSize], using: &rng)
        let cotangent = Tensor.randomNormal([Self.classes.count, 11], using: &rng)
        let report = FiniteDifferenceCheck().run(input: z, coordinates: Array(0..<z.count), cotangent: cotangent,
                                                 composed(generator, discriminator, mode: mode))
        assertPasses(report, "∂(Σ r·D(G(z, c)))/∂z, training \(mode.training)")
    }

    func testLatentGradientThroughGeneratorAndDiscriminatorInEvaluationMode() {
        checkLatentGradient(mode: .eval, seed: 10)
    }

    func testLatentGradientThroughGeneratorAndDiscriminatorInTrainingMode() {
        checkLatentGradient(mode: Self.trainingWithoutParameterGradients, seed: 20)
    }

    /// Negative controls: the same differences must reject a pullback 5 % too large everywhere
    /// (by the slope) and one with two coordinates' values swapped (coordinate by coordinate).
    func testLatentCheckRejectsWrongPullbacks() {
        let (generator, discriminator) = makeGAN(seed: 30)
        var rng = SeededGenerator(seed: 31)
        let z = Tensor.randomNormal([Self.classes.count, Self.latentSize], using: &rng)
        let cotangent = Tensor.randomNormal([Self.classes.count, 11], using: &rng)
        let function = composed(generator, discriminator, mode: .eval)
        let check = FiniteDifferenceCheck()
        let coordinates = Array(0..<z.count)
        let numeric = check.differences(input: z, coordinates: coordinates, cotangents: [cotangent]) { function($0).0 }[0]
        let correct = function(z).1(cotangent)
        assertPasses(check.judge(correct, coordinates: coordinates, differences: numeric), "the correct pullback")
        let scaled = check.judge(correct * 1.05, coordinates: coordinates, differences: numeric)
        XCTAssertFalse(scaled.passed, "a pullback 5 % too large went undetected: \(scaled)")
        var swappedValues = correct
        swappedValues.scalars.swapAt(0, Self.latentSize + 1)
        let swapped = check.judge(swappedValues, coordinates: coordinates, differences: numeric)
        XCTAssertFalse(swapped.passed, "a pullback with two values swapped went undetected: \(swapped)")
    }

    /// Each head alone (the other's cotangent zero), so that a head dropped from the pullback fails.
    func checkDiscriminatorImageGradient(mode: ForwardMode, seed: UInt64) {
        let (_, discriminator) = makeGAN(seed: seed)
        var rng = SeededGenerator(seed: seed + 1)
        let n = 3
        let images = Tensor.randomUniform([n, 1, 28, 28], using: &rng)
        let coordinates = sampledCoordinates(40, of: images.count, seed: seed + 2)
        let cotangents = [joinColumns(Tensor.randomNormal([n, 1], using: &rng), Tensor.zeros([n, 10])),
                          joinColumns(Tensor.zeros([n, 1]), Tensor.randomNormal([n, 10], using: &rng))]
        let reports = FiniteDifferenceCheck().run(input: images, coordinates: coordinates, cotangents: cotangents,
                                                  discriminatorHeads(discriminator, mode: mode))
        for (head, report) in zip(["source", "class"], reports) {
            assertPasses(report, "∂(\(head) head)/∂image, training \(mode.training)")
        }
    }

    func testDiscriminatorImageGradientOfBothHeadsInEvaluationMode() {
        checkDiscriminatorImageGradient(mode: .eval, seed: 40)
    }

    func testDiscriminatorImageGradientOfBothHeadsInTrainingMode() {
        checkDiscriminatorImageGradient(mode: Self.trainingWithoutParameterGradients, seed: 50)
    }

    /// The auxiliary classifier's logits pullback is the discriminator's class head.
    func testAuxiliaryClassifierImageGradient() {
        let (_, discriminator) = makeGAN(seed: 60)
        let auxiliary = AuxiliaryClassifier(discriminator)
        var rng = SeededGenerator(seed: 61)
        let images = Tensor.randomUniform([2, 1, 28, 28], using: &rng)
        let report = FiniteDifferenceCheck().run(input: images, coordinates: sampledCoordinates(20, of: images.count, seed: 62),
                                                 cotangent: Tensor.randomNormal([2, 10], using: &rng)) {
            auxiliary.logits($0, mode: .eval)
        }
        assertPasses(report, "∂(auxiliary logits)/∂image")
    }

    /// The attacked classifier: logits pullback ∂/∂image on a few coordinates, in the middle of
    /// the image where the digit (and so the gradient) is.
    func testChallengeCNNLogitsImageGradient() {
        var rng = SeededGenerator(seed: 70)
        let model = MNISTChallengeCNN(using: &rng)
        let images = Tensor.randomUniform([2, 1, 28, 28], using: &rng)
        var coordinates: [Int] = []
        for example in 0..<2 {
            for (row, column) in [(8, 9), (12, 14), (14, 14), (15, 20), (20, 11), (3, 3)] {
                coordinates.append(example * 784 + row * 28 + column)
            }
        }
        let report = FiniteDifferenceCheck().run(input: images, coordinates: coordinates, cotangent: Tensor.randomNormal([2, 10], using: &rng)) {
            model.logits($0, mode: .eval)
        }
        assertPasses(report, "∂(Σ r·logits)/∂image")
    }
}
