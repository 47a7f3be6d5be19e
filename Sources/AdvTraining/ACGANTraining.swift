import AdvData
import AdvImaging
import AdvModels
import AdvNN
import AdvTensor
import Foundation

/// Settings of an AC-GAN training run (stored in the checkpoint's metadata). Defaults follow
/// DCGAN practice (Radford et al. 2016): Adam with learning rate 2e-4 and β1 = 0.5, batch 64.
/// `ACGANTrainingConfig.resnet` gives the ResNet AC-GAN's.
public struct ACGANTrainingConfig: Codable, Equatable, Sendable {
    /// The `GeneratorArchitectures` entry trained ("dcgan", "resnet", "resnet-plain").
    public var architecture: String = "dcgan"
    /// The source loss of both players.
    public var loss: GANLoss = .nonSaturating
    /// Discriminator updates per generator update (each on its own real batch).
    public var criticSteps: Int = 1
    public var beta2: Float = 0.999
    /// The discriminator's learning rate when it differs from the generator's (two time-scale
    /// updates, Heusel et al. 2017).
    public var discriminatorLearningRate: Float?
    /// Both learning rates fall linearly to 0 over the run (Song et al.; Miyato et al.).
    public var linearDecay: Bool = false
    public var epochs: Int = 25
    public var batchSize: Int = 64
    public var latentSize: Int = 100
    public var learningRate: Float = 2e-4
    public var beta1: Float = 0.5
    public var seed: UInt64 = 0
    /// Real-label target of the source loss (1 = none; 0.9 is one-sided label smoothing).
    public var realTarget: Float = 1
    /// Whether the discriminator's class loss also covers generated images (Odena et al.'s
    /// original objective). Off by default: with it, a discriminator that tells fakes from reals
    /// can learn a separate labelling for fakes and collude with the generator (seen here: at
    /// epoch 2 the class-6 row drew 4s and the class-9 row 3s while the head still scored 0.97
    /// on real digits). Trained on real images only, the auxiliary head is a real-digit
    /// classifier, which is also what Song et al.'s success rule needs it to be.
    public var auxiliaryOnFakes: Bool = false
    /// Only the first N training and test examples (quick runs, the interrupted-training test);
    /// nil uses all. Stored with the settings, so that `--resume` refuses another limit.
    public var exampleLimit: Int?
    /// β of an exponential moving average of the generator's weights (Yazıcı et al. 2019,
    /// "The unusual effectiveness of averaging in GAN training"), nil for none. With it, the
    /// checkpoint's `generator` is the average, with standing BatchNorm statistics recomputed
    /// after each epoch, and the weights being trained are kept as `generator_training`; the
    /// training itself (its random stream, both networks' updates) is the run without it.
    public var generatorAverage: Float?
    /// Weight of the auxiliary classifier's cross-entropy in the generator's loss (1 = Odena et
    /// al.'s). The term rewards samples the auxiliary classifier finds easy, so AC-GANs draw
    /// narrower classes than the data (Shu et al. 2017, Gong et al. 2019); a smaller weight trades
    /// class fidelity for spread within each class.
    public var generatorClassWeight: Float = 1
    public init() {}

    /// The ResNet AC-GAN's settings (Song et al. 2018's generator with z of 128, a spectrally
    /// normalised discriminator): hinge loss with one discriminator update per generator update and
    /// Adam 2e-4 with β (0.5, 0.999), setting C of Miyato et al. 2018 (one critic step keeps the
    /// run within two hours on two cores; their n_dis = 5 settings cost five discriminator passes
    /// per generator step), with the linear decay to 0 of Song et al.
    /// The settings an architecture trains with unless flags say otherwise: `resnet` as
    /// `.resnet`; `resnet-plain` (no spectral norm) the same with the non-saturating loss, which
    /// needs no Lipschitz constraint; anything else the DCGAN's.
    public static func defaults(architecture: String) -> ACGANTrainingConfig {
        var config = architecture.hasPrefix("resnet") ? ACGANTrainingConfig.resnet : ACGANTrainingConfig()
        config.architecture = architecture
        if architecture == "resnet-plain" { config.loss = .nonSaturating }
        return config
    }

