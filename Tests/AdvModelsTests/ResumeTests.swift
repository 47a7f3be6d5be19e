import AdvData
import AdvModels
import AdvNN
import AdvTensor
import AdvTraining
import XCTest

/// Exact resume: a run interrupted in its second epoch and resumed from the epoch-1 checkpoint
/// ends with the same weights, optimizer state and RNG state as an uninterrupted run.
///
/// Two steps per epoch (small batches: the cost of a step in a debug build is mostly the
/// optimizer's pass over the parameters), interrupted one step into epoch 2. Parallel chunks
/// depend only on the thread count, fixed for the process, so the runs are expected to agree to
/// the last bit; the comparison allows 1e-5.
final class ResumeTests: XCTestCase {
    var folder: URL!

    override func setUpWithError() throws { folder = try TrainingFixtures.scratchFolder() }
    override func tearDownWithError() throws { if let folder { try? FileManager.default.removeItem(at: folder) } }

    func path(_ name: String) -> String { folder.appendingPathComponent(name).path }

    func testACGANResumeMatchesUninterruptedRun() throws {
        var config = ACGANTrainingConfig()
        config.latentSize = 16
        try checkACGANResume(config, discriminatorWeight: "class_head.weight")
    }

    /// The ResNet AC-GAN with its spectral-norm vectors (buffers), two critic steps per generator
    /// step (the interruption falls after a discriminator-only step) and the linear decay.
    func testResNetACGANResumeMatchesUninterruptedRun() throws {
        var config = ACGANTrainingConfig.resnet
        config.latentSize = 16
        config.criticSteps = 2
        try checkACGANResume(config, discriminatorWeight: "source_head.weight_orig")
    }

    /// The same with an averaged generator: the average and its standing statistics resume too.
    func testAveragedGeneratorResumeMatchesUninterruptedRun() throws {
        var config = ACGANTrainingConfig.resnet
        config.latentSize = 16
        config.generatorAverage = 0.9
        try checkACGANResume(config, discriminatorWeight: "source_head.weight_orig")
    }

    func checkACGANResume(_ settings: ACGANTrainingConfig, discriminatorWeight: String) throws {
        let train = TrainingFixtures.randomDataset(count: 32, seed: 1)
        let test = TrainingFixtures.randomDataset(count: 10, seed: 2, split: .test)
        var config = settings
        config.epochs = 2
        config.batchSize = 16
        config.seed = 7
        let stepsPerEpoch = train.count / config.batchSize

        let uninterrupted = ACGANTrainer(config: config, checkpointPath: path("a.safetensors"), samplesDirectory: nil, commandLine: "test")
        uninterrupted.quiet = true
        uninterrupted.standingStatisticsBatches = 2
        XCTAssertEqual(try uninterrupted.run(train: train, test: test, resume: false).count, 2)

        let interrupted = ACGANTrainer(config: config, checkpointPath: path("b.safetensors"), samplesDirectory: nil, commandLine: "test")
        interrupted.quiet = true
        interrupted.standingStatisticsBatches = 2
        interrupted.stepLimit = stepsPerEpoch + 1  // one step into epoch 2, which is never saved
        XCTAssertEqual(try interrupted.run(train: train, test: test, resume: false).count, 1)
        XCTAssertEqual(try Safetensors.read(path: path("b.safetensors")).integerTensor("epoch").signedValues, [1])

        let resumed = ACGANTrainer(config: config, checkpointPath: path("b.safetensors"), samplesDirectory: nil, commandLine: "test")
        resumed.quiet = true
        resumed.standingStatisticsBatches = 2
        XCTAssertEqual(try resumed.run(train: train, test: test, resume: true).map(\.epoch), [2])

        try assertSameCheckpointTensors(path("b.safetensors"), path("a.safetensors"), tolerance: 1e-5)
        for ((name, actual), (_, expected)) in zip(
            resumed.generator.namedState() + resumed.discriminator.namedState()
                + (resumed.averagedGenerator?.namedState() ?? []),
            uninterrupted.generator.namedState() + uninterrupted.discriminator.namedState()
                + (uninterrupted.averagedGenerator?.namedState() ?? []))
        {
            XCTAssertLessThanOrEqual(largestDifference(actual.value.scalars, expected.value.scalars), 1e-5, "in memory: \(name)")
        }
        // Training moved the weights, so the agreement above is not that of two untouched models.
        let untouched = ACGANTrainer(config: config, checkpointPath: path("c.safetensors"), samplesDirectory: nil, commandLine: "test")
        func weights(_ model: any ParameterContainer, _ name: String) throws -> [Float] {
            try XCTUnwrap(model.namedParameters.first { $0.0 == name }?.1.value.scalars, "no parameter \(name)")
        }
        XCTAssertGreaterThan(
            largestDifference(
                try weights(untouched.generator, "project.weight"),
                try weights(uninterrupted.generator, "project.weight")), 0)
        XCTAssertGreaterThan(
            largestDifference(
                try weights(untouched.discriminator, discriminatorWeight),
                try weights(uninterrupted.discriminator, discriminatorWeight)), 0)
    }

