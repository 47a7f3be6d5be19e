import AdvData
import AdvModels
import AdvNN
import AdvTensor
import XCTest

@testable import AdvTraining

/// `train acgan --average-generator β`: an exponential moving average of the generator's weights
/// with standing BatchNorm statistics, written as the checkpoint's generator, while the training
/// itself stays the run without it.
final class GeneratorAverageTests: XCTestCase {
    /// The n-th cumulative pass weighs its batch 1/n: after passes 1…3 the running statistics are
    /// the plain mean of the three batches' (unbiased variance), whatever they were before.
    func testCumulativeStatisticsAreTheMeanOfTheBatches() {
        let norm = BatchNorm(channels: 2)
        norm.runningMean.value = Tensor(shape: [2], scalars: [1000, -1000])
        norm.runningVariance.value = Tensor(shape: [2], scalars: [1e6, 1e6])
        var rng = SeededGenerator(seed: 4)
        var means: [[Double]] = []
        var variances: [[Double]] = []
        for pass in 1...3 {
            // [3, 2, 2, 2] with a different offset and spread per pass and channel.
            let x = Tensor.randomNormal([3, 2, 2, 2], using: &rng).scalars.enumerated().map { index, value in
                let channel = (index / 4) % 2
                return value * Float(pass + channel) + Float(3 * pass - 5 * channel)
            }
            let batch = Tensor(shape: [3, 2, 2, 2], scalars: x)
            _ = norm.forward(batch, mode: ForwardMode(training: true, parameterGradients: false, cumulativeStatisticsPass: pass))
            var passMeans: [Double] = []
            var passVariances: [Double] = []
            for channel in 0..<2 {
                let values = (0..<3).flatMap { n in (0..<4).map { Double(x[(n * 2 + channel) * 4 + $0]) } }
                let mean = values.reduce(0, +) / Double(values.count)
                passMeans.append(mean)
                passVariances.append(values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(values.count - 1))
            }
            means.append(passMeans)
            variances.append(passVariances)
        }
        for channel in 0..<2 {
            let expectedMean = means.map { $0[channel] }.reduce(0, +) / 3
            let expectedVariance = variances.map { $0[channel] }.reduce(0, +) / 3
            XCTAssertEqual(Double(norm.runningMean.value.scalars[channel]), expectedMean, accuracy: 1e-4, "channel \(channel)")
            XCTAssertEqual(Double(norm.runningVariance.value.scalars[channel]), expectedVariance, accuracy: 1e-3, "channel \(channel)")
        }
        // Without a pass number, the same batch moves the statistics by the momentum only.
        let before = norm.runningMean.value.scalars[0]
        _ = norm.forward(Tensor(repeating: 50, shape: [2, 2, 1, 1]) + Tensor.randomNormal([2, 2, 1, 1], using: &rng), mode: .train)
        XCTAssertEqual(norm.runningMean.value.scalars[0], 0.9 * before + 0.1 * 50, accuracy: 0.3)
    }

    func makeTrainer(average: Float?, seed: UInt64 = 3) -> ACGANTrainer {
        var config = ACGANTrainingConfig.resnet
        config.latentSize = 8
        config.batchSize = 4
        config.seed = seed
        config.generatorAverage = average
        return ACGANTrainer(config: config, checkpointPath: "/dev/null", samplesDirectory: nil, commandLine: "test")
    }