    public static var resnet: ACGANTrainingConfig {
        var config = ACGANTrainingConfig()
        config.architecture = "resnet"
        config.loss = .hinge
        config.latentSize = 128
        config.linearDecay = true
        return config
    }
}

extension ACGANTrainingConfig {
    /// Settings stored before a field existed read as that field's default (checkpoints written
    /// before the ResNet AC-GAN have no architecture, loss or critic steps in their settings).
    public init(from decoder: Decoder) throws {
        self.init()
        let c = try decoder.container(keyedBy: CodingKeys.self)
        architecture = try c.decodeIfPresent(String.self, forKey: .architecture) ?? architecture
        loss = try c.decodeIfPresent(GANLoss.self, forKey: .loss) ?? loss
        criticSteps = try c.decodeIfPresent(Int.self, forKey: .criticSteps) ?? criticSteps
        beta2 = try c.decodeIfPresent(Float.self, forKey: .beta2) ?? beta2
        discriminatorLearningRate = try c.decodeIfPresent(Float.self, forKey: .discriminatorLearningRate)
        linearDecay = try c.decodeIfPresent(Bool.self, forKey: .linearDecay) ?? linearDecay
        epochs = try c.decode(Int.self, forKey: .epochs)
        batchSize = try c.decode(Int.self, forKey: .batchSize)
        latentSize = try c.decode(Int.self, forKey: .latentSize)
        learningRate = try c.decode(Float.self, forKey: .learningRate)
        beta1 = try c.decode(Float.self, forKey: .beta1)
        seed = try c.decode(UInt64.self, forKey: .seed)
        realTarget = try c.decode(Float.self, forKey: .realTarget)
        auxiliaryOnFakes = try c.decode(Bool.self, forKey: .auxiliaryOnFakes)
        exampleLimit = try c.decodeIfPresent(Int.self, forKey: .exampleLimit)
        generatorAverage = try c.decodeIfPresent(Float.self, forKey: .generatorAverage)
        generatorClassWeight = try c.decodeIfPresent(Float.self, forKey: .generatorClassWeight) ?? generatorClassWeight
    }
}

/// One epoch's summary (also a row of the CSV log).
public struct ACGANEpochSummary: Sendable {
    public var epoch: Int
    public var discriminatorLoss: Double
    public var generatorLoss: Double
    public var auxiliaryTestAccuracy: Double
    public var seconds: Double
}

/// Trains the AC-GAN (Odena et al. 2017), of any `GeneratorArchitectures` entry.
///
/// Each step: the discriminator takes a real batch (with its labels) and a generated batch and
/// minimises the source loss on both (`GANLoss`: BCE real/fake, or the hinge) and `CE(class,
/// label)` on the real batch (and on the generated one with the asked classes when
/// `auxiliaryOnFakes`); then, after every `criticSteps` such updates, the generator, on a fresh
/// batch, minimises its source loss (non-saturating BCE, or −D) + `CE(class, asked)` through the
/// discriminator. After each epoch: a 10×10 grid (row = class,
/// a fixed latent vector per column so grids compare across epochs), the loss curves, the
/// auxiliary head's test accuracy and an atomic checkpoint of both networks, both optimizers,
/// the generator state and the epoch.
public final class ACGANTrainer {
    public static let checkpointKind = "acgan"

