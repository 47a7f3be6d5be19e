import AdvData
import AdvModels
import AdvNN
import AdvTraining
import ArgumentParser
import Foundation

/// `advlab train acgan`: the class-conditional GAN whose latent space is searched later.
struct TrainACGANCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "acgan",
        abstract: "Train the AC-GAN (Odena et al. 2017).",
        discussion: """
            --arch dcgan (default): DCGAN-style networks, non-saturating loss, Adam 2e-4 with β (0.5, 0.999), z of 100. \
            --arch resnet: Song et al.'s ResNet generator with class-conditional BatchNorm and a spectrally normalised \
            ResNet discriminator, hinge loss, Adam 2e-4 with β (0.5, 0.999) decaying linearly to 0, z of 128. Flags override \
            either. After each epoch: a 10×10 grid (row = class) and loss curves in --samples, an atomic checkpoint at \
            --out; --resume continues exactly (--epochs is the total).
            """)

    @Option(help: ArgumentHelp("Generator architecture.", valueName: GeneratorArchitectures.names.joined(separator: "|")))
    var arch = "dcgan"
    @Option(help: "Total number of epochs.") var epochs = 25
    @Option(help: "Mini-batch size.") var batch = 64
    @Option(help: "Dimension of the latent vector z (default: 100 for dcgan, 128 for resnet).") var latent: Int?
    @Option(parsing: .unconditional, help: "Learning rate of the generator's Adam (and the discriminator's unless --d-lr).")
    var lr: Float = 2e-4
    @Option(name: .customLong("d-lr"), parsing: .unconditional, help: "Learning rate of the discriminator's Adam.") var dLR: Float?
    @Option(parsing: .unconditional, help: "Adam's β1.") var beta1: Float?
    @Option(parsing: .unconditional, help: "Adam's β2.") var beta2: Float?
    @Option(help: "Source loss (default: non-saturating for dcgan, hinge for resnet).") var loss: GANLoss?
    @Option(name: .customLong("critic-steps"), help: "Discriminator updates per generator update.") var criticSteps = 1
    @Option(
        name: .customLong("lr-decay"), help: "Learning-rate schedule: none or linear (to 0; default: none for dcgan, linear for resnet).")
    var lrDecay: LearningRateDecay?
    @Option(
        name: .customLong("average-generator"), parsing: .unconditional,
        help: ArgumentHelp(
            "Keep an exponential moving average of the generator's weights with this β (e.g. 0.999; Yazıcı et al. 2019) and write it as the checkpoint's generator, with standing BatchNorm statistics (default: none).",
            valueName: "β"))
    var averageGenerator: Float?
    @Option(
        name: .customLong("class-weight"), parsing: .unconditional,
        help:
            "Weight of the auxiliary classifier's cross-entropy in the generator's loss (Odena et al.: 1); smaller trades class fidelity for spread within each class."
    )
    var classWeight: Float = 1
    @OptionGroup var seedOption: SeedOption
    @OptionGroup var dataOptions: DataOptions
    @Option(help: "Checkpoint to write (a CSV log is written beside it).") var out = "checkpoints/acgan.safetensors"
    @Option(help: "Folder for the per-epoch grids and the loss curves.") var samples: String?
    @Flag(help: "Continue the run stored at --out.") var resume = false
    @Option(help: "Train on the first N training images and evaluate on the first N test images (quick runs; default: all).") var limit:
        Int?
    @Flag(
        name: .customLong("aux-on-fakes"),
        help: "Also train the auxiliary head on generated images (Odena et al.'s original loss; can collude).") var auxOnFakes = false

    func validate() throws {
        guard (1...1000).contains(epochs) else { throw ValidationError("--epochs must be in 1…1000, got \(epochs)") }
        guard (2...4096).contains(batch) else { throw ValidationError("--batch must be in 2…4096, got \(batch)") }
        guard GeneratorArchitectures.constructor(for: arch) != nil else {
            throw ValidationError("--arch must be one of \(GeneratorArchitectures.names.joined(separator: ", ")), got \(arch)")
        }
        if let latent, !(1...4096).contains(latent) { throw ValidationError("--latent must be in 1…4096, got \(latent)") }
        for (flag, value) in [("--lr", Optional(lr)), ("--d-lr", dLR)] {
            if let value, !(value > 0 && value <= 1) { throw ValidationError("\(flag) must be in (0, 1], got \(value)") }
        }
        for (flag, value) in [("--beta1", beta1), ("--beta2", beta2)] {
            if let value, !(value >= 0 && value < 1) { throw ValidationError("\(flag) must be in [0, 1), got \(value)") }
        }
        if let averageGenerator, !(averageGenerator > 0 && averageGenerator < 1) {
            throw ValidationError("--average-generator must be in (0, 1), got \(averageGenerator)")
        }
        guard classWeight >= 0, classWeight <= 100 else { throw ValidationError("--class-weight must be in [0, 100], got \(classWeight)") }
        guard (1...100).contains(criticSteps) else { throw ValidationError("--critic-steps must be in 1…100, got \(criticSteps)") }
        try validateOutputFile(out, flag: "--out")
        if let samples { try validateOutputFile(samples + "/grid.png", flag: "--samples") }
        if let limit, !(batch...60_000).contains(limit) {
            throw ValidationError("--limit must be in \(batch)…60000 (at least one --batch), got \(limit)")
        }
    }

    func run() throws {
        let (train, test) = try dataOptions.loadBoth()
        var config = ACGANTrainingConfig.defaults(architecture: arch)
        config.epochs = epochs
        config.batchSize = batch
        config.latentSize = latent ?? config.latentSize
        config.learningRate = lr
        config.discriminatorLearningRate = dLR
        config.beta1 = beta1 ?? config.beta1
        config.beta2 = beta2 ?? config.beta2
        config.loss = loss ?? config.loss
        config.criticSteps = criticSteps
        config.linearDecay = lrDecay.map { $0 == .linear } ?? config.linearDecay
        config.seed = seedOption.seed
        config.auxiliaryOnFakes = auxOnFakes
        config.exampleLimit = limit
        config.generatorAverage = averageGenerator
        config.generatorClassWeight = classWeight
        try OutputFolders.createPending()
        let trainer = ACGANTrainer(
            config: config, checkpointPath: out, samplesDirectory: samples, commandLine: commandLineText, imageShape: train.shape)
        let summaries = try trainer.run(train: train, test: test, resume: resume)
        if let last = summaries.last {
            print(
                "wrote \(out) (seed \(seedOption.seed)): epoch \(last.epoch), aux test accuracy \(String(format: "%.4f", last.auxiliaryTestAccuracy)), \(String(format: "%.0f", last.seconds)) s"
            )
        }
    }
}

/// `--lr-decay`: the learning-rate schedule of `advlab train acgan`.
enum LearningRateDecay: String, ExpressibleByArgument, CaseIterable {
    case none, linear
}

extension GANLoss: ExpressibleByArgument {}
