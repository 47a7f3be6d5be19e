import AdvData
import AdvTraining
import ArgumentParser
import Foundation

/// `advlab train classifier`: the MNIST-challenge CNN, natural or adversarially trained.
struct TrainClassifierCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "classifier",
        abstract: "Train the MNIST-challenge CNN (conv 5×5×32, pool, conv 5×5×64, pool, FC 1024, 10).",
        discussion: "Adam with a cosine learning-rate schedule; an atomic checkpoint after every epoch; --resume continues exactly (--epochs is the total).")

    @Option(help: "Total number of epochs.") var epochs = 12
    @Option(help: "Mini-batch size.") var batch = 128
    @Option(help: "Peak learning rate of Adam.") var lr: Float = 1e-3
    @OptionGroup var seedOption: SeedOption
    @OptionGroup var dataOptions: DataOptions
    @Option(help: "Checkpoint to write (a CSV log is written beside it).") var out = "checkpoints/classifier-natural.safetensors"
    @Flag(help: "Continue the run stored at --out.") var resume = false

    func validate() throws {
        guard (1...1000).contains(epochs) else { throw ValidationError("--epochs must be in 1…1000, got \(epochs)") }
        guard (1...60_000).contains(batch) else { throw ValidationError("--batch must be in 1…60000, got \(batch)") }
        guard lr > 0, lr <= 1, lr.isFinite else { throw ValidationError("--lr must be in (0, 1], got \(lr)") }
        try validateOutputFile(out, flag: "--out")
    }

    func run() throws {
        let directory = try dataOptions.directory()
        let train = try MNIST.load(split: .train, directory: directory)
        let test = try MNIST.load(split: .test, directory: directory)
        var config = ClassifierTrainingConfig()
        config.epochs = epochs
        config.batchSize = batch
        config.learningRate = lr
        config.seed = seedOption.seed
        let trainer = ClassifierTrainer(config: config, checkpointPath: out, commandLine: commandLineText)
        let summary = try trainer.run(train: train, test: test, resume: resume)
        if !summary.alreadyFinished {
            print("wrote \(out) (seed \(seedOption.seed)): test accuracy \(String(format: "%.4f", summary.testAccuracy)) after \(summary.epochsRun) epochs in \(String(format: "%.0f", summary.seconds)) s")
        }
    }
}