    public let config: ACGANTrainingConfig
    public let checkpointPath: String
    public let samplesDirectory: String?
    public let commandLine: String
    public var stepLimit: Int?
    public var quiet = false
    public private(set) var generator: any ConditionalGenerator
    public private(set) var discriminator: any ConditionalDiscriminator
    /// The exponential moving average of `generator`'s weights (`config.generatorAverage`), nil
    /// without one: what the grids show and the checkpoint's `generator` holds.
    public private(set) var averagedGenerator: (any ConditionalGenerator)?
    /// Batches of 100 generated images whose BatchNorm statistics, averaged, become the averaged
    /// generator's running statistics after each epoch (fewer in tests).
    public var standingStatisticsBatches = 20

    /// imageShape: the training set's (`Dataset.shape`); MNIST's by default.
    public init(
        config: ACGANTrainingConfig, checkpointPath: String, samplesDirectory: String?, commandLine: String,
        imageShape: ImageShape = ImageShape(channels: 1, height: 28, width: 28)
    ) {
        self.config = config
        self.checkpointPath = checkpointPath
        self.samplesDirectory = samplesDirectory
        self.commandLine = commandLine
        var rng = SeededGenerator(seed: config.seed)
        guard let make = GeneratorArchitectures.constructor(for: config.architecture) else {
            preconditionFailure("no generator architecture \(config.architecture)")
        }
        let gan = make(.init(latentSize: config.latentSize, imageShape: imageShape), &rng)
        generator = gan.generator
        discriminator = gan.discriminator
        if config.generatorAverage != nil {
            // Another instance of the architecture (its own initialisation is overwritten at once),
            // starting from the trained generator's initial weights.
            var spare = SeededGenerator(seed: config.seed)
            let average = make(.init(latentSize: config.latentSize, imageShape: imageShape), &spare).generator
            for ((_, target), (_, source)) in zip(average.namedState(), generator.namedState()) { target.value = source.value }
            averagedGenerator = average
        }
    }

    /// The generator that samples are drawn from: the average when there is one.
    public var samplingGenerator: any ConditionalGenerator { averagedGenerator ?? generator }

    /// The checkpoint's networks: `generator` is the sampling generator (what `advlab sample`,
    /// the latent search and the report load), `generator_training` the weights being trained
    /// when an average is kept.
    var checkpointModels: [(String, any ParameterContainer)] {
        var models: [(String, any ParameterContainer)] = [("generator", samplingGenerator), ("discriminator", discriminator)]
        if averagedGenerator != nil { models.append(("generator_training", generator)) }
        return models
    }

    /// The weight of the old average after the t-th generator update (t from 1):
    /// min(β, (1 + t)/(10 + t)), so that the first updates, far from where training goes, fade
    /// quickly (the schedule of TensorFlow's ExponentialMovingAverage with num_updates).
    public static func averageDecay(beta: Float, generatorUpdates t: Int) -> Float {
        min(beta, Float(1 + t) / Float(10 + t))
    }

    /// average ← decay·average + (1 − decay)·generator, for every weight (not the BatchNorm
    /// running statistics, which `refreshStandingStatistics` recomputes).
    func updateAverage(generatorUpdates: Int) {
        guard let average = averagedGenerator, let beta = config.generatorAverage else { return }
        let decay = Self.averageDecay(beta: beta, generatorUpdates: generatorUpdates)
        for ((_, target), (_, source)) in zip(average.namedParameters, generator.namedParameters) {
            target.value = target.value * decay + source.value * (1 - decay)
        }
    }

    /// The averaged generator's BatchNorm running statistics: the mean of the batch statistics of
    /// `standingStatisticsBatches` batches of 100 images of random classes, drawn from their own
    /// stream (seed + 3 + epoch), so that the training stream is the one of a run without average.
    func refreshStandingStatistics(epoch: Int) {
        guard let average = averagedGenerator else { return }
        var rng = SeededGenerator(seed: config.seed &+ 3 &+ UInt64(epoch))
        for pass in 1...max(1, standingStatisticsBatches) {
            let classes = (0..<100).map { _ in Int(rng.next() % UInt64(average.classCount)) }
            let z = Tensor.randomNormal([100, config.latentSize], using: &rng)
            _ = average.forward(
                z, classes: classes, mode: ForwardMode(training: true, parameterGradients: false, cumulativeStatisticsPass: pass))
        }
    }

