import AdvModels
import AdvNN
import AdvTensor
import AdvTraining
import Foundation
import XCTest

/// `kill -9` during training (issue 8; Scripts/kill-training is the longer version): each
/// trainer's real `advlab train …` process, on the first few hundred MNIST images, is killed
/// with SIGKILL once in the middle of its first checkpoint write and then at seeded random
/// moments of the resumed runs. After
/// every kill the checkpoint on disk, when there is one, loads completely (model, optimizer and
/// RNG state) and never goes back an epoch; then `--resume` finishes the run, whose tensors must
/// equal an uninterrupted run's to 1e-5, with no temporary file left beside the checkpoint.
final class InterruptedTrainingTests: CLITestCase {
    /// One thread for ours and oneDNN's loops, so that the two runs compute the same sums.
    static let environment = ["ADVLAB_THREADS": "1", "OMP_NUM_THREADS": "1", "OMP_WAIT_POLICY": "passive"]

    func testClassifierSurvivesKillNine() throws {
        try killAndResume(
            ["train", "classifier", "--limit", "64", "--batch", "16", "--epochs", "2", "--seed", "3"],
            kills: 2, seed: 11
        ) { path in
            var rng = SeededGenerator(seed: 0)
            let model = MNISTChallengeCNN(using: &rng)
            return try TrainingCheckpoint.load(
                path: path, kind: ClassifierTrainer.checkpointKind, model: model,
                optimizer: Adam(model.namedParameters)
            ).epoch
        }
    }

    func testACGANSurvivesKillNine() throws {
        try killAndResume(
            ["train", "acgan", "--limit", "128", "--batch", "32", "--latent", "16", "--epochs", "2", "--seed", "3"],
            kills: 2, seed: 12
        ) { path in
            var rng = SeededGenerator(seed: 0)
            let generator = ACGANGenerator(latentSize: 16, using: &rng)
            let discriminator = ACGANDiscriminator(using: &rng)
            return try TrainingCheckpoint.load(
                path: path, kind: ACGANTrainer.checkpointKind,
                models: [("generator", generator), ("discriminator", discriminator)],
                optimizers: [
                    ("generator_optimizer", Adam(generator.namedParameters)),
                    ("discriminator_optimizer", Adam(discriminator.namedParameters)),
                ]
            ).epoch
        }
    }

    func testTripletSurvivesKillNine() throws {
        try killAndResume(
            ["train", "triplet", "--limit", "160", "--per-class", "4", "--dim", "8", "--epochs", "2", "--seed", "3"],
            kills: 2, seed: 13
        ) { path in
            var rng = SeededGenerator(seed: 0)
            let embedding = TripletEmbedding(dimension: 8, using: &rng)
            return try TrainingCheckpoint.load(
                path: path, kind: TripletTrainer.checkpointKind, model: embedding,
                optimizer: Adam(embedding.namedParameters)
            ).epoch
        }
    }

    /// Runs `arguments` once uninterrupted, then `kills` times killed (the first the moment the
    /// first checkpoint's temporary file appears, an event that does not depend on the machine's
    /// speed; the others after a seeded delay within the first half of the uninterrupted run's
    /// duration), checking the checkpoint with `load` (which returns its epoch) after each kill,
    /// and finally resumed to the end and compared with the uninterrupted run.
    func killAndResume(
        _ arguments: [String], kills: Int, seed: UInt64,
        load: (String) throws -> Int, file: StaticString = #filePath, line: UInt = #line
    ) throws {
        let data = try mnistDirectory()
        let reference = work.appendingPathComponent("reference.safetensors").path
        let checkpoint = work.appendingPathComponent("run.safetensors").path
        let base = arguments + ["--data", data]

        let started = Date()
        let uninterrupted = try AdvLabProcess.run(base + ["--out", reference], environment: Self.environment, workingDirectory: work)
        XCTAssertEqual(uninterrupted.status, 0, uninterrupted.standardError, file: file, line: line)
        let duration = Date().timeIntervalSince(started)

        var rng = SeededGenerator(seed: seed)
        var lastEpoch = 0
        var killsDuringWrite = 0
        for kill in 0..<kills {
            let hasCheckpoint = FileManager.default.fileExists(atPath: checkpoint)
            let process = try AdvLabProcess.start(
                base + ["--out", checkpoint] + (hasCheckpoint ? ["--resume"] : []),
                environment: Self.environment, workingDirectory: work)
            if kill == 0 {
                // The moment this process's temporary checkpoint exists, it is writing it.
                let prefix = ".run.safetensors.\(process.processIdentifier)."
                let deadline = Date().addingTimeInterval(3 * duration)
                while process.isRunning, Date() < deadline {
                    let entries = (try? FileManager.default.contentsOfDirectory(atPath: work.path)) ?? []
                    if entries.contains(where: { $0.hasPrefix(prefix) }) {
                        killsDuringWrite += 1
                        break
                    }
                    usleep(500)
                }
            } else {
                usleep(useconds_t(Double.random(in: 0.05...0.5, using: &rng) * duration * 1_000_000))
            }
            if process.isRunning { Foundation.kill(process.processIdentifier, SIGKILL) }
            process.waitUntilExit()

            guard FileManager.default.fileExists(atPath: checkpoint) else {
                XCTAssertEqual(lastEpoch, 0, "kill \(kill): the checkpoint disappeared", file: file, line: line)
                continue
            }
            do {
                let epoch = try load(checkpoint)
                XCTAssertGreaterThanOrEqual(epoch, lastEpoch, "kill \(kill): the checkpoint went back an epoch", file: file, line: line)
                lastEpoch = epoch
            } catch {
                XCTFail("kill \(kill): the checkpoint does not load: \(error)", file: file, line: line)
            }
        }
        XCTAssertGreaterThan(killsDuringWrite, 0, "no kill landed during a checkpoint write", file: file, line: line)

        let hasCheckpoint = FileManager.default.fileExists(atPath: checkpoint)
        let resumed = try AdvLabProcess.run(
            base + ["--out", checkpoint] + (hasCheckpoint ? ["--resume"] : []),
            environment: Self.environment, workingDirectory: work)
        XCTAssertEqual(resumed.status, 0, resumed.standardError, file: file, line: line)
        let finished = try Safetensors.read(path: checkpoint)
        let expected = try Safetensors.read(path: reference)
        XCTAssertEqual(finished.integerTensors, expected.integerTensors, "epoch or RNG state differ", file: file, line: line)
        XCTAssertEqual(finished.names.sorted(), expected.names.sorted(), file: file, line: line)
        for (name, tensor) in expected.tensors {
            let actual = finished.tensors[name]?.scalars ?? []
            XCTAssertEqual(actual.count, tensor.count, name, file: file, line: line)
            let difference = zip(actual, tensor.scalars).map { abs($0 - $1) }.max() ?? 0
            XCTAssertLessThanOrEqual(difference, 1e-5, "tensor \(name) differs from the uninterrupted run", file: file, line: line)
        }
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: work.path).filter { $0.hasSuffix(".tmp") }
        XCTAssertEqual(leftovers, [], "temporary files of killed runs are left", file: file, line: line)
    }
}
