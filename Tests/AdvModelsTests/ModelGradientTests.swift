import AdvModels
import AdvNN
import AdvTensor
import TestSupport
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
        -> (Tensor) -> (Tensor, Pullback)
    {
        { z in
            let (images, imagesPullback) = generator.forward(z, classes: Self.classes, mode: mode)
            let judged = discriminator.forward(images, mode: mode)
            return (
                joinColumns(judged.sourceLogits, judged.classLogits),
                { cotangent in
                    let (dSource, dClasses) = splitColumns(cotangent, first: 1)
                    return imagesPullback(judged.pullback(dSource, dClasses))
                }
            )
        }
    }

    /// images [N, 1, 28, 28] -> [N, 11]: both discriminator heads side by side.
    func discriminatorHeads(_ discriminator: ACGANDiscriminator, mode: ForwardMode) -> (Tensor) -> (Tensor, Pullback) {
        { images in
            let judged = discriminator.forward(images, mode: mode)
            return (
                joinColumns(judged.sourceLogits, judged.classLogits),
                { cotangent in
                    let (dSource, dClasses) = splitColumns(cotangent, first: 1)
                    return judged.pullback(dSource, dClasses)
                }
            )
        }
    }

    func checkLatentGradient(mode: ForwardMode, seed: UInt64) {
        let (generator, discriminator) = makeGAN(seed: seed)
        var rng = SeededGenerator(seed: seed + 1)
        let z = Tensor.randomNormal([Self.classes.count, Self.latentSize], using: &rng)
        let cotangent = Tensor.randomNormal([Self.classes.count, 11], using: &rng)
        let report = FiniteDifferenceCheck().run(
            input: z, coordinates: Array(0..<z.count), cotangent: cotangent,
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
        let cotangents = [
            joinColumns(Tensor.randomNormal([n, 1], using: &rng), Tensor.zeros([n, 10])),
            joinColumns(Tensor.zeros([n, 1]), Tensor.randomNormal([n, 10], using: &rng)),
        ]
        let reports = FiniteDifferenceCheck().run(
            input: images, coordinates: coordinates, cotangents: cotangents,
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
        let report = FiniteDifferenceCheck().run(
            input: images, coordinates: sampledCoordinates(20, of: images.count, seed: 62),
            cotangent: Tensor.randomNormal([2, 10], using: &rng)
        ) {
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
        let report = FiniteDifferenceCheck().run(
            input: images, coordinates: coordinates, cotangent: Tensor.randomNormal([2, 10], using: &rng)
        ) {
            model.logits($0, mode: .eval)
        }
        assertPasses(report, "∂(Σ r·logits)/∂image")
    }

    /// Training steps run the models with `.trainParametersOnly`: only the first layer skips its
    /// input gradient, so every parameter gradient is exactly what `.train` gives (a model that
    /// handed the mode to a later layer would lose the gradients of the layers before it).
    func testParametersOnlyModeGivesTheSameParameterGradients() {
        var rng = SeededGenerator(seed: 80)
        let images = Tensor.randomUniform([3, 1, 28, 28], using: &rng)
        let classifier = MNISTChallengeCNN(using: &rng)
        let embedding = TripletEmbedding(using: &rng)
        let (_, discriminator) = makeGAN(seed: 81)
        let dLogits = Tensor.randomNormal([3, 10], using: &rng)
        let dSource = Tensor.randomNormal([3, 1], using: &rng)
        let runs: [(String, any ParameterContainer, (ForwardMode) -> Tensor)] = [
            (
                "classifier", classifier,
                { mode in
                    let (_, back) = classifier.logits(images, mode: mode)
                    return back(dLogits)
                }
            ),
            ("discriminator", discriminator, { mode in discriminator.forward(images, mode: mode).pullback(dSource, dLogits) }),
            (
                "triplet embedding", embedding,
                { mode in
                    let (output, back) = embedding.forward(images, mode: mode)
                    return back(Tensor(repeating: 0.25, shape: output.shape))
                }
            ),
        ]
        for (name, model, pass) in runs {
            model.zeroGradients()
            XCTAssertEqual(pass(.train).shape, images.shape, name)
            let expected = model.parameters.map(\.gradient)
            model.zeroGradients()
            XCTAssertEqual(pass(.trainParametersOnly).shape, [0], "\(name): the first layer computed ∂images anyway")
            for ((parameterName, parameter), gradient) in zip(model.namedParameters, expected) {
                XCTAssertGreaterThan(gradient.maxAbs(), 0, "\(name).\(parameterName) has no gradient at all")
                assertClose(parameter.gradient, gradient, rtol: 1e-5, atol: 1e-6, "\(name).\(parameterName)")
            }
        }
    }
}
