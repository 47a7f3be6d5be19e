import AdvData
import AdvModels
import AdvNN
import AdvTensor
import Foundation

/// Settings of a classifier training run (stored in the checkpoint's metadata).
public struct ClassifierTrainingConfig: Codable, Equatable, Sendable {
    public var epochs: Int = 12
    public var batchSize: Int = 128
    /// Peak Adam learning rate; a cosine schedule takes it to 0 at the end of the last epoch.
    public var learningRate: Float = 1e-3
    public var seed: UInt64 = 0
    /// "none" for natural training, else the name of the inner maximisation (e.g. "pgd", "fgsm-rs").
    public var adversarial: String = "none"
    /// Hyperparameters of the inner maximisation (eps, steps, step size …), for the record.
    public var adversarialSettings: [String: Double] = [:]
    /// Epochs over which ε ramps up linearly from 0 (adversarial training only; 0 = no ramp).
    public var epsilonWarmupEpochs: Int = 0
    /// Only the first N training and test examples (quick runs, the interrupted-training test);
    /// nil uses all. Stored with the settings, so that `--resume` refuses another limit.
    public var exampleLimit: Int?
    /// The `ClassifierArchitectures` short name (`--arch`); nil is the challenge CNN, so that the
    /// settings stored by runs from before the registry still compare equal on `--resume`.
    public var architecture: String?

    public init() {}
}

/// The inner maximisation of adversarial training, supplied by the layer above (Attacks):
/// given clean images, labels, the current ε (after warm-up) and the run's generator, it
/// returns the images to train on.
public typealias AdversarialExampleMaker = (
    _ images01: Tensor, _ labels: [Int], _ eps: Float,
    _ rng: inout SeededGenerator
) -> Tensor

/// A summary of a finished (or already finished) run.
public struct ClassifierTrainingSummary: Sendable {
    public var epochsRun: Int
    public var seconds: Double
    public var testAccuracy: Double
    public var alreadyFinished: Bool
}

/// Trains a `ClassifierArchitectures` model (the challenge CNN unless `config.architecture`) with
/// Adam and a cosine learning-rate schedule, one atomic
/// checkpoint per epoch (model, optimizer, RNG state, epoch), exact `--resume`, a CSV log and a
/// NaN/Inf guard.
public final class ClassifierTrainer {
    public static let checkpointKind = "classifier"

    public let config: ClassifierTrainingConfig
    public let checkpointPath: String
    public let logPath: String
    public let commandLine: String
    public var adversarialExamples: AdversarialExampleMaker?
    /// Stop after this many steps (tests of interrupted runs); nil runs to the end.
    public var stepLimit: Int?
    public var quiet = false
    /// The model being trained (set when `run` starts), for the adversarial example maker.
    public private(set) var model: (any ImageClassifier)?
    /// The registry entry of `config.architecture`.
    let entry: (name: String, architecture: String, make: ClassifierArchitectures.Constructor)

    public init(config: ClassifierTrainingConfig, checkpointPath: String, commandLine: String) {
        self.config = config
        self.checkpointPath = checkpointPath
        self.logPath = TrainingCheckpoint.logPath(for: checkpointPath)
        self.commandLine = commandLine
        let name = config.architecture ?? "challenge"
        guard let entry = ClassifierArchitectures.entry(for: name) else {
            preconditionFailure("unknown classifier architecture \(name); known: \(ClassifierArchitectures.names)")
        }
        self.entry = entry
    }

