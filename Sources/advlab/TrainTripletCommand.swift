import AdvData
import AdvTraining
import ArgumentParser
import Foundation

/// `advlab train triplet`: the metric-learning embedding the post proposes for measuring ε.
struct TrainTripletCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "triplet",
        abstract: "Train a triplet embedding (Hoffer & Ailon 2015; semi-hard mining, Schroff et al. 2015).",
        discussion:
            "Class-balanced batches (10 classes × --per-class images), L2-normalised embeddings, margin α on squared distances; an atomic checkpoint per epoch; --resume continues (--epochs is the total)."
    )

    @Option(help: "Embedding dimension D.") var dim = 32
    @Option(help: "Margin α of the triplet loss.") var margin: Float = 0.2
    @Option(help: "Total number of epochs.") var epochs = 10
    @Option(name: .customLong("per-class"), help: "Images per class in each batch.") var perClass = 16
    @Option(help: "Peak learning rate of Adam (cosine schedule).") var lr: Float = 1e-3
    @OptionGroup var seedOption: SeedOption
    @OptionGroup var dataOptions: DataOptions
    @Option(help: "Checkpoint to write.") var out = "checkpoints/triplet.safetensors"
    @Flag(help: "Continue the run stored at --out.") var resume = false
    @Option(help: "Train on the first N training images and evaluate on the first N test images (quick runs; default: all).") var limit:
        Int?

    func validate() throws {
        guard (2...1024).contains(dim) else { throw ValidationError("--dim must be in 2…1024, got \(dim)") }
        guard margin > 0, margin <= 4 else {
            throw ValidationError("--margin must be in (0, 4] (squared distances of unit vectors), got \(margin)")
        }
        guard (1...1000).contains(epochs) else { throw ValidationError("--epochs must be in 1…1000, got \(epochs)") }
        guard (2...512).contains(perClass) else { throw ValidationError("--per-class must be in 2…512, got \(perClass)") }
        guard lr > 0, lr <= 1 else { throw ValidationError("--lr must be in (0, 1], got \(lr)") }
        try validateOutputFile(out, flag: "--out")
        if let limit, !((10 * perClass)...60_000).contains(limit) {
            throw ValidationError("--limit must be in \(10 * perClass)…60000 (at least one batch of 10 × --per-class), got \(limit)")
        }
    }

    func run() throws {
        let (train, test) = try dataOptions.loadBoth()
        var config = TripletTrainingConfig()
        config.dimension = dim
        config.margin = margin
        config.epochs = epochs
        config.perClass = perClass
        config.learningRate = lr
        config.seed = seedOption.seed
        config.exampleLimit = limit
        try OutputFolders.createPending()
        let trainer = TripletTrainer(config: config, checkpointPath: out, commandLine: commandLineText)
        let (k1, k5) = try trainer.run(train: train, test: test, resume: resume)
        print(
            String(
                format: "wrote %@ (seed %llu): k-NN accuracy with a 10k memory k=1 %.4f, k=5 %.4f; `advlab eval --model %@` uses all 60k",
                out, seedOption.seed, k1, k5, out))
    }
}
