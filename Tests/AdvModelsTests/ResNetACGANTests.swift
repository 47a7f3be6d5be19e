import AdvModels
import AdvNN
import AdvTensor
import AdvTraining
import TestSupport
import XCTest

/// The ResNet AC-GAN (Song et al. 2018's architecture, spectrally normalised discriminator):
/// shapes, the composed pullbacks to z and to the image, and every parameter's gradient, against
/// central finite differences; and its registry entry.
final class ResNetACGANTests: XCTestCase {
    static let latentSize = 5
    static let classes = [3, 7, 0, 9]
    static let fixedVectors = ForwardMode(training: false, parameterGradients: true)
    static let trainingWithoutParameterGradients = ForwardMode(training: true, parameterGradients: false)
    /// With tanh the function is smooth, so a larger step (truncation error O(h²)) keeps float32
    /// round-off, amplified by 1/2h, small against the spectrally normalised network's small gradients.
    static let smoothCheck = FiniteDifferenceCheck(step: 1e-2)

    /// A small GAN (8 channels) whose BatchNorm statistics and spectral-norm vectors have moved.
    /// The layers' own pullbacks are checked in AdvNNTests; here the wiring is, with tanh in place
    /// of ReLU: through a dozen ReLU layers a finite-difference step crosses kinks at most
    /// coordinates, while tanh keeps the function smooth and the check exact (a ReLU network is
    /// checked once more, by the slope alone, in `testLatentGradientWithReLU`).
    func makeGAN(seed: UInt64, activation: any Layer = Tanh()) -> (ResNetGenerator, ResNetDiscriminator) {
        var rng = SeededGenerator(seed: seed)
        let generator = ResNetGenerator(latentSize: Self.latentSize, channels: 8, activation: activation, using: &rng)
        let discriminator = ResNetDiscriminator(channels: 8, activation: activation, using: &rng)
        for _ in 0..<3 {
            let z = Tensor.randomNormal([8, Self.latentSize], std: 2, using: &rng)
            let images = generator.forward(z, classes: (0..<8).map { $0 % 10 }, mode: Self.trainingWithoutParameterGradients).0
            _ = discriminator.forward(images, mode: Self.trainingWithoutParameterGradients)
        }
        return (generator, discriminator)
    }

    func testShapesAndRange() {
        var rng = SeededGenerator(seed: 1)
        let generator = ResNetGenerator(using: &rng)
        let discriminator = ResNetDiscriminator(using: &rng)
        let images = generator.generate(Tensor.randomNormal([3, 128], using: &rng), classes: [0, 5, 9])
        XCTAssertEqual(images.shape, [3, 1, 28, 28])
        XCTAssertTrue(images.scalars.allSatisfy { $0 >= 0 && $0 <= 1 })
        let judged = discriminator.forward(images, mode: .eval)
        XCTAssertEqual(judged.sourceLogits.shape, [3, 1])
        XCTAssertEqual(judged.classLogits.shape, [3, 10])
        XCTAssertEqual(discriminator.features(images).shape, [3, 32 * 7 * 7])
    }

    /// z → G → D → both heads: what the latent search differentiates.
    func checkLatentGradient(mode: ForwardMode, seed: UInt64) {
        let (generator, discriminator) = makeGAN(seed: seed)
        var rng = SeededGenerator(seed: seed + 1)
        let z = Tensor.randomNormal([Self.classes.count, Self.latentSize], using: &rng)
        let cotangent = Tensor.randomNormal([Self.classes.count, 11], using: &rng)
        let report = Self.smoothCheck.run(input: z, coordinates: Array(0..<z.count), cotangent: cotangent) { z in
            let (images, imagesBack) = generator.forward(z, classes: Self.classes, mode: mode)
            let judged = discriminator.forward(images, mode: mode)
            return (
                joinColumns(judged.sourceLogits, judged.classLogits),
                { cotangent in
                    let (dSource, dClasses) = splitColumns(cotangent, first: 1)
                    return imagesBack(judged.pullback(dSource, dClasses))
                }
            )
        }
        assertPasses(report, "∂(Σ r·D(G(z, c)))/∂z, training \(mode.training)")
    }

    func testLatentGradientInEvaluationMode() { checkLatentGradient(mode: .eval, seed: 10) }