    /// After the t-th generator update the average is d·(previous average) + (1 − d)·(new weights)
    /// with d = min(β, (1 + t)/(10 + t)), starting from the initial weights; and the trained
    /// networks are those of the same run without an average.
    func testTheAverageFollowsItsScheduleAndLeavesTrainingAlone() throws {
        let averaged = makeTrainer(average: 0.2)
        let plain = makeTrainer(average: nil)
        let average = try XCTUnwrap(averaged.averagedGenerator)
        XCTAssertNil(plain.averagedGenerator)
        XCTAssertFalse(average === averaged.generator)
        XCTAssertEqual(average.namedState().map(\.1.value), averaged.generator.namedState().map(\.1.value), "starts at the initial weights")
        var expected = average.namedParameters.map(\.1.value)
        let optimizers = [averaged.makeOptimizers(), plain.makeOptimizers()]
        var rngs = [SeededGenerator(seed: 9), SeededGenerator(seed: 9)]
        var imageRNG = SeededGenerator(seed: 1)
        for step in 0..<3 {
            let images = Tensor.randomUniform([4, 1, 28, 28], using: &imageRNG)
            for (index, trainer) in [averaged, plain].enumerated() {
                _ = try trainer.trainStep(
                    realImages: images, realLabels: [0, 1, 2, 3], realTargets: Tensor(repeating: 1, shape: [4, 1]),
                    generatorOptimizer: optimizers[index].generator, discriminatorOptimizer: optimizers[index].discriminator,
                    using: &rngs[index], step: step)
            }
            let decay = ACGANTrainer.averageDecay(beta: 0.2, generatorUpdates: step + 1)
            XCTAssertEqual(decay, min(0.2, Float(step + 2) / Float(step + 11)))
            expected = zip(expected, averaged.generator.namedParameters.map(\.1.value)).map { $0 * decay + $1 * (1 - decay) }
            for ((name, actual), wanted) in zip(average.namedParameters, expected) {
                XCTAssertLessThanOrEqual(largestDifference(actual.value.scalars, wanted.scalars), 1e-6, "step \(step): \(name)")
            }
            XCTAssertEqual(
                averaged.generator.namedState().map(\.1.value), plain.generator.namedState().map(\.1.value),
                "step \(step): the trained generator differs from the run without an average")
            XCTAssertEqual(averaged.discriminator.namedState().map(\.1.value), plain.discriminator.namedState().map(\.1.value))
        }
        XCTAssertNotEqual(
            average.namedParameters.map(\.1.value), averaged.generator.namedParameters.map(\.1.value),
            "the average lags the trained weights")
        XCTAssertEqual(averaged.samplingGenerator === average, true)
        XCTAssertEqual(plain.samplingGenerator === plain.generator, true)
    }

    /// A trained checkpoint's `generator` (what `advlab sample` and the latent search load) is the
    /// average with its standing statistics, recomputed from scratch; `generator_training` holds
    /// the trained weights.
    func testTheCheckpointHoldsTheAverage() throws {
        let folder = try TrainingFixtures.scratchFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        var config = ACGANTrainingConfig.resnet
        config.latentSize = 8
        config.batchSize = 8
        config.epochs = 1
        config.seed = 5
        config.generatorAverage = 0.5
        let path = folder.appendingPathComponent("gan.safetensors").path
        let trainer = ACGANTrainer(config: config, checkpointPath: path, samplesDirectory: nil, commandLine: "test")
        trainer.quiet = true
        trainer.standingStatisticsBatches = 3
        try trainer.run(
            train: TrainingFixtures.randomDataset(count: 24, seed: 1),
            test: TrainingFixtures.randomDataset(count: 10, seed: 2, split: .test), resume: false)
        let average = try XCTUnwrap(trainer.averagedGenerator)
        let loaded = try ModelLoading.acgan(path: path).generator
        XCTAssertEqual(loaded.namedState().map(\.1.value), average.namedState().map(\.1.value))
        XCTAssertNotEqual(loaded.namedParameters.map(\.1.value), trainer.generator.namedParameters.map(\.1.value))
        let file = try Safetensors.read(path: path)
        for (name, parameter) in trainer.generator.namedState(prefix: "generator_training") {
            XCTAssertEqual(try file.tensor(name), parameter.value, name)
        }
        // The standing statistics replace whatever was there: spoiled first, they come back the same.
        let statistics = average.namedBuffers.map(\.1.value)
        XCTAssertFalse(statistics.isEmpty)
        XCTAssertNotEqual(statistics, trainer.generator.namedBuffers.map(\.1.value), "the trained generator's running statistics")
        for (_, buffer) in average.namedBuffers { buffer.value = Tensor(repeating: 1e6, shape: buffer.value.shape) }
        trainer.refreshStandingStatistics(epoch: 1)
        XCTAssertEqual(average.namedBuffers.map(\.1.value), statistics)
    }
}
