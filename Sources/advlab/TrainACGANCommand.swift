import AdvData
import AdvTraining
import ArgumentParser
import Foundation

/// `advlab train acgan`: the class-conditional GAN whose latent space is searched later.
struct TrainACGANCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "acgan",
        abstract: "Train the AC-GAN (Odena et al. 2017) on MNIST.",
        discussion: "Adam 2e-4, β1 0.5, batch 64 by default. After each epoch: a 10×10 grid (row = class) and loss curves in --samples, an atomic checkpoint at --out; --resume continues exactly (--epochs is the total).")

    @Option(help: "Total number of epochs.") var epochs = 25
    @Option(help: "Mini-batch size.") var batch = 64
    @Option(help: "Dimension of the latent vector z.") var latent = 100
    @Option(parsing: .unconditional, help: "Learning rate of both Adam optimizers.") var lr: Float = 2e-4
    @OptionGroup var seedOption: SeedOption
    @OptionGroup var dataOptions: DataOptions
    @Option(help: "Checkpoint to write (a CSV log is written beside it).") var out = "checkpoints/acgan.safetensors"
    @Option(help: "Folder for the per-epoch grids and the loss curves.") var samples: String?
    @Flag(help: "Continue the run stored at --out.") var resume = false
    @Option(help: "Train on the first N training images and evaluate on the first N test images (quick runs; default: all).") var limit: Int?
    @Flag(name: .customLong("aux-on-fakes"), help: "Also train the auxiliary head on generated images (Odena et al.'s original loss; can collude).") var auxOnFakes = false

    func validate() throws {
        guard (1...1000).contains(epochs) else { throw ValidationError("--epochs must be in 1…1000, got \(epochs)") }
        guard (2...4096).contains(batch) else { throw ValidationError("--batch must be in 2…4096, got \(batch)") }
        guard (1...4096).contains(latent) else { throw ValidationError("--latent must be in 1…4096, got \(latent)") }
        guard lr > 0, lr <= 1, lr.isFinite else { throw ValidationError("--lr must be in (0, 1], got \(lr)") }
        try validateOutputFile(out, flag: "--out")
        if let samples { try validateOutputFile(samples + "/grid.png", flag: "--samples") }
        if let limit, !(batch...60_000).contains(limit) {
            throw ValidationError("--limit must be in \(batch)…60000 (at least one --batch), got \(limit)")
        }
    }

    func run() throws {
        let (train, test) = try dataOptions.loadBoth()
        var config = ACGANTrainingConfig()
        config.epochs = epochs
        config.batchSize = batch
        config.latentSize = latent
        config.learningRate = lr
        config.seed = seedOption.seed
        config.auxiliaryOnFakes = auxOnFakes
        config.exampleLimit = limit
        try OutputFolders.createPending()
        let trainer = ACGANTrainer(config: config, checkpointPath: out, samplesDirectory: samples, commandLine: commandLineText)
        let summaries = try trainer.run(train: train, test: test, resume: resume)
        if let last = summaries.last {
            print("wrote \(out) (seed \(seedOption.seed)): epoch \(last.epoch), aux test accuracy \(String(format: "%.4f", last.auxiliaryTestAccuracy)), \(String(format: "%.0f", last.seconds)) s")
        }
    }
}