    /// Training mode couples the batch through BatchNorm; u and v would move at every pass, so
    /// the discriminator side is checked with them fixed (evaluation mode) in the other tests.
    func testLatentGradientThroughTrainingModeGenerator() {
        let (generator, discriminator) = makeGAN(seed: 20)
        var rng = SeededGenerator(seed: 21)
        let z = Tensor.randomNormal([Self.classes.count, Self.latentSize], using: &rng)
        let cotangent = Tensor.randomNormal([Self.classes.count, 11], using: &rng)
        let report = Self.smoothCheck.run(input: z, coordinates: Array(0..<z.count), cotangent: cotangent) { z in
            let (images, imagesBack) = generator.forward(z, classes: Self.classes, mode: Self.trainingWithoutParameterGradients)
            let judged = discriminator.forward(images, mode: .eval)
            return (
                joinColumns(judged.sourceLogits, judged.classLogits),
                { cotangent in
                    let (dSource, dClasses) = splitColumns(cotangent, first: 1)
                    return imagesBack(judged.pullback(dSource, dClasses))
                }
            )
        }
        assertPasses(report, "∂/∂z through the training-mode generator")
    }

    /// Each head alone, so a head dropped from the pullback fails.
    func testDiscriminatorImageGradientOfBothHeads() {
        let (_, discriminator) = makeGAN(seed: 30)
        var rng = SeededGenerator(seed: 31)
        let images = Tensor.randomUniform([3, 1, 28, 28], using: &rng)
        let cotangents = [
            joinColumns(Tensor.randomNormal([3, 1], using: &rng), Tensor.zeros([3, 10])),
            joinColumns(Tensor.zeros([3, 1]), Tensor.randomNormal([3, 10], using: &rng)),
        ]
        let reports = Self.smoothCheck.run(
            input: images, coordinates: sampledCoordinates(40, of: images.count, seed: 32),
            cotangents: cotangents
        ) { images in
            let judged = discriminator.forward(images, mode: .eval)
            return (
                joinColumns(judged.sourceLogits, judged.classLogits),
                { cotangent in
                    let (dSource, dClasses) = splitColumns(cotangent, first: 1)
                    return judged.pullback(dSource, dClasses)
                }
            )
        }
        for (head, report) in zip(["source", "class"], reports) { assertPasses(report, "∂(\(head) head)/∂image") }
    }

    /// Every named parameter's accumulated gradient against finite differences in that parameter
    /// (a few coordinates each), the generator's through its images and the discriminator's through
    /// its heads: a block left out of the pullback, or a gradient sent to the wrong class's row,
    /// fails here. Both models in evaluation mode with parameter gradients: deterministic (running
    /// statistics, fixed u and v), and every parameter reaches the output.
    func testEveryParameterGradient() {
        let (generator, discriminator) = makeGAN(seed: 40)
        var rng = SeededGenerator(seed: 41)
        let z = Tensor.randomNormal([Self.classes.count, Self.latentSize], using: &rng)
        let images = Tensor.randomUniform([3, 1, 28, 28], using: &rng)
        let imageCotangent = Tensor.randomNormal([Self.classes.count, 1, 28, 28], using: &rng)
        let headCotangent = Tensor.randomNormal([3, 11], using: &rng)
        let runs: [(String, any ParameterContainer, Tensor, () -> (Tensor, (Tensor) -> Void))] = [
            (
                "generator", generator, imageCotangent,
                {
                    let (output, back) = generator.forward(z, classes: Self.classes, mode: Self.fixedVectors)
                    return (output, { _ = back($0) })
                }
            ),
            (
                "discriminator", discriminator, headCotangent,
                {
                    let judged = discriminator.forward(images, mode: Self.fixedVectors)
                    return (
                        joinColumns(judged.sourceLogits, judged.classLogits),
                        { cotangent in
                            let (dSource, dClasses) = splitColumns(cotangent, first: 1)
                            _ = judged.pullback(dSource, dClasses)
                        }
                    )
                }
            ),
        ]
        for (model, container, cotangent, run) in runs {
            for (index, (name, parameter)) in container.namedParameters.enumerated() {
                // Class rows of the conditional BatchNorms that no example asks for have no gradient.
                let rows =
                    name.contains("norm") && parameter.value.rank == 2
                    ? Self.classes.flatMap { label in (0..<parameter.value.shape[1]).map { label * parameter.value.shape[1] + $0 } }
                    : Array(0..<parameter.value.count)
                let coordinates = sampledCoordinates(6, of: rows.count, seed: UInt64(index)).map { rows[$0] }
                let report = Self.smoothCheck.run(input: parameter.value, coordinates: coordinates, cotangent: cotangent) { value in
                    let original = parameter.value
                    parameter.value = value
                    defer { parameter.value = original }
                    container.zeroGradients()
                    let (output, back) = run()
                    return (
                        output,
                        { dy in
                            back(dy)
                            return parameter.gradient
                        }
                    )
                }
                assertPasses(report, "\(model).\(name)")
            }
        }
    }

