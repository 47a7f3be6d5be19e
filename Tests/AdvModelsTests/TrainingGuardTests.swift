import AdvData
import AdvModels
import AdvNN
import AdvTensor
import AdvTraining
import XCTest

/// What a trainer refuses: a checkpoint of another kind, and a loss that stops being finite.
/// In both cases the checkpoint on disk stays exactly as it was.
final class TrainingGuardTests: XCTestCase {
    var folder: URL!

    override func setUpWithError() throws { folder = try TrainingFixtures.scratchFolder() }
    override func tearDownWithError() throws { if let folder { try? FileManager.default.removeItem(at: folder) } }

    func path(_ name: String) -> String { folder.appendingPathComponent(name).path }

    func testACGANResumeFromClassifierCheckpointNamesFileAndBothKinds() throws {
        let checkpoint = path("classifier.safetensors")
        var rng = SeededGenerator(seed: 1)
        let classifier = MNISTChallengeCNN(using: &rng)
        try TrainingCheckpoint.save(
            path: checkpoint, kind: ClassifierTrainer.checkpointKind, model: classifier,
            optimizer: Adam(classifier.namedParameters), rng: rng, epoch: 1, metadata: [:])
        let bytes = try Data(contentsOf: URL(fileURLWithPath: checkpoint))

        var config = ACGANTrainingConfig()
        config.epochs = 2
        config.batchSize = 16
        let trainer = ACGANTrainer(config: config, checkpointPath: checkpoint, samplesDirectory: nil, commandLine: "test")
        trainer.quiet = true
        let generatorBefore = trainer.generator.namedState().map(\.1.value)
        XCTAssertThrowsError(
            try trainer.run(
                train: TrainingFixtures.randomDataset(count: 64, seed: 2),
                test: TrainingFixtures.randomDataset(count: 10, seed: 3, split: .test), resume: true)
        ) { error in
            guard let checkpointError = error as? CheckpointError else {
                return XCTFail("expected a CheckpointError, got \(type(of: error)): \(error)")
            }
            XCTAssertEqual(checkpointError.path, checkpoint)
            XCTAssertTrue(checkpointError.message.contains("classifier"), checkpointError.description)
            XCTAssertTrue(checkpointError.message.contains(ACGANTrainer.checkpointKind), checkpointError.description)
            XCTAssertFalse(checkpointError.description.contains("\n"))
        }
        XCTAssertEqual(trainer.generator.namedState().map(\.1.value), generatorBefore, "a refused checkpoint changed the model")
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: checkpoint)), bytes)
    }

    /// Trains epoch 1 on clean data, then resumes on data with one NaN pixel in the example that
    /// the resumed epoch's order puts in its second batch: the run stops at exactly that global
    /// step (0-based), after the first batch of epoch 2 was trained normally.
    func testClassifierStopsAtTheStepOfANaNAndKeepsTheCheckpoint() throws {
        let checkpoint = path("classifier.safetensors")
        let clean = TrainingFixtures.randomDataset(count: 16, seed: 4)
        let test = TrainingFixtures.randomDataset(count: 10, seed: 5, split: .test)
        var config = ClassifierTrainingConfig()
        config.epochs = 2
        config.batchSize = 8
        let stepsPerEpoch = clean.count / config.batchSize
        let first = ClassifierTrainer(config: config, checkpointPath: checkpoint, commandLine: "test")
        first.quiet = true
        first.stepLimit = stepsPerEpoch
        _ = try first.run(train: clean, test: test, resume: false)
        let bytes = try Data(contentsOf: URL(fileURLWithPath: checkpoint))

        let order = try TrainingFixtures.firstEpochOrderAfterResume(checkpoint: checkpoint, count: clean.count)
        let poisoned = TrainingFixtures.poisoned(clean, example: order[1 * config.batchSize + 5])  // batch 1 of epoch 2
        let resumed = ClassifierTrainer(config: config, checkpointPath: checkpoint, commandLine: "test")
        resumed.quiet = true
        XCTAssertThrowsError(try resumed.run(train: poisoned, test: test, resume: true)) { error in
            guard case TrainingError.nonFinite(let step, let epoch, _, let value, let named)? = error as? TrainingError else {
                return XCTFail("expected TrainingError.nonFinite, got \(error)")
            }
            XCTAssertEqual(step, stepsPerEpoch + 1)
            XCTAssertEqual(epoch, 1)
            XCTAssertTrue(value.isNaN)
            XCTAssertEqual(named, checkpoint)
            XCTAssertTrue("\(error)".contains("step \(stepsPerEpoch + 1) (epoch 2)"), "\(error)")
        }
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: checkpoint)), bytes, "the last good checkpoint changed")
    }

    func testACGANStopsAtTheStepOfANaNAndKeepsTheCheckpoint() throws {
        let checkpoint = path("acgan.safetensors")
        let clean = TrainingFixtures.randomDataset(count: 32, seed: 6)
        let test = TrainingFixtures.randomDataset(count: 10, seed: 7, split: .test)
        var config = ACGANTrainingConfig()
        config.epochs = 2
        config.batchSize = 16
        config.latentSize = 16
        let stepsPerEpoch = clean.count / config.batchSize
        let first = ACGANTrainer(config: config, checkpointPath: checkpoint, samplesDirectory: nil, commandLine: "test")
        first.quiet = true
        first.stepLimit = stepsPerEpoch
        _ = try first.run(train: clean, test: test, resume: false)
        let bytes = try Data(contentsOf: URL(fileURLWithPath: checkpoint))

        let order = try TrainingFixtures.firstEpochOrderAfterResume(checkpoint: checkpoint, count: clean.count)
        let poisoned = TrainingFixtures.poisoned(clean, example: order[1 * config.batchSize + 7])  // batch 1 of epoch 2
        let resumed = ACGANTrainer(config: config, checkpointPath: checkpoint, samplesDirectory: nil, commandLine: "test")
        resumed.quiet = true
        XCTAssertThrowsError(try resumed.run(train: poisoned, test: test, resume: true)) { error in
            guard case TrainingError.nonFinite(let step, let epoch, let name, let value, let named)? = error as? TrainingError else {
                return XCTFail("expected TrainingError.nonFinite, got \(error)")
            }
            XCTAssertEqual(step, stepsPerEpoch + 1)
            XCTAssertEqual(epoch, 1)
            XCTAssertEqual(name, "discriminator loss")
            XCTAssertTrue(value.isNaN)
            XCTAssertEqual(named, checkpoint)
        }
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: checkpoint)), bytes, "the last good checkpoint changed")
    }
}
