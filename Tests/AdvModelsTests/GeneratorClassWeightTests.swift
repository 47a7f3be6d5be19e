import AdvNN
import AdvTensor
import XCTest

@testable import AdvTraining

/// `train acgan --class-weight w`: the generator's loss is source + w·class. Its loss and its
/// parameters' gradient are therefore linear in w, and the class term reaches the generator.
final class GeneratorClassWeightTests: XCTestCase {
    /// One training step (a discriminator and a generator update) of a small ResNet AC-GAN with
    /// class weight `weight`: the generator's loss and its parameters' gradients.
    func generatorStep(weight: Float) throws -> (loss: Float, gradients: [[Float]]) {
        var config = ACGANTrainingConfig.resnet
        config.latentSize = 8
        config.batchSize = 4
        config.seed = 3
        config.generatorClassWeight = weight
        let trainer = ACGANTrainer(config: config, checkpointPath: "/dev/null", samplesDirectory: nil, commandLine: "test")
        let optimizers = trainer.makeOptimizers()
        var rng = SeededGenerator(seed: 9)
        var imageRNG = SeededGenerator(seed: 1)
        let step = try trainer.trainStep(
            realImages: Tensor.randomUniform([4, 1, 28, 28], using: &imageRNG), realLabels: [0, 1, 2, 3],
            realTargets: Tensor(repeating: 1, shape: [4, 1]), generatorOptimizer: optimizers.generator,
            discriminatorOptimizer: optimizers.discriminator, using: &rng)
        return (try XCTUnwrap(step.generatorLoss), trainer.generator.namedParameters.map(\.1.gradient.scalars))
    }

    func testTheClassTermIsWeighted() throws {
        let none = try generatorStep(weight: 0)
        let full = try generatorStep(weight: 1)
        let half = try generatorStep(weight: 0.5)
        XCTAssertEqual(half.loss, (none.loss + full.loss) / 2, accuracy: 1e-4 * max(1, abs(full.loss)))
        XCTAssertGreaterThan(abs(full.loss - none.loss), 1e-2, "the class term must contribute for the check to mean anything")
        var largestChange: Float = 0
        // One scale for all: a bias before a BatchNorm has a gradient of rounding size only.
        let scale = (none.gradients + full.gradients).flatMap { $0 }.map(abs).max() ?? 0
        XCTAssertGreaterThan(scale, 0)
        for (index, ((g0, g1), gHalf)) in zip(zip(none.gradients, full.gradients), half.gradients).enumerated() {
            for i in g0.indices {
                XCTAssertEqual(gHalf[i], (g0[i] + g1[i]) / 2, accuracy: 1e-3 * scale, "parameter \(index), element \(i)")
                largestChange = max(largestChange, abs(g1[i] - g0[i]) / scale)
            }
        }
        XCTAssertGreaterThan(largestChange, 1e-2, "the class term must reach the generator's gradient")
    }
}