    func testRegistryBuildsTheResNetByNameAndByCheckpointArchitecture() throws {
        var rng = SeededGenerator(seed: 50)
        let byName = try XCTUnwrap(GeneratorArchitectures.constructor(for: "resnet"))(.init(latentSize: 128), &rng)
        XCTAssertTrue(byName.generator is ResNetGenerator)
        XCTAssertTrue(byName.discriminator is ResNetDiscriminator)
        XCTAssertNotNil(GeneratorArchitectures.constructor(for: byName.architecture))
        XCTAssertEqual(byName.architecture, "acgan-resnet-generator+acgan-resnet-sn-discriminator")
        let names = Set(byName.generator.namedParameters.map(\.0) + byName.generator.namedBuffers.map(\.0))
        XCTAssertEqual(names.count, byName.generator.namedParameters.count + byName.generator.namedBuffers.count, "duplicate names")
        XCTAssertTrue(names.contains("block2.norm1.weight"))
        XCTAssertTrue(byName.discriminator.namedBuffers.map(\.0).contains("block1.conv1.weight_u"))
        // Song et al.'s unconstrained discriminator: plain convolutions, no power-iteration buffers.
        let plain = try XCTUnwrap(GeneratorArchitectures.constructor(for: "resnet-plain"))(.init(latentSize: 128), &rng)
        XCTAssertEqual(plain.architecture, "acgan-resnet-generator+acgan-resnet-discriminator")
        XCTAssertTrue(plain.discriminator.namedBuffers.isEmpty)
        XCTAssertTrue(plain.discriminator.namedParameters.map(\.0).contains("block2.conv1.weight"))
        XCTAssertNotNil(GeneratorArchitectures.constructor(for: plain.architecture))
    }
}

/// The trainer's schedule: with `criticSteps` k the generator moves on every k-th step only, and
/// the discriminator on every step.
final class CriticStepsTests: XCTestCase {
    func testGeneratorUpdatesEveryKthStep() throws {
        var config = ACGANTrainingConfig.resnet
        config.latentSize = 8
        config.batchSize = 4
        config.criticSteps = 3
        let trainer = ACGANTrainer(config: config, checkpointPath: "/dev/null", samplesDirectory: nil, commandLine: "test")
        let (generatorOptimizer, discriminatorOptimizer) = trainer.makeOptimizers()
        var rng = SeededGenerator(seed: 1)
        let images = Tensor.randomUniform([4, 1, 28, 28], using: &rng)
        var updates: [Bool] = []
        for step in 0..<6 {
            let before = trainer.generator.namedParameters[0].1.value
            let dBefore = trainer.discriminator.namedParameters[0].1.value
            let result = try trainer.trainStep(
                realImages: images, realLabels: [0, 1, 2, 3], realTargets: Tensor(repeating: 1, shape: [4, 1]),
                generatorOptimizer: generatorOptimizer, discriminatorOptimizer: discriminatorOptimizer,
                using: &rng, step: step)
            let moved = trainer.generator.namedParameters[0].1.value != before
            XCTAssertEqual(moved, result.generatorLoss != nil, "step \(step)")
            XCTAssertNotEqual(trainer.discriminator.namedParameters[0].1.value, dBefore, "step \(step): the discriminator did not move")
            updates.append(moved)
        }
        XCTAssertEqual(updates, [false, false, true, false, false, true])
    }
}
