import AdvData
import AdvModels
import AdvNN
import AdvTensor
import Foundation

/// Settings of a triplet-embedding training run (stored in the checkpoint's metadata).
public struct TripletTrainingConfig: Codable, Equatable, Sendable {
    public var epochs: Int = 10
    /// Embedding dimension D.
    public var dimension: Int = 32
    /// Margin α of the triplet loss (squared distances between unit vectors lie in [0, 4]).
    public var margin: Float = 0.2
    /// Images per class per batch (every class is in every batch: 10 × K images).
    public var perClass: Int = 16
    public var learningRate: Float = 1e-3
    public var seed: UInt64 = 0
    /// Only the first N training and test examples (quick runs, the interrupted-training test);
    /// nil uses all. Stored with the settings, so that `--resume` refuses another limit.
    public var exampleLimit: Int?
    public init() {}
}

/// Trains `TripletEmbedding` with semi-hard mining on class-balanced batches; after each epoch
/// the k-NN accuracy (k = 1 and 5, a 10,000-image training subset as memory for speed; the full
/// training set at the end via `advlab eval`) and an atomic checkpoint.
public final class TripletTrainer {
    public static let checkpointKind = "triplet"
    public let config: TripletTrainingConfig
    public let checkpointPath: String
    public let commandLine: String
    public var quiet = false
    public var stepLimit: Int?
    public private(set) var embedding: TripletEmbedding

    public init(config: TripletTrainingConfig, checkpointPath: String, commandLine: String) {
        self.config = config
        self.checkpointPath = checkpointPath
        self.commandLine = commandLine
        var rng = SeededGenerator(seed: config.seed)
        embedding = TripletEmbedding(dimension: config.dimension, using: &rng)
    }

    var logPath: String { TrainingCheckpoint.logPath(for: checkpointPath) }

