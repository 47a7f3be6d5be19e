import AdvAttacks
import AdvData
import AdvModels
import AdvTensor
import AdvTraining
import ArgumentParser
import Foundation

/// The inner maximisation of adversarial training.
enum AdversarialTraining: String, CaseIterable, ExpressibleByArgument {
    case none, pgd
    case fgsmRS = "fgsm-rs"
}

/// A classifier architecture of `ClassifierArchitectures`, by its short name.
struct ClassifierArchitectureName: ExpressibleByArgument {
    let name: String
    init(name: String) { self.name = name }
    init?(argument: String) {
        guard ClassifierArchitectures.names.contains(argument) else { return nil }
        name = argument
    }
    static var allValueStrings: [String] { ClassifierArchitectures.names }
    var defaultValueDescription: String { name }
}

/// `advlab train classifier`: a classifier of the registry (the MNIST-challenge CNN by default), natural or adversarially trained.
struct TrainClassifierCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "classifier",
        abstract: "Train a classifier: the MNIST-challenge CNN (conv 5×5×32, pool, conv 5×5×64, pool, FC 1024, 10) or the small VGG "
            + "(conv 3×3×32, pool, 3×3×64, pool, 3×3×128, pool, FC 256, 10).",
        discussion:
            "Adam with a cosine learning-rate schedule; an atomic checkpoint after every epoch; --resume continues exactly (--epochs is the total)."
    )

    @Option(help: "Architecture: challenge (Madry et al.'s CNN) or vgg (a small VGG-style net, the validity panel's judge).")
    var arch = ClassifierArchitectureName(name: "challenge")
    @Option(help: "Total number of epochs.") var epochs = 12
    @Option(help: "Mini-batch size.") var batch = 128
    @Option(parsing: .unconditional, help: "Peak learning rate of Adam.") var lr: Float = 1e-3
    @OptionGroup var seedOption: SeedOption
    @OptionGroup var dataOptions: DataOptions
    @Option(help: "Checkpoint to write (a CSV log is written beside it).") var out = "checkpoints/classifier-natural.safetensors"
    @Flag(help: "Continue the run stored at --out.") var resume = false
    @Option(help: "Adversarial training: none, pgd (Madry et al. 2018) or fgsm-rs (Wong et al. 2020).") var adversarial =
        AdversarialTraining.none
    @Option(help: "L∞ radius of adversarial training.") var eps: Float = 0.3
    @Option(name: .customLong("attack-steps"), help: "PGD steps of the inner maximisation (pgd).") var attackSteps = 40
    @Option(name: .customLong("attack-step-size"), help: "Step size of the inner maximisation (default: 0.01 for pgd, 1.25·ε for fgsm-rs).")
    var attackStepSize: Float?
    @Option(name: .customLong("eps-warmup"), help: "Epochs over which ε ramps up linearly from 0.") var epsWarmup = 0
    @Option(help: "Train on the first N training images and evaluate on the first N test images (quick runs; default: all).") var limit:
        Int?

    func validate() throws {
        guard (1...1000).contains(epochs) else { throw ValidationError("--epochs must be in 1…1000, got \(epochs)") }
        guard (1...60_000).contains(batch) else { throw ValidationError("--batch must be in 1…60000, got \(batch)") }
        guard lr > 0, lr <= 1, lr.isFinite else { throw ValidationError("--lr must be in (0, 1], got \(lr)") }
        try validateOutputFile(out, flag: "--out")
        guard eps >= 0, eps <= 1 else { throw ValidationError("--eps must be in [0, 1] (L∞, pixels in [0, 1]), got \(eps)") }
        guard (1...1000).contains(attackSteps) else { throw ValidationError("--attack-steps must be in 1…1000, got \(attackSteps)") }
        if let attackStepSize, !(attackStepSize > 0 && attackStepSize <= 1) {
            throw ValidationError("--attack-step-size must be in (0, 1], got \(attackStepSize)")
        }
        guard (0...epochs).contains(epsWarmup) else { throw ValidationError("--eps-warmup must be in 0…--epochs, got \(epsWarmup)") }
        if let limit, !(batch...60_000).contains(limit) {
            throw ValidationError("--limit must be in \(batch)…60000 (at least one --batch), got \(limit)")
        }
    }

    func run() throws {
        let (train, test) = try dataOptions.loadBoth()
        var config = ClassifierTrainingConfig()
        config.epochs = epochs
        config.batchSize = batch
        config.learningRate = lr
        config.seed = seedOption.seed
        config.adversarial = adversarial.rawValue
        config.epsilonWarmupEpochs = epsWarmup
        config.exampleLimit = limit
        config.architecture = arch.name == "challenge" ? nil : arch.name
        let stepSize = attackStepSize ?? (adversarial == .fgsmRS ? 1.25 * eps : 0.01)
        if adversarial != .none {
            config.adversarialSettings = [
                "eps": Double(eps), "step_size": Double(stepSize),
                "steps": Double(adversarial == .pgd ? attackSteps : 1),
            ]
        }
        try OutputFolders.createPending()
        let trainer = ClassifierTrainer(config: config, checkpointPath: out, commandLine: commandLineText)
        if adversarial != .none {
            let steps = attackSteps
            // The inner maximisation runs on the model being trained (captured after construction).
            trainer.adversarialExamples = { [unowned trainer] images, labels, currentEps, rng in
                guard currentEps > 0, let model = trainer.model else { return images }
                let size = stepSize * currentEps / eps
                if adversarial == .fgsmRS {
                    return fgsmRandomStartTrainingExamples(
                        model: model, images01: images, labels: labels, eps: currentEps,
                        stepSize: size, using: &rng)
                }
                let config = GradientAttackConfig(
                    norm: .linf, eps: currentEps, stepSize: size, steps: steps, restarts: 1, randomStart: true)
                return pgdTrainingExamples(model: model, images01: images, labels: labels, config: config, using: &rng)
            }
        }
        let summary = try trainer.run(train: train, test: test, resume: resume)
        if !summary.alreadyFinished {
            print(
                "wrote \(out) (seed \(seedOption.seed)): test accuracy \(String(format: "%.4f", summary.testAccuracy)) after \(summary.epochsRun) epochs in \(String(format: "%.0f", summary.seconds)) s"
            )
        }
    }
}