    var logPath: String { TrainingCheckpoint.logPath(for: checkpointPath) }

    /// The fixed latent vectors of the per-epoch grids: one per column, from their own stream
    /// (seed + 1) so drawing them does not disturb the training stream.
    func fixedLatents(columns: Int = 10) -> Tensor {
        var gridRNG = SeededGenerator(seed: config.seed &+ 1)
        return Tensor.randomNormal([columns, config.latentSize], using: &gridRNG)
    }

    /// Trains until `config.epochs` (the total). With `resume`, continues from `checkpointPath`.
    @discardableResult
    public func run(train: Dataset, test: Dataset, resume: Bool) throws -> [ACGANEpochSummary] {
        let (train, test) = (train.prefix(config.exampleLimit), test.prefix(config.exampleLimit))
        var rng = SeededGenerator(seed: config.seed &+ 2)
        let (generatorOptimizer, discriminatorOptimizer) = makeOptimizers()
        let log = CSVLog(
            path: logPath,
            columns: [
                "epoch", "step", "d_loss", "g_loss", "d_real", "d_fake", "aux_real_accuracy",
                "aux_test_accuracy", "seconds",
            ])
        var startEpoch = 0
        if resume {
            guard FileManager.default.fileExists(atPath: checkpointPath) else { throw TrainingError.nothingToResume(path: checkpointPath) }
            let state = try TrainingCheckpoint.load(
                path: checkpointPath, kind: Self.checkpointKind, models: checkpointModels,
                optimizers: [
                    ("generator_optimizer", generatorOptimizer),
                    ("discriminator_optimizer", discriminatorOptimizer),
                ])
            try checkSameSettings(state.metadata)
            rng = state.rng
            startEpoch = state.epoch
            log.loadExisting { Int($0["epoch"] ?? "") ?? Int.max <= startEpoch }
            if startEpoch >= config.epochs {
                note("\(checkpointPath): already trained for \(startEpoch) of \(config.epochs) epochs; nothing to do")
                return []
            }
            note("resuming \(checkpointPath) at epoch \(startEpoch + 1) of \(config.epochs)")
        }

        let batch = config.batchSize
        let stepsPerEpoch = train.count / batch
        let progress = ProgressReporter(label: "train acgan", total: (config.epochs - startEpoch) * stepsPerEpoch, quiet: quiet)
        let started = Date()
        var summaries: [ACGANEpochSummary] = []
        var stepsDone = 0
        let realTargets = Tensor(repeating: config.realTarget, shape: [batch, 1])

        for epoch in startEpoch..<config.epochs {
            var order = Array(0..<train.count)
            order.seededShuffle(using: &rng)
            var dLossSum = 0.0
            var gLossSum = 0.0
            var generatorSteps = 0
            var lastGeneratorLoss: Float = 0
            var auxCorrect = 0
            var seen = 0
            for index in 0..<stepsPerEpoch {
                if let limit = stepLimit, stepsDone >= limit { return summaries }
                let step = epoch * stepsPerEpoch + index
                if config.linearDecay {
                    let remaining = Float(1) - Float(step) / Float(config.epochs * stepsPerEpoch)
                    generatorOptimizer.learningRate = config.learningRate * remaining
                    discriminatorOptimizer.learningRate = (config.discriminatorLearningRate ?? config.learningRate) * remaining
                }
                let indices = Array(order[(index * batch)..<((index + 1) * batch)])
                let realImages = train.images.gather(indices)
                let realLabels = indices.map { train.labels[$0] }

                let result = try trainStep(
                    realImages: realImages, realLabels: realLabels, realTargets: realTargets,
                    generatorOptimizer: generatorOptimizer, discriminatorOptimizer: discriminatorOptimizer,
                    using: &rng, step: step, epoch: epoch)
                let (discriminatorLoss, real, fake) = (result.discriminatorLoss, result.real, result.fake)
                if let loss = result.generatorLoss {
                    gLossSum += Double(loss)
                    generatorSteps += 1
                    lastGeneratorLoss = loss
                }
                let generatorLoss = lastGeneratorLoss
                dLossSum += Double(discriminatorLoss)
                auxCorrect += zip(real.classLogits.argmaxRows(), realLabels).filter { $0 == $1 }.count
                seen += batch
                stepsDone += 1
                progress.update(stepsDone, values: ["d": dLossSum / Double(index + 1), "g": gLossSum / Double(max(1, generatorSteps))])
                if index % 50 == 0 {
                    log.append([
                        "epoch": Double(epoch + 1), "step": Double(step + 1), "d_loss": Double(discriminatorLoss),
                        "g_loss": Double(generatorLoss),
                        "d_real": Double(real.sourceLogits.scalars.map(stableSigmoid).reduce(0, +)) / Double(batch),
                        "d_fake": Double(fake.sourceLogits.scalars.map(stableSigmoid).reduce(0, +)) / Double(batch),
                    ])
                }
            }
            let auxiliaryAccuracy = evaluate(AuxiliaryClassifier(discriminator), on: test).accuracy
            let seconds = Date().timeIntervalSince(started)
            let summary = ACGANEpochSummary(
                epoch: epoch + 1, discriminatorLoss: dLossSum / Double(stepsPerEpoch),
                generatorLoss: gLossSum / Double(max(1, generatorSteps)),
                auxiliaryTestAccuracy: auxiliaryAccuracy, seconds: seconds)
            summaries.append(summary)
            log.append([
                "epoch": Double(epoch + 1), "step": Double((epoch + 1) * stepsPerEpoch),
                "d_loss": summary.discriminatorLoss, "g_loss": summary.generatorLoss,
                "aux_real_accuracy": Double(auxCorrect) / Double(max(1, seen)),
                "aux_test_accuracy": auxiliaryAccuracy, "seconds": seconds,
            ])
            // Before the grid, which draws the averaged generator in evaluation mode.
            refreshStandingStatistics(epoch: epoch + 1)
            if let directory = samplesDirectory {
                try writeGrid(
                    to: directory + "/epoch-\(String(format: "%03d", epoch + 1)).png", epoch: epoch + 1, classNames: train.classNames)
                try writeLossCurves(log, to: directory + "/loss.svg")
            }
            try TrainingCheckpoint.save(
                path: checkpointPath, kind: Self.checkpointKind, models: checkpointModels,
                optimizers: [
                    ("generator_optimizer", generatorOptimizer),
                    ("discriminator_optimizer", discriminatorOptimizer),
                ],
                rng: rng, epoch: epoch + 1,
                metadata: metadata(epoch: epoch + 1, auxiliaryAccuracy: auxiliaryAccuracy, dataset: train))
            try log.flush()
            note(
                "epoch \(epoch + 1)/\(config.epochs): D loss \(String(format: "%.3f", summary.discriminatorLoss)), "
                    + "G loss \(String(format: "%.3f", summary.generatorLoss)), aux test accuracy \(String(format: "%.4f", auxiliaryAccuracy)), "
                    + "\(String(format: "%.0f", seconds)) s; saved \(checkpointPath)")
        }
        return summaries
    }

