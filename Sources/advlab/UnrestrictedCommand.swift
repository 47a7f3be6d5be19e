import AdvAnalysis
import AdvAttacks
import AdvData
import AdvImaging
import AdvModels
import AdvReport
import AdvTensor
import AdvTraining
import ArgumentParser
import Foundation

/// `advlab unrestricted`: Song et al.'s latent-space search on the AC-GAN.
struct UnrestrictedCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "unrestricted",
        abstract: "Search the AC-GAN's latent space for unrestricted adversarial examples (Song et al. 2018).",
        discussion: "Success = the attacked classifier says the target (untargeted: anything but the source) AND the AC-GAN's "
            + "auxiliary classifier (or the --keeper in its place) still says the source. Valid = a success that every judge of the panel, which the search never "
            + "sees, reads as the source: the triplet 5-NN, each --judge, and --natural when it is not the attacked model. Writes "
            + "pairs.png, records.json, records.csv, judge-set.json (the successes, for advlab judge --from-unrestricted), images.npy and start-images.npy (N×C×H×W float32 in [0, 1], in the order of "
            + "records.csv), summary.json, baseline.json (error of the classifier on plain samples, no search) and, with "
            + "--all-pairs, all-pairs.png and success-matrix.png.")

    @Option(help: "AC-GAN checkpoint.") var generator = "checkpoints/acgan.safetensors"
    @Option(help: "Classifier checkpoint to attack.") var model = "checkpoints/classifier-natural.safetensors"
    @Option(
        help:
            "Triplet embedding whose 5-NN over the training set is a second, independent judge of each example's class (the auxiliary classifier is the search's own)."
    )
    var embedding = "checkpoints/triplet.safetensors"
    @Option(help: "A classifier of the validity panel (repeatable), e.g. checkpoints/judge-robust.safetensors; never the attacked model.")
    var judge: [String] = []
    @Option(help: "The natural classifier: a judge of the panel unless it is the attacked --model (the same file contents).")
    var natural = "checkpoints/classifier-natural.safetensors"
    @Option(
        help:
            "A classifier that takes the AC-GAN auxiliary classifier's place in the objective (λ2 term, best-of-K starts) and the success rule, e.g. a robust one; never the attacked --model or a judge of the panel (default: the auxiliary classifier)."
    )
    var keeper: String?
    @Option(help: "Source class s (0-9).") var source: Int?
    @Option(help: "Target class t (0-9, ≠ source).") var target: Int?
    @Flag(help: "Untargeted: any class but the source.") var untargeted = false
    @Flag(name: .customLong("all-pairs"), help: "Every source/target pair (90 targeted searches).") var allPairs = false
    @Option(help: "Searches per source/target pair.") var count = 5
    @Option(help: "Iterations of the optimizer on z.") var steps = LatentSearchConfig.defaults.steps
    @Option(help: "adam, or langevin: the reference's gradient descent plus annealed Gaussian noise.") var optimizer:
        LatentSearchOptimizer = LatentSearchConfig.defaults.optimizer
    @Option(help: "Learning rate on z (the reference's langevin setting is 1/64 = 0.015625).") var lr: Float = LatentSearchConfig.defaults
        .learningRate
    @Option(name: .customLong("langevin-noise"), help: "σ0 of the langevin noise, annealed as σ0/(1+t)^0.275 (reference: 0.1).")
    var langevinNoise: Float = LatentSearchConfig.defaults.langevinNoise
    @Option(help: "Starts per search: one that fails after --steps restarts from a fresh z0, up to this many times in all.") var attempts =
        LatentSearchConfig.defaults.attempts
    @Option(
        name: .customLong("start-candidates"),
        help:
            "Draw this many z0 per start and keep the one with the lowest objective (f's CE toward the target + λ2·aux CE toward the source); 1 = one random z0, as the reference."
    )
    var startCandidates = LatentSearchConfig.defaults.startCandidates
    @Option(help: "λ1: weight of the ε_z box penalty on z − z0.") var lambda1: Float = LatentSearchConfig.defaults.lambda1
    @Option(help: "λ2: weight of the auxiliary classifier's CE toward the source.") var lambda2: Float = LatentSearchConfig.defaults.lambda2
    @Option(name: .customLong("eps-z"), help: "ε_z: free movement of each latent coordinate.") var epsZ: Float = LatentSearchConfig.defaults
        .epsZ
    @Option(name: .customLong("noise-eps"), help: "ε of the noise-augmented variant G(z,s) + ε·tanh(τ) (0 = off).") var noiseEps: Float =
        LatentSearchConfig.defaults.noiseEps
    @OptionGroup var seedOption: SeedOption
    @OptionGroup var dataOptions: DataOptions
    @Option(help: "Output folder.") var out: String
    @OptionGroup var jsonOption: JSONOption

    func validate() throws {
        try validateInputFile(generator, flag: "--generator")
        try validateInputFile(model, flag: "--model")
        try validateInputFile(embedding, flag: "--embedding")
        try validateInputFile(natural, flag: "--natural")
        for path in judge { try validateInputFile(path, flag: "--judge") }
        let names = judge.map(Self.judgeName)
        if let repeated = names.first(where: { name in names.filter { $0 == name }.count > 1 || name == "triplet-5nn" }) {
            throw ValidationError("--judge: two judges named \(repeated) (a judge is named by its file name without the extension)")
        }
        if FileChecks.enabled, let attacked = FileManager.default.contents(atPath: model),
            let same = judge.first(where: { FileManager.default.contents(atPath: $0) == attacked })
        {
            throw ValidationError("--judge \(same) is the attacked --model: the search must never see a judge")
        }
        if let keeper { try validateKeeper(keeper) }
        let modes = [source != nil && target != nil, source != nil && untargeted, allPairs].filter { $0 }.count
        guard modes == 1 else { throw ValidationError("choose one: --source S --target T, --source S --untargeted, or --all-pairs") }
        if let source, !(0...9).contains(source) { throw ValidationError("--source must be in 0…9, got \(source)") }
        if let target, !(0...9).contains(target) { throw ValidationError("--target must be in 0…9, got \(target)") }
        if let source, let target, source == target { throw ValidationError("--target must differ from --source (\(source))") }
        guard (1...10_000).contains(count) else { throw ValidationError("--count must be in 1…10000, got \(count)") }
        guard (1...100_000).contains(steps) else { throw ValidationError("--steps must be in 1…100000, got \(steps)") }
        guard (1...1000).contains(attempts) else { throw ValidationError("--attempts must be in 1…1000, got \(attempts)") }
        guard (1...4096).contains(startCandidates) else {
            throw ValidationError("--start-candidates must be in 1…4096, got \(startCandidates)")
        }
        guard lr > 0, lr.isFinite else { throw ValidationError("--lr must be > 0, got \(lr)") }
        guard lambda1 >= 0, lambda1.isFinite else { throw ValidationError("--lambda1 must be ≥ 0, got \(lambda1)") }
        guard lambda2 >= 0, lambda2.isFinite else { throw ValidationError("--lambda2 must be ≥ 0, got \(lambda2)") }
        guard langevinNoise >= 0, langevinNoise.isFinite else {
            throw ValidationError("--langevin-noise must be ≥ 0, got \(langevinNoise)")
        }
        guard epsZ >= 0, epsZ.isFinite else { throw ValidationError("--eps-z must be ≥ 0, got \(epsZ)") }
        guard noiseEps >= 0, noiseEps <= 1 else { throw ValidationError("--noise-eps must be in [0, 1], got \(noiseEps)") }
        try validateOutputFolder(out, flag: "--out")
    }

    func run() throws {
        let (generatorModel, discriminator) = try ModelLoading.acgan(path: generator)
        let classifier = try ModelLoading.classifier(path: model)
        let tripletEmbedding = try ModelLoading.triplet(path: embedding)
        let train = try dataOptions.load(.train)
        let judges = try panelJudges()
        let keeperClassifier = try keeper.map { try ModelLoading.classifier(path: $0) }
        if let keeperClassifier, keeperClassifier.classCount != classifier.classCount {
            throw ValidationError(
                "--keeper \(keeper ?? ""): \(keeperClassifier.classCount) classes, the attacked --model has \(classifier.classCount)")
        }
        try createFolder(out)
        var config = LatentSearchConfig()
        config.steps = steps
        config.optimizer = optimizer
        config.learningRate = lr
        config.langevinNoise = langevinNoise
        config.attempts = attempts
        config.startCandidates = startCandidates
        config.lambda1 = lambda1
        config.lambda2 = lambda2
        config.epsZ = epsZ
        config.noiseEps = noiseEps

        // The searches to run: `count` of each pair.
        let classCount = classifier.classCount
        let (sources, targets): ([Int], [Int]?) =
            allPairs
            ? UnrestrictedPlan.allPairs(classCount: classCount, count: count)
            : ([Int](repeating: source ?? 0, count: count), untargeted ? nil : [Int](repeating: target ?? 0, count: count))
        let modelName = URL(fileURLWithPath: model).lastPathComponent
        let keeperName = keeper.map { URL(fileURLWithPath: $0).lastPathComponent }
        let title =
            (allPairs ? "all pairs" : untargeted ? "s=\(source ?? 0) untargeted" : "s=\(source ?? 0) -> t=\(target ?? 0)")
            + " vs " + modelName + (keeperName.map { ", keeper " + $0 } ?? "")
        var plan = UnrestrictedPlan(
            sources: sources, targets: targets, config: config, seed: seedOption.seed, title: title,
            generatorName: generator, modelName: model)
        plan.figures = allPairs ? [.pairs, .allPairs, .successMatrix] : [.pairs]
        let progress = ProgressReporter(label: "unrestricted", total: sources.count)
        let models = UnrestrictedModels(
            generator: generatorModel, discriminator: discriminator, classifier: classifier,
            knn: EmbeddingKNN(embedding: tripletEmbedding, images01: train.images, labels: train.labels), judges: judges, train: train,
            keeper: keeperClassifier.map { (name: keeperName ?? "", classifier: $0) })
        let result = runUnrestricted(plan, models: models) { progress.update($0) }

        let files: [(UnrestrictedFigure, String)] = [
            (.pairs, "pairs.png"), (.allPairs, "all-pairs.png"), (.successMatrix, "success-matrix.png"),
        ]
        for (figure, file) in files {
            try result.figures[figure]?.writePNG(to: out + "/" + file)
        }
        try AtomicFile.write(try jsonText(result.records), to: out + "/records.json")
        try AtomicFile.write(result.recordsCSV, to: out + "/records.csv")
        try NPY.write(result.outcome.images, to: out + "/images.npy")
        try NPY.write(result.outcome.startImages, to: out + "/start-images.npy")
        // The successes for people to judge (advlab judge --from-unrestricted).
        let variant = untargeted ? "untargeted" : noiseEps > 0 ? "noise-augmented" : "targeted"
        let setting = JudgeSettings.unrestricted(
            generator: JudgeSettings.generatorName(generatorModel, discriminator), variant: variant,
            model: URL(fileURLWithPath: model).deletingPathExtension().lastPathComponent)
        try JudgeSet.search(result.outcome, setting: setting, seed: seedOption.seed).write(to: out + "/judge-set.json")

        // The generalization baseline: plain samples, no search.
        let baseline = plainSampleError(generatorModel, classifier: classifier, perClass: 100, seed: seedOption.seed &+ 7)
        try AtomicFile.write(try jsonText(baseline), to: out + "/baseline.json")

        let text = try jsonText(result.summary)
        try AtomicFile.write(text, to: out + "/summary.json")
        if jsonOption.json { print(text) }
        let starts = result.summary.panel_agreement_on_starts.map { String(format: "%.3f", $0) } ?? "n/a"
        note(
            String(
                format: "success rate %.3f over %d searches (keeper: %@), valid %.3f (panel: %@; it accepts %@ of the "
                    + "starting images); wrote %@ (seed %llu)",
                result.summary.success_rate, result.records.count, models.keeperName, result.summary.valid_success_rate,
                result.panel.judges.joined(separator: ", "), starts, out, seedOption.seed))
    }

    /// The keeper must be a file that is none of the attacked model, a --judge, or --natural when
    /// natural judges (compared by contents: the search optimises against its keeper).
    func validateKeeper(_ keeper: String) throws {
        try validateInputFile(keeper, flag: "--keeper")
        guard FileChecks.enabled, let keeperBytes = FileManager.default.contents(atPath: keeper) else { return }
        let contents = { (path: String) in FileManager.default.contents(atPath: path) }
        if contents(model) == keeperBytes {
            throw ValidationError("--keeper \(keeper) is the attacked --model: the search cannot keep the class it attacks")
        }
        if let same = judge.first(where: { contents($0) == keeperBytes }) {
            throw ValidationError("--keeper \(keeper) is the --judge \(same): the search must never see a judge")
        }
        if contents(natural) == keeperBytes {
            throw ValidationError(
                "--keeper \(keeper) is the natural classifier, a judge of the panel (--natural): the search must never see a judge")
        }
    }

    /// A judge's name: its file name without the extension.
    static func judgeName(_ path: String) -> String { URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent }

    /// The panel's classifiers: each --judge, and --natural unless its file is the attacked --model's.
    func panelJudges() throws -> [(name: String, classifier: any ImageClassifier)] {
        var judges = try judge.map { (name: Self.judgeName($0), classifier: try ModelLoading.classifier(path: $0)) }
        let naturalBytes = try Data(contentsOf: URL(fileURLWithPath: natural))
        let others = try ([model] + judge).map { try Data(contentsOf: URL(fileURLWithPath: $0)) }
        if !others.contains(naturalBytes) {
            judges.append((name: "natural", classifier: try ModelLoading.classifier(path: natural)))
        }
        if judge.isEmpty {
            note(
                "no --judge: the panel is the triplet 5-NN" + (judges.isEmpty ? "" : " and the natural classifier")
                    + "; add a robust judge of another architecture, e.g. --judge checkpoints/judge-robust.safetensors")
        }
        return judges
    }
}

extension LatentSearchOptimizer: ExpressibleByArgument {}