    /// Trains on `train`, evaluating on `test` after each epoch. With `resume`, continues from
    /// the checkpoint at `checkpointPath` (which must have the same settings); a run already at
    /// `config.epochs` returns at once with `alreadyFinished`.
    public func run(train: Dataset, test: Dataset, resume: Bool) throws -> ClassifierTrainingSummary {
        let (train, test) = (train.prefix(config.exampleLimit), test.prefix(config.exampleLimit))
        var rng = SeededGenerator(seed: config.seed)
        let model = entry.make(train.shape, &rng)
        self.model = model
        let optimizer = Adam(model.namedParameters, learningRate: config.learningRate)
        var startEpoch = 0
        let log = CSVLog(
            path: logPath, columns: ["epoch", "step", "loss", "train_accuracy", "learning_rate", "eps", "test_accuracy", "seconds"])

        if resume {
            guard FileManager.default.fileExists(atPath: checkpointPath) else { throw TrainingError.nothingToResume(path: checkpointPath) }
            let state = try TrainingCheckpoint.load(path: checkpointPath, kind: Self.checkpointKind, model: model, optimizer: optimizer)
            try checkSameSettings(state.metadata)
            rng = state.rng
            startEpoch = state.epoch
            log.loadExisting { Int($0["epoch"] ?? "") ?? Int.max <= startEpoch }
            if startEpoch >= config.epochs {
                note("\(checkpointPath): already trained for \(startEpoch) of \(config.epochs) epochs; nothing to do")
                let accuracy = Double(state.metadata["test_accuracy"] ?? "") ?? evaluate(model, on: test).accuracy
                return ClassifierTrainingSummary(epochsRun: 0, seconds: 0, testAccuracy: accuracy, alreadyFinished: true)
            }
            note("resuming \(checkpointPath) at epoch \(startEpoch + 1) of \(config.epochs)")
        }

        let stepsPerEpoch = train.count / config.batchSize  // the last partial batch is dropped
        let totalSteps = stepsPerEpoch * config.epochs
        let progress = ProgressReporter(label: "train classifier", total: totalSteps - startEpoch * stepsPerEpoch, quiet: quiet)
        let started = Date()
        var stepsDone = 0
        var testAccuracy = 0.0

        for epoch in startEpoch..<config.epochs {
            var order = Array(0..<train.count)
            order.seededShuffle(using: &rng)
            var lossSum = 0.0
            var correct = 0
            var seen = 0
            for batch in 0..<stepsPerEpoch {
                let step = epoch * stepsPerEpoch + batch
                if let limit = stepLimit, stepsDone >= limit {
                    return ClassifierTrainingSummary(
                        epochsRun: epoch - startEpoch, seconds: Date().timeIntervalSince(started), testAccuracy: testAccuracy,
                        alreadyFinished: false)
                }
                let indices = Array(order[(batch * config.batchSize)..<((batch + 1) * config.batchSize)])
                let labels = indices.map { train.labels[$0] }
                var images = train.images.gather(indices)
                let eps = currentEpsilon(step: step, stepsPerEpoch: stepsPerEpoch)
                if let makeExamples = adversarialExamples { images = makeExamples(images, labels, eps, &rng) }

                optimizer.learningRate = cosineLearningRate(step: step, totalSteps: totalSteps)
                model.zeroGradients()
                let (logits, pullback) = model.logits(images, mode: .trainParametersOnly)
                let (loss, dLogits) = softmaxCrossEntropy(logits: logits, labels: labels)
                guard loss.isFinite else {
                    throw TrainingError.nonFinite(
                        step: step, epoch: epoch, name: "cross-entropy loss", value: loss, checkpoint: checkpointPath)
                }
                _ = pullback(dLogits)
                optimizer.step()

                lossSum += Double(loss) * Double(labels.count)
                correct += zip(logits.argmaxRows(), labels).filter { $0 == $1 }.count
                seen += labels.count
                stepsDone += 1
                progress.update(stepsDone, values: ["loss": lossSum / Double(seen), "acc": Double(correct) / Double(seen)])
                if batch % 50 == 0 || batch == stepsPerEpoch - 1 {
                    log.append([
                        "epoch": Double(epoch + 1), "step": Double(step + 1), "loss": Double(loss),
                        "learning_rate": Double(optimizer.learningRate), "eps": Double(eps),
                    ])
                }
            }
            testAccuracy = evaluate(model, on: test).accuracy
            let seconds = Date().timeIntervalSince(started)
            log.append([
                "epoch": Double(epoch + 1), "step": Double((epoch + 1) * stepsPerEpoch),
                "loss": lossSum / Double(max(1, seen)), "train_accuracy": Double(correct) / Double(max(1, seen)),
                "test_accuracy": testAccuracy, "seconds": seconds,
            ])
            try TrainingCheckpoint.save(
                path: checkpointPath, kind: Self.checkpointKind, model: model, optimizer: optimizer,
                rng: rng, epoch: epoch + 1,
                metadata: metadata(epoch: epoch + 1, testAccuracy: testAccuracy, dataset: train))
            try log.flush()
            note(
                "epoch \(epoch + 1)/\(config.epochs): train loss \(String(format: "%.4f", lossSum / Double(max(1, seen)))), "
                    + "train accuracy \(String(format: "%.4f", Double(correct) / Double(max(1, seen)))), "
                    + "test accuracy \(String(format: "%.4f", testAccuracy)), \(String(format: "%.0f", seconds)) s; saved \(checkpointPath)"
            )
        }
        return ClassifierTrainingSummary(
            epochsRun: config.epochs - startEpoch, seconds: Date().timeIntervalSince(started),
            testAccuracy: testAccuracy, alreadyFinished: false)
    }

    /// Half-cosine decay from the peak rate to 0 over the run (a function of the global step,
    /// so a resumed run follows the same schedule).
    func cosineLearningRate(step: Int, totalSteps: Int) -> Float {
        let progress = Double(step) / Double(max(1, totalSteps))
        return config.learningRate * Float(0.5 * (1 + cos(Double.pi * progress)))
    }

    /// ε for this step: linear warm-up over `epsilonWarmupEpochs`, then the full ε.
    func currentEpsilon(step: Int, stepsPerEpoch: Int) -> Float {
        let eps = Float(config.adversarialSettings["eps"] ?? 0)
        guard config.epsilonWarmupEpochs > 0 else { return eps }
        let ramp = Double(step) / Double(config.epsilonWarmupEpochs * stepsPerEpoch)
        return eps * Float(min(1, ramp))
    }

    func metadata(epoch: Int, testAccuracy: Double, dataset: Dataset) -> [String: String] {
        var hyper: [String: String] = [:]
        hyper["hyperparameters"] = TrainingCheckpoint.hyperparametersJSON(config)
        return hyper.merging([
            "architecture": entry.architecture,
            "epoch": String(epoch),
            "epochs": String(config.epochs),
            "seed": String(config.seed),
            "dataset": dataset.name,
            "dataset_sha256": dataset.datasetHash,
            "adversarial": config.adversarial,
            "test_accuracy": String(format: "%.4f", testAccuracy),
            "created_by": commandLine,
        ]) { a, _ in a }
    }

    func checkSameSettings(_ metadata: [String: String]) throws {
        try TrainingCheckpoint.checkSameSettings(
            metadata, requested: config, epochs: \.epochs,
            flags: [
                ("--batch", { String($0.batchSize) }), ("--seed", { String($0.seed) }), ("--lr", { String($0.learningRate) }),
                ("--limit", { limitText($0.exampleLimit) }), ("--arch", { $0.architecture ?? "challenge" }),
            ], checkpointPath: checkpointPath)
    }
}

extension JSONEncoder {
    /// An encoder with sorted keys, so stored settings compare and diff cleanly.
    public static var sorted: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return encoder
    }
}