    /// Logits of one discriminator pass (for logging).
    public struct Judgement {
        public var sourceLogits: Tensor
        public var classLogits: Tensor
    }

    /// Both optimizers, with the run's learning rates and betas.
    public func makeOptimizers() -> (generator: Adam, discriminator: Adam) {
        (
            Adam(generator.namedParameters, learningRate: config.learningRate, beta1: config.beta1, beta2: config.beta2),
            Adam(
                discriminator.namedParameters, learningRate: config.discriminatorLearningRate ?? config.learningRate,
                beta1: config.beta1, beta2: config.beta2)
        )
    }

    /// One AC-GAN step: a discriminator update on a real batch and a generated batch, then, when
    /// `step + 1` is a multiple of `criticSteps`, a generator update on a fresh generated batch
    /// judged by the updated discriminator (its loss is returned; nil for a discriminator-only step).
    /// realImages: [B, 1, 28, 28]; realLabels: B; realTargets: [B, 1] (1, or 0.9 when smoothed)
    public func trainStep(
        realImages: Tensor, realLabels: [Int], realTargets: Tensor, generatorOptimizer: Adam,
        discriminatorOptimizer: Adam, using rng: inout SeededGenerator, step: Int = 0, epoch: Int = 0
    ) throws
        -> (discriminatorLoss: Float, generatorLoss: Float?, real: Judgement, fake: Judgement)
    {
        let batch = realImages.batchCount
        // Discriminator: real batch as real with its labels, generated batch as fake with the asked classes.
        let fakeClasses = (0..<batch).map { _ in Int(rng.next() % 10) }
        let z = Tensor.randomNormal([batch, config.latentSize], using: &rng)
        let fakeImages = generator.forward(z, classes: fakeClasses, mode: ForwardMode(training: true, parameterGradients: false)).0
        discriminator.zeroGradients()
        let real = discriminator.forward(realImages, mode: .trainParametersOnly)
        let (realSourceLoss, dRealSource) =
            config.loss == .nonSaturating
            ? binaryCrossEntropyWithLogits(logits: real.sourceLogits, targets: realTargets)
            : config.loss.discriminatorReal(real.sourceLogits)
        let (realClassLoss, dRealClass) = softmaxCrossEntropy(logits: real.classLogits, labels: realLabels)
        _ = real.pullback(dRealSource, dRealClass)
        let fake = discriminator.forward(fakeImages, mode: .trainParametersOnly)
        let (fakeSourceLoss, dFakeSource) = config.loss.discriminatorFake(fake.sourceLogits)
        var (fakeClassLoss, dFakeClass) = softmaxCrossEntropy(logits: fake.classLogits, labels: fakeClasses)
        if !config.auxiliaryOnFakes {
            fakeClassLoss = 0
            dFakeClass = Tensor.zeros(like: dFakeClass)
        }
        _ = fake.pullback(dFakeSource, dFakeClass)
        let discriminatorLoss = realSourceLoss + realClassLoss + fakeSourceLoss + fakeClassLoss
        guard discriminatorLoss.isFinite else {
            throw TrainingError.nonFinite(
                step: step, epoch: epoch, name: "discriminator loss", value: discriminatorLoss, checkpoint: checkpointPath)
        }
        discriminatorOptimizer.step()
        let judgements = (
            Judgement(sourceLogits: real.sourceLogits, classLogits: real.classLogits),
            Judgement(sourceLogits: fake.sourceLogits, classLogits: fake.classLogits)
        )
        guard (step + 1) % max(1, config.criticSteps) == 0 else { return (discriminatorLoss, nil, judgements.0, judgements.1) }

        // Generator: a fresh batch, judged by the updated discriminator (whose parameters get no gradient).
        let generatorClasses = (0..<batch).map { _ in Int(rng.next() % 10) }
        let z2 = Tensor.randomNormal([batch, config.latentSize], using: &rng)
        generator.zeroGradients()
        let (generated, generatedBack) = generator.forward(z2, classes: generatorClasses, mode: .train)
        let judged = discriminator.forward(generated, mode: ForwardMode(training: true, parameterGradients: false))
        let (sourceLoss, dSource) = config.loss.generator(judged.sourceLogits)
        let (classLoss, dClass) = softmaxCrossEntropy(logits: judged.classLogits, labels: generatorClasses)
        let generatorLoss = sourceLoss + config.generatorClassWeight * classLoss
        guard generatorLoss.isFinite else {
            throw TrainingError.nonFinite(
                step: step, epoch: epoch, name: "generator loss", value: generatorLoss, checkpoint: checkpointPath)
        }
        _ = generatedBack(judged.pullback(dSource, dClass * config.generatorClassWeight))
        generatorOptimizer.step()
        updateAverage(generatorUpdates: (step + 1) / max(1, config.criticSteps))
        return (discriminatorLoss, generatorLoss, judgements.0, judgements.1)
    }