    func testClassifierResumeMatchesUninterruptedRun() throws {
        let train = TrainingFixtures.randomDataset(count: 16, seed: 3)
        let test = TrainingFixtures.randomDataset(count: 10, seed: 4, split: .test)
        var config = ClassifierTrainingConfig()
        config.epochs = 2
        config.batchSize = 8
        config.seed = 9
        let stepsPerEpoch = train.count / config.batchSize

        let uninterrupted = ClassifierTrainer(config: config, checkpointPath: path("a.safetensors"), commandLine: "test")
        uninterrupted.quiet = true
        XCTAssertEqual(try uninterrupted.run(train: train, test: test, resume: false).epochsRun, 2)

        let interrupted = ClassifierTrainer(config: config, checkpointPath: path("b.safetensors"), commandLine: "test")
        interrupted.quiet = true
        interrupted.stepLimit = stepsPerEpoch + 1
        _ = try interrupted.run(train: train, test: test, resume: false)
        let epochOne = try Safetensors.read(path: path("b.safetensors"))
        XCTAssertEqual(try epochOne.integerTensor("epoch").signedValues, [1])

        let resumed = ClassifierTrainer(config: config, checkpointPath: path("b.safetensors"), commandLine: "test")
        resumed.quiet = true
        XCTAssertEqual(try resumed.run(train: train, test: test, resume: true).epochsRun, 1)

        try assertSameCheckpointTensors(path("b.safetensors"), path("a.safetensors"), tolerance: 1e-5)
        // The second epoch changed the weights (the comparison is not of two epoch-1 files).
        let final = try Safetensors.read(path: path("a.safetensors"))
        XCTAssertGreaterThan(largestDifference(try final.tensor("fc1.weight").scalars, try epochOne.tensor("fc1.weight").scalars), 0)
    }

    func testTripletResumeMatchesUninterruptedRun() throws {
        let train = TrainingFixtures.randomDataset(count: 40, seed: 5)
        let test = TrainingFixtures.randomDataset(count: 10, seed: 6, split: .test)
        var config = TripletTrainingConfig()
        config.epochs = 2
        config.perClass = 2
        config.dimension = 8
        config.seed = 11
        let stepsPerEpoch = train.count / (10 * config.perClass)

        let uninterrupted = TripletTrainer(config: config, checkpointPath: path("ta.safetensors"), commandLine: "test")
        uninterrupted.quiet = true
        _ = try uninterrupted.run(train: train, test: test, resume: false)

        let interrupted = TripletTrainer(config: config, checkpointPath: path("tb.safetensors"), commandLine: "test")
        interrupted.quiet = true
        interrupted.stepLimit = stepsPerEpoch + 1
        _ = try interrupted.run(train: train, test: test, resume: false)
        let epochOne = try Safetensors.read(path: path("tb.safetensors"))
        XCTAssertEqual(try epochOne.integerTensor("epoch").signedValues, [1])

        let resumed = TripletTrainer(config: config, checkpointPath: path("tb.safetensors"), commandLine: "test")
        resumed.quiet = true
        _ = try resumed.run(train: train, test: test, resume: true)

        try assertSameCheckpointTensors(path("tb.safetensors"), path("ta.safetensors"), tolerance: 1e-5)
        let final = try Safetensors.read(path: path("ta.safetensors"))
        XCTAssertGreaterThan(largestDifference(try final.tensor("fc2.weight").scalars, try epochOne.tensor("fc2.weight").scalars), 0)
    }
}
