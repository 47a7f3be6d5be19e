import AdvAttacks
import AdvData
import AdvImaging
import AdvModels
import AdvReport
import AdvTensor
import AdvTraining
import ArgumentParser
import Foundation

/// `advlab attack`: a perturbation attack on the first --count test images.
struct AttackCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "attack",
        abstract: "Run FGSM, IGS/BIM, PGD (L∞/L2) or C&W-L2 against a classifier.",
        discussion: "Writes results.csv, adversarial.npy, summary.json and figure.png (original | perturbation | adversarial) to --out; with --eps-grid one subfolder per ε plus curve.json and curve.svg.")

    @Option(help: "Classifier checkpoint to attack.") var model = "checkpoints/classifier-natural.safetensors"
    @Option(help: "fgsm, igs, pgd, cw or embedding-pgd.") var method = "pgd"
    @Option(help: "Triplet embedding checkpoint (embedding-pgd).") var embedding: String?
    @Option(name: .customLong("eps-embedding"), help: "Radius of the embedding-space ball (embedding-pgd).") var epsEmbedding: Float = 0.5
    @Option(help: "linf or l2 (cw is always l2).") var norm = "linf"
    @Option(help: "Radius ε of the perturbation (pixels in [0, 1]).") var eps: Float = 0.3
    @Option(name: .customLong("eps-grid"), help: "Comma-separated ε values: a robust-accuracy curve.") var epsGrid: String?
    @Option(help: "Iterations (igs, pgd; cw: per binary-search step).") var steps: Int?
    @Option(name: .customLong("step-size"), help: "Step size α (igs, pgd).") var stepSize: Float?
    @Option(help: "Random restarts (pgd).") var restarts = 1
    @Option(help: "Targeted attack toward this class (0-9).") var targeted: Int?
    @Option(help: "Number of test images (the first N).") var count = 1000
    @Option(name: .customLong("batch"), help: "Images per batch.") var batchSize = 250
    @OptionGroup var seedOption: SeedOption
    @OptionGroup var dataOptions: DataOptions
    @Option(help: "Output folder (created if missing; its parent must exist).") var out: String
    @OptionGroup var jsonOption: JSONOption

    static let methods = ["fgsm", "igs", "pgd", "cw", "embedding-pgd"]

    func validate() throws {
        try validateInputFile(model, flag: "--model")
        guard Self.methods.contains(method) else { throw ValidationError("--method must be one of \(Self.methods.joined(separator: ", ")), got \(method)") }
        guard PerturbationNorm(rawValue: norm) != nil else { throw ValidationError("--norm must be linf or l2, got \(norm)") }
        for value in try grid() {
            guard value >= 0, value.isFinite else { throw ValidationError("--eps must be ≥ 0, got \(value)") }
            if norm == "linf" && value > 1 { throw ValidationError("--eps for linf must be ≤ 1 (pixels are in [0, 1]), got \(value)") }
            if norm == "l2" && value > 28 { throw ValidationError("--eps for l2 must be ≤ 28 (the diameter of [0, 1]^784), got \(value)") }
        }
        if let steps, !(1...100_000).contains(steps) { throw ValidationError("--steps must be in 1…100000, got \(steps)") }
        if let stepSize, !(stepSize > 0 && stepSize.isFinite) { throw ValidationError("--step-size must be > 0, got \(stepSize)") }
        guard (1...1000).contains(restarts) else { throw ValidationError("--restarts must be in 1…1000, got \(restarts)") }
        if let targeted, !(0...9).contains(targeted) { throw ValidationError("--targeted must be a class in 0…9, got \(targeted)") }
        guard (1...10_000).contains(count) else { throw ValidationError("--count must be in 1…10000, got \(count)") }
        if method == "embedding-pgd" {
            guard let embedding else { throw ValidationError("--embedding PATH is required for --method embedding-pgd") }
            try validateInputFile(embedding, flag: "--embedding")
            guard epsEmbedding > 0, epsEmbedding <= 2 else { throw ValidationError("--eps-embedding must be in (0, 2] (unit-length embeddings), got \(epsEmbedding)") }
        }
        guard (1...10_000).contains(batchSize) else { throw ValidationError("--batch must be in 1…10000, got \(batchSize)") }
        try validateOutputFolder(out, flag: "--out")
    }

    func grid() throws -> [Float] {
        guard let epsGrid else { return [eps] }
        return try epsGrid.split(separator: ",").map {
            guard let value = Float($0.trimmingCharacters(in: .whitespaces)) else { throw ValidationError("--eps-grid: \($0) is not a number") }
            return value
        }
    }

    func run() throws {
        let classifier = try ModelLoading.classifier(path: model)
        let tripletEmbedding = try embedding.map { try ModelLoading.triplet(path: $0) }
        let test = try MNIST.load(split: .test, directory: try dataOptions.directory())
        try createFolder(out)
        let images = test.images.slice(0..<count)
        let labels = Array(test.labels[0..<count])
        let epsValues = try grid()
        var summaries: [AttackSummary] = []
        for value in epsValues {
            let folder = epsGrid == nil ? out : out + "/eps-" + String(format: "%.3f", value)
            try createFolder(folder)
            var rng = SeededGenerator(seed: seedOption.seed)
            let (outcome, settings) = attack(classifier, embedding: tripletEmbedding, images: images, labels: labels, eps: value, using: &rng)
            let summary = AttackSummary(method: method, norm: method == "cw" ? "l2" : method == "embedding-pgd" ? "embedding-l2" : norm,
                                        eps: method == "cw" ? nil : method == "embedding-pgd" ? Double(epsEmbedding) : Double(value),
                                        outcome: outcome, seed: seedOption.seed, settings: settings)
            try writeOutputs(folder: folder, images: images, outcome: outcome, summary: summary)
            summaries.append(summary)
            note(String(format: "%@ %@ ε %.3f: clean %.4f, robust %.4f on %d images", method, norm, value,
                        summary.clean_accuracy, summary.robust_accuracy, summary.count))
        }
        if epsGrid != nil {
            struct Curve: Encodable { var curve: [AttackSummary]; var seed: UInt64; var model: String }
            try AtomicFile.write(try jsonText(Curve(curve: summaries, seed: seedOption.seed, model: model)), to: out + "/curve.json")
            var plot = SVGPlot(title: "\(method) \(norm) robust accuracy vs ε (\(URL(fileURLWithPath: model).lastPathComponent), seed \(seedOption.seed))",
                               xLabel: "ε (\(norm))", yLabel: "robust accuracy")
            plot.addSeries("all classes", x: epsValues.map(Double.init), y: summaries.map(\.robust_accuracy))
            for digit in 0..<10 {
                plot.addSeries("class \(digit)", x: epsValues.map(Double.init), y: summaries.map { $0.per_class_robust_accuracy[digit] }, dashed: true)
            }
            try AtomicFile.write(plot.render(), to: out + "/curve.svg")
            if jsonOption.json {
                struct Output: Encodable { var curve: [AttackSummary] }
                print(try jsonText(Output(curve: summaries)))
            }
        } else if jsonOption.json, let summary = summaries.first {
            print(try jsonText(summary))
        }
        note("wrote \(out) (seed \(seedOption.seed))")
    }

    func attack(_ classifier: ImageClassifier, embedding tripletEmbedding: TripletEmbedding?, images: Tensor, labels: [Int], eps value: Float,
                using rng: inout SeededGenerator) -> (AttackOutcome, [String: Double]) {
        let attackNorm = PerturbationNorm(rawValue: norm) ?? .linf
        let targets = targeted.map { [Int](repeating: $0, count: labels.count) }
        var settings: [String: Double] = [:]
        var config: GradientAttackConfig
        switch method {
        case "fgsm":
            config = .fgsm(norm: attackNorm, eps: value)
        case "igs":
            config = .igs(norm: attackNorm, eps: value, stepSize: stepSize ?? (attackNorm == .linf ? 0.01 : value / 20), steps: steps ?? 40)
        case "embedding-pgd":
            let config = EmbeddingPGDConfig(epsEmbedding: epsEmbedding, stepSize: stepSize ?? 0.01, steps: steps ?? 40)
            settings = ["eps_embedding": Double(epsEmbedding), "step_size": Double(config.stepSize), "steps": Double(config.steps)]
            guard let tripletEmbedding else { return (AttackOutcome(adversarialImages: images, results: []), settings) }
            let outcome = inBatches(count: labels.count, batchSize: batchSize) { range in
                embeddingPGD(model: classifier, embedding: tripletEmbedding, images01: images.slice(range), labels: Array(labels[range]),
                             targets: targets.map { Array($0[range]) }, config: config, indexOffset: range.lowerBound)
            }
            return (outcome, settings)
        case "cw":
            var cw = CarliniWagnerConfig()
            if let steps { cw.iterations = steps }
            settings = ["iterations": Double(cw.iterations), "binary_search_steps": Double(cw.binarySearchSteps),
                        "initial_constant": Double(cw.initialConstant), "learning_rate": Double(cw.learningRate)]
            let outcome = inBatches(count: labels.count, batchSize: batchSize) { range in
                carliniWagnerL2(model: classifier, images01: images.slice(range), labels: Array(labels[range]),
                                targets: targets.map { Array($0[range]) }, config: cw, indexOffset: range.lowerBound)
            }
            return (outcome, settings)
        default:
            config = GradientAttackConfig(norm: attackNorm, eps: value, stepSize: stepSize ?? (attackNorm == .linf ? 0.01 : value / 20),
                                          steps: steps ?? 40, restarts: restarts, randomStart: true)
        }
        settings = ["eps": Double(config.eps), "step_size": Double(config.stepSize), "steps": Double(config.steps),
                    "restarts": Double(config.restarts), "random_start": config.randomStart ? 1 : 0]
        let outcome = inBatches(count: labels.count, batchSize: batchSize) { range in
            gradientAttack(model: classifier, images01: images.slice(range), labels: Array(labels[range]),
                           targets: targets.map { Array($0[range]) }, config: config, using: &rng, indexOffset: range.lowerBound)
        }
        return (outcome, settings)
    }

    func writeOutputs(folder: String, images: Tensor, outcome: AttackOutcome, summary: AttackSummary) throws {
        try AtomicFile.write(AttackFigures.resultsCSV(outcome.results), to: folder + "/results.csv")
        try NPY.write(outcome.adversarialImages, to: folder + "/adversarial.npy")
        try AtomicFile.write(try jsonText(summary), to: folder + "/summary.json")
        let title = "\(method) \(summary.norm)" + (summary.eps.map { String(format: " ε %.3f", $0) } ?? "")
            + String(format: ": robust accuracy %.3f (seed %llu)", summary.robust_accuracy, summary.seed)
        let figure = AttackFigures.perturbationRows(clean: images, adversarial: outcome.adversarialImages, results: outcome.results,
                                                    rows: AttackFigures.figureIndices(outcome.results), title: title)
        try figure.writePNG(to: folder + "/figure.png")
    }
}