    /// The grid of the fixed latent vectors: one row per class, headed by its name (`classNames`,
    /// the data set's), one column per latent vector (10).
    public func writeGrid(to path: String, epoch: Int, classNames: [String]) throws {
        let latents = fixedLatents()
        let generator = samplingGenerator
        let classes = Array(0..<generator.classCount)
        let images = classes.map { generator.generate(latents, classes: [Int](repeating: $0, count: latents.shape[0])) }
        var grid = ImageGrid.fromImages(Tensor.concatenate(images), columns: latents.shape[0], scale: 2, padding: 2)
        for row in classes { grid.rowHeader(row: row, text: row < classNames.count ? classNames[row] : String(row)) }
        let averaged = config.generatorAverage.map { String(format: ", weights averaged, beta %g", $0) } ?? ""
        grid.title = "AC-GAN (\(config.architecture)\(averaged)) epoch \(epoch) (seed \(config.seed)): one row per class"
        try grid.writePNG(to: path)
    }

    func writeLossCurves(_ log: CSVLog, to path: String) throws {
        var plot = SVGPlot(title: "AC-GAN losses (seed \(config.seed))", xLabel: "step", yLabel: "loss")
        let steps = Dictionary(log.series("step").map { ($0.0, $0.1) }, uniquingKeysWith: { a, _ in a })
        // Per-step rows only (epoch rows carry the test accuracy and epoch means).
        let epochRows = Set(log.series("aux_test_accuracy").map(\.0))
        for column in ["d_loss", "g_loss"] {
            let points = log.series(column).filter { row, _ in !epochRows.contains(row) }
            plot.addSeries(
                column == "d_loss" ? "discriminator" : "generator",
                x: points.map { steps[$0.0] ?? 0 }, y: points.map(\.1))
        }
        try AtomicFile.write(plot.render(), to: path)
    }

