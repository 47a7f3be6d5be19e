import AdvData
import AdvModels
import AdvTensor
import AdvTraining
import XCTest

/// The AC-GAN learns something real in a short run: ten steps over 640 real digits take the
/// auxiliary classifier from chance to well above it on 500 other digits.
///
/// Both subsets come from the 10,000-image test split (disjoint ranges), which loads in a
/// fraction of the training split's time in a debug build. The learning rate is raised from
/// DCGAN's 2e-4 to 1e-3 so that ten steps suffice (with 2e-4 they reach about 0.45).
final class ACGANLearningTests: XCTestCase {
    func testShortRunTeachesTheAuxiliaryClassifier() throws {
        let digits = try MNIST.load(split: .test, directory: try TrainingFixtures.mnistDirectory())
        let train = digits.subset(Array(0..<640))
        let heldOut = digits.subset(Array(5000..<5500))
        let folder = try TrainingFixtures.scratchFolder()
        defer { try? FileManager.default.removeItem(at: folder) }

        var config = ACGANTrainingConfig()
        config.epochs = 1
        config.batchSize = 64
        config.learningRate = 1e-3
        config.seed = 3
        let trainer = ACGANTrainer(
            config: config, checkpointPath: folder.appendingPathComponent("acgan.safetensors").path,
            samplesDirectory: nil, commandLine: "test")
        trainer.quiet = true
        let before = evaluate(AuxiliaryClassifier(trainer.discriminator), on: heldOut).accuracy
        let summaries = try trainer.run(train: train, test: heldOut, resume: false)
        let after = evaluate(AuxiliaryClassifier(trainer.discriminator), on: heldOut).accuracy

        XCTAssertLessThan(before, 0.25, "the untrained auxiliary head should be near chance")
        XCTAssertGreaterThan(after, 0.55, "accuracy \(before) -> \(after) after \(train.count / config.batchSize) steps")
        XCTAssertEqual(summaries.map(\.epoch), [1])
        XCTAssertEqual(
            summaries.last?.auxiliaryTestAccuracy ?? -1, after, accuracy: 1e-12,
            "the epoch summary reports the held-out accuracy of the trained discriminator")
    }
}