    @discardableResult
    public func run(train: Dataset, test: Dataset, resume: Bool) throws -> (accuracyK1: Double, accuracyK5: Double) {
        let (train, test) = (train.prefix(config.exampleLimit), test.prefix(config.exampleLimit))
        var rng = SeededGenerator(seed: config.seed &+ 2)
        let optimizer = Adam(embedding.namedParameters, learningRate: config.learningRate)
        let log = CSVLog(path: logPath, columns: ["epoch", "step", "loss", "active_triplets", "knn1_accuracy", "knn5_accuracy", "seconds"])
        var startEpoch = 0
        if resume {
            guard FileManager.default.fileExists(atPath: checkpointPath) else { throw TrainingError.nothingToResume(path: checkpointPath) }
            let state = try TrainingCheckpoint.load(path: checkpointPath, kind: Self.checkpointKind, model: embedding, optimizer: optimizer)
            try checkSameSettings(state.metadata)
            rng = state.rng
            startEpoch = state.epoch
            log.loadExisting { Int($0["epoch"] ?? "") ?? Int.max <= startEpoch }
            if startEpoch >= config.epochs {
                note("\(checkpointPath): already trained for \(startEpoch) of \(config.epochs) epochs; nothing to do")
                return (Double(state.metadata["knn1_accuracy"] ?? "") ?? 0, Double(state.metadata["knn5_accuracy"] ?? "") ?? 0)
            }
        }
        let byClass = train.indicesByClass()
        // Every batch draws K images of every class: a class without images cannot be drawn.
        if let empty = byClass.firstIndex(where: \.isEmpty) {
            throw TrainingError.classWithoutExamples(classIndex: empty, count: train.count)
        }
        let batch = 10 * config.perClass
        let stepsPerEpoch = train.count / batch
        let totalSteps = stepsPerEpoch * config.epochs
        let progress = ProgressReporter(label: "train triplet", total: (config.epochs - startEpoch) * stepsPerEpoch, quiet: quiet)
        let started = Date()
        var accuracies = (0.0, 0.0)
        var done = 0
        for epoch in startEpoch..<config.epochs {
            var lossSum = 0.0
            for index in 0..<stepsPerEpoch {
                if let limit = stepLimit, done >= limit { return accuracies }
                let step = epoch * stepsPerEpoch + index
                // K random images of every class.
                var indices: [Int] = []
                for members in byClass { for _ in 0..<config.perClass { indices.append(members[Int(rng.next() % UInt64(members.count))]) } }
                let labels = indices.map { train.labels[$0] }
                optimizer.learningRate = config.learningRate * Float(0.5 * (1 + cos(Double.pi * Double(step) / Double(max(1, totalSteps)))))
                embedding.zeroGradients()
                let (embeddings, pullback) = embedding.forward(train.images.gather(indices), mode: .trainParametersOnly)
                let (loss, gradient, active) = tripletSemiHardLoss(embeddings: embeddings, labels: labels, margin: config.margin)
                guard loss.isFinite else {
                    throw TrainingError.nonFinite(step: step, epoch: epoch, name: "triplet loss", value: loss, checkpoint: checkpointPath)
                }
                _ = pullback(gradient)
                optimizer.step()
                lossSum += Double(loss)
                done += 1
                progress.update(done, values: ["loss": lossSum / Double(index + 1), "active": Double(active)])
                if index % 50 == 0 {
                    log.append([
                        "epoch": Double(epoch + 1), "step": Double(step + 1), "loss": Double(loss), "active_triplets": Double(active),
                    ])
                }
            }
            accuracies = knnAccuracy(train: train, test: test, memoryCount: 10_000)
            let seconds = Date().timeIntervalSince(started)
            log.append([
                "epoch": Double(epoch + 1), "step": Double((epoch + 1) * stepsPerEpoch), "loss": lossSum / Double(stepsPerEpoch),
                "knn1_accuracy": accuracies.0, "knn5_accuracy": accuracies.1, "seconds": seconds,
            ])
            var metadata: [String: String] = [
                "architecture": TripletEmbedding.architecture, "dimension": String(config.dimension), "epochs": String(config.epochs),
                "seed": String(config.seed), "dataset": train.name, "dataset_sha256": train.datasetHash, "created_by": commandLine,
                "knn1_accuracy_subset_memory": String(format: "%.4f", accuracies.0),
                "knn5_accuracy_subset_memory": String(format: "%.4f", accuracies.1),
            ]
            metadata["hyperparameters"] = TrainingCheckpoint.hyperparametersJSON(config)
            try TrainingCheckpoint.save(
                path: checkpointPath, kind: Self.checkpointKind, model: embedding, optimizer: optimizer,
                rng: rng, epoch: epoch + 1, metadata: metadata)
            try log.flush()
            note(
                String(
                    format: "epoch %d/%d: triplet loss %.4f, k-NN accuracy (10k memory) k=1 %.4f k=5 %.4f, %.0f s; saved %@",
                    epoch + 1, config.epochs, lossSum / Double(stepsPerEpoch), accuracies.0, accuracies.1, seconds, checkpointPath))
        }
        return accuracies
    }

    /// k-NN test accuracy (k = 1, 5) with the first `memoryCount` training images as memory.
    public func knnAccuracy(train: Dataset, test: Dataset, memoryCount: Int) -> (Double, Double) {
        let count = min(memoryCount, train.count)
        let knn = EmbeddingKNN(embedding: embedding, images01: train.images.slice(0..<count), labels: Array(train.labels[0..<count]))
        let predictions = knn.predict(test.images, ks: [1, 5])
        func accuracy(_ k: Int) -> Double {
            Double(zip(predictions[k] ?? [], test.labels).filter { $0 == $1 }.count) / Double(max(1, test.count))
        }
        return (accuracy(1), accuracy(5))
    }

    func checkSameSettings(_ metadata: [String: String]) throws {
        try TrainingCheckpoint.checkSameSettings(
            metadata, requested: config, epochs: \.epochs,
            flags: [
                ("--dim", { String($0.dimension) }), ("--margin", { String($0.margin) }), ("--per-class", { String($0.perClass) }),
                ("--lr", { String($0.learningRate) }), ("--seed", { String($0.seed) }), ("--limit", { limitText($0.exampleLimit) }),
            ], checkpointPath: checkpointPath)
    }
}