    func metadata(epoch: Int, auxiliaryAccuracy: Double, dataset: Dataset) -> [String: String] {
        var result: [String: String] = [
            "architecture": ConditionalGAN(generator: generator, discriminator: discriminator).architecture,
            "latent_size": String(config.latentSize),
            "epochs": String(config.epochs),
            "seed": String(config.seed),
            "dataset": dataset.name,
            "dataset_sha256": dataset.datasetHash,
            "aux_test_accuracy": String(format: "%.4f", auxiliaryAccuracy),
            "created_by": commandLine,
        ]
        result["hyperparameters"] = TrainingCheckpoint.hyperparametersJSON(config)
        return result
    }

    func checkSameSettings(_ metadata: [String: String]) throws {
        try TrainingCheckpoint.checkSameSettings(
            metadata, requested: config, epochs: \.epochs,
            flags: [
                ("--arch", { $0.architecture }), ("--loss", { $0.loss.rawValue }), ("--critic-steps", { String($0.criticSteps) }),
                ("--batch", { String($0.batchSize) }), ("--latent", { String($0.latentSize) }), ("--seed", { String($0.seed) }),
                ("--limit", { limitText($0.exampleLimit) }),
                ("--average-generator", { $0.generatorAverage.map { String($0) } ?? "none" }),
                ("--class-weight", { String($0.generatorClassWeight) }),
            ], checkpointPath: checkpointPath)
    }
}
