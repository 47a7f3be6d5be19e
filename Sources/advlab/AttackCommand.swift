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

/// `advlab attack`: a perturbation attack on the first --count test images.
struct AttackCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "attack",
        abstract: "Run FGSM, IGS/BIM, PGD (L∞/L2), C&W-L2, AutoAttack, embedding PGD or invariance examples against a classifier.",
        discussion: """
            Writes results.csv, adversarial.npy, summary.json and figure.png (original | perturbation | adversarial) to --out; with --eps-grid one subfolder per ε plus curve.json and curve.svg.
            --method autoattack (Croce & Hein 2020): --version standard runs APGD-CE, APGD-T, FAB-T and Square, fast runs APGD-CE and APGD-T, each only on the examples still robust; apgd-ce, apgd-t, fab-t and square run one of them alone. summary.json adds "stages" (name, robust_accuracy, seconds, cpu_seconds, attacked, robust).
            --method invariance (Tramèr et al. 2020): each test image moves toward the nearest training image of another class (L2, over shifts within ±--shifts pixels) within L∞ ε; the triplet embedding's 5-NN (--embedding, train set as memory), --model and --reference-model say whether the class changed. summary.json's "invariance" block gives the shares overall and per class; results.csv adds the nearest image and every judge's class; targets.npy holds the shifted nearest images.
            """)

    @Option(help: "Classifier checkpoint to attack.") var model = "checkpoints/classifier-natural.safetensors"
    @Option(help: "The attack.") var method = AttackMethod.pgd
    @Option(help: "AutoAttack's version: standard (APGD-CE, APGD-T, FAB-T, Square) or fast (APGD-CE, APGD-T).")
    var version = AutoAttackVersion.standard
    @Option(help: "Square Attack queries (square, autoattack standard; default 5000).") var queries: Int?
    @Option(help: "Triplet embedding checkpoint (embedding-pgd).") var embedding: String?
    @Option(name: .customLong("eps-embedding"), help: "Radius of the embedding-space ball (embedding-pgd).") var epsEmbedding: Float = 0.5
    @Option(
        name: .customLong("reference-model"),
        help: "A second classifier asked about invariance examples (e.g. an adversarially trained one).")
    var referenceModel: String?
    @Option(help: "Invariance: shift the nearest other-class image by up to this many pixels (0-4) when searching.") var shifts = 0
    @Option(help: "The perturbation's norm (cw is always l2).") var norm = PerturbationNorm.linf
    @Option(help: "Radius ε of the perturbation (pixels in [0, 1]).") var eps: Float = 0.3
    @Option(name: .customLong("eps-grid"), help: "Comma-separated ε values: a robust-accuracy curve.") var epsGrid: String?
    @Option(help: "Iterations (igs, pgd: default 40; apgd-ce, apgd-t, fab-t, autoattack: default 100; cw: per binary-search step).")
    var steps: Int?
    @Option(name: .customLong("step-size"), help: "Step size α (igs, pgd: default 2.5·ε/steps, Madry et al. 2018; embedding-pgd: 0.01).")
    var stepSize: Float?
    @Option(help: "Random restarts (pgd, apgd-ce, apgd-t).") var restarts = 1
    @Option(
        name: .customLong("candidate-classes"),
        help: "Untargeted cw: classes searched toward (1 = plain C&W; more find smaller perturbations).")
    var candidateClasses = CarliniWagnerConfig().candidateClasses
    @Option(help: "Targeted attack toward this class (0-9).") var targeted: Int?
    @Option(help: "Number of test images (the first N).") var count = 1000
    @Option(
        name: .customLong("batch"),
        help: ArgumentHelp(
            "Images per batch (default 250; autoattack and its stages: \(AutoAttackConfig.batchSize), spread evenly over the cores).")
    ) var batch: Int?
    @Option(
        help: ArgumentHelp(
            "Run in chunks of this many images, each kept under OUT/chunks/ as it finishes; the same command run again skips the finished chunks and pools them (a long evaluation across sessions).",
            valueName: "N")) var chunk: Int?
    @OptionGroup var seedOption: SeedOption
    @OptionGroup var dataOptions: DataOptions
    @Option(help: "Output folder (created if missing; its parent must exist).") var out: String
    @OptionGroup var jsonOption: JSONOption

    func validate() throws {
        try validateInputFile(model, flag: "--model")
        for value in try grid() {
            guard value >= 0, value.isFinite else { throw ValidationError("--eps must be ≥ 0, got \(value)") }
            if norm == .linf && value > 1 { throw ValidationError("--eps for linf must be ≤ 1 (pixels are in [0, 1]), got \(value)") }
            if norm == .l2 && value > 28 { throw ValidationError("--eps for l2 must be ≤ 28 (the diameter of [0, 1]^784), got \(value)") }
        }
        if let steps, !(1...100_000).contains(steps) { throw ValidationError("--steps must be in 1…100000, got \(steps)") }
        if let stepSize, !(stepSize > 0 && stepSize.isFinite) { throw ValidationError("--step-size must be > 0, got \(stepSize)") }
        guard (1...1000).contains(restarts) else { throw ValidationError("--restarts must be in 1…1000, got \(restarts)") }
        guard (1...9).contains(candidateClasses) else {
            throw ValidationError("--candidate-classes must be in 1…9, got \(candidateClasses)")
        }
        if version != .standard && method != .autoattack { throw ValidationError("--version applies to --method autoattack only") }
        if let queries, !(1...100_000).contains(queries) { throw ValidationError("--queries must be in 1…100000, got \(queries)") }
        if stagedMethods != nil && targeted != nil {
            throw ValidationError("--targeted does not apply to --method \(method.rawValue) (AutoAttack counts any misclassification)")
        }
        if let targeted, !(0...9).contains(targeted) { throw ValidationError("--targeted must be a class in 0…9, got \(targeted)") }
        guard (1...10_000).contains(count) else { throw ValidationError("--count must be in 1…10000, got \(count)") }
        if method == .embeddingPGD {
            guard let embedding else { throw ValidationError("--embedding PATH is required for --method embedding-pgd") }
            try validateInputFile(embedding, flag: "--embedding")
            guard epsEmbedding > 0, epsEmbedding <= 2 else {
                throw ValidationError("--eps-embedding must be in (0, 2] (unit-length embeddings), got \(epsEmbedding)")
            }
        }
        if method == .invariance {
            guard norm == .linf else {
                throw ValidationError("--norm must be linf for --method invariance (each pixel moves at most ε), got \(norm)")
            }
            guard embedding != nil else {
                throw ValidationError("--embedding PATH is required for --method invariance (its k-NN is the oracle proxy)")
            }
            guard (0...4).contains(shifts) else { throw ValidationError("--shifts must be in 0…4 pixels, got \(shifts)") }
            guard targeted == nil else {
                throw ValidationError("--targeted does not apply to --method invariance (the target is the nearest other-class image)")
            }
            if let embedding { try validateInputFile(embedding, flag: "--embedding") }
            if let referenceModel { try validateInputFile(referenceModel, flag: "--reference-model") }
        } else {
            if shifts != 0 { throw ValidationError("--shifts applies to --method invariance only") }
            if referenceModel != nil { throw ValidationError("--reference-model applies to --method invariance only") }
        }
        if let batch, !(1...10_000).contains(batch) { throw ValidationError("--batch must be in 1…10000, got \(batch)") }
        if let chunk {
            guard (1...10_000).contains(chunk) else { throw ValidationError("--chunk must be in 1…10000, got \(chunk)") }
            if epsGrid != nil { throw ValidationError("--chunk runs one ε: it does not apply with --eps-grid") }
            if method == .invariance { throw ValidationError("--chunk does not apply to --method invariance") }
        }
        try validateOutputFolder(out, flag: "--out")
    }

    func grid() throws -> [Float] {
        guard let epsGrid else { return [eps] }
        return try epsGrid.split(separator: ",").map {
            guard let value = Float($0.trimmingCharacters(in: .whitespaces)) else {
                throw ValidationError("--eps-grid: \($0) is not a number")
            }
            return value
        }
    }

    func run() throws {
        if method == .invariance { return try runInvariance() }
        if let chunk { return try runChunked(chunkSize: chunk) }
        let classifier = try ModelLoading.classifier(path: model)
        let tripletEmbedding = try embedding.map { try ModelLoading.triplet(path: $0) }
        let test = try dataOptions.load(.test)
        try createFolder(out)
        let images = test.images.slice(0..<count)
        let labels = Array(test.labels[0..<count])
        let epsValues = try grid()
        var summaries: [AttackSummary] = []
        for value in epsValues {
            let folder = epsGrid == nil ? out : out + "/eps-" + String(format: "%.3f", value)
            try createFolder(folder)
            var rng = SeededGenerator(seed: seedOption.seed)
            let (outcome, settings, stages) = attack(
                classifier, embedding: tripletEmbedding, images: images, labels: labels, eps: value,
                using: &rng)
            var summary = AttackSummary(
                method: method.rawValue, norm: method.measuredNorm(requested: norm),
                eps: summaryEps(value),
                outcome: outcome, seed: seedOption.seed, settings: settings)
            summary.stages = stages
            try writeOutputs(folder: folder, images: images, outcome: outcome, summary: summary)
            summaries.append(summary)
            note(
                String(
                    format: "%@ %@ ε %.3f: clean %.4f, robust %.4f on %d images", method.rawValue, norm.rawValue, value,
                    summary.clean_accuracy, summary.robust_accuracy, summary.count))
        }
        if epsGrid != nil {
            try AtomicFile.write(try jsonText(AttackCurve(curve: summaries, seed: seedOption.seed, model: model)), to: out + "/curve.json")
            let plot = CurveFigures.robustAccuracy(
                summaries, eps: epsValues.map(Double.init), method: method.rawValue, norm: norm.rawValue,
                model: URL(fileURLWithPath: model).lastPathComponent, seed: seedOption.seed,
                classNames: (0..<test.classCount).map { "class \($0)" })
            try AtomicFile.write(plot.render(), to: out + "/curve.svg")
        }
        try finish(summaries)
    }

    func attack(
        _ classifier: ImageClassifier, embedding tripletEmbedding: TripletEmbedding?, images: Tensor, labels: [Int], eps value: Float,
        using rng: inout SeededGenerator, indexOffset: Int = 0
    ) -> (AttackOutcome, [String: Double], [AttackStage]?) {
        if let stagedMethods {
            // The same rule as the report's AutoAttack rows (`AutoAttackConfig.named`).
            let config = AutoAttackConfig.named(norm: norm, eps: value, iterations: steps, restarts: restarts, queries: queries)
            let staged = runAttackStages(
                stagedMethods, model: classifier, images01: images, labels: labels, config: config,
                batchSize: batchSize, using: &rng, indexOffset: indexOffset)
            let settings = config.summarySettings
            return (staged.outcome, settings, staged.stages)
        }
        let targets = targeted.map { [Int](repeating: $0, count: labels.count) }
        var settings: [String: Double] = [:]
        switch method {
        case .embeddingPGD:
            let config = EmbeddingPGDConfig(epsEmbedding: epsEmbedding, stepSize: stepSize ?? 0.01, steps: steps ?? 40)
            settings = ["eps_embedding": Double(epsEmbedding), "step_size": Double(config.stepSize), "steps": Double(config.steps)]
            guard let tripletEmbedding else { return (AttackOutcome(adversarialImages: images, results: []), settings, nil) }
            let outcome = inBatches(count: labels.count, batchSize: batchSize) { range in
                embeddingPGD(
                    model: classifier, embedding: tripletEmbedding, images01: images.slice(range), labels: Array(labels[range]),
                    targets: targets.map { Array($0[range]) }, config: config, indexOffset: indexOffset + range.lowerBound)
            }
            return (outcome, settings, nil)
        case .cw:
            var cw = CarliniWagnerConfig()
            if let steps { cw.iterations = steps }
            cw.candidateClasses = candidateClasses
            settings = [
                "candidate_classes": Double(cw.candidateClasses), "iterations": Double(cw.iterations),
                "binary_search_steps": Double(cw.binarySearchSteps),
                "initial_constant": Double(cw.initialConstant), "learning_rate": Double(cw.learningRate),
            ]
            let outcome = inBatches(count: labels.count, batchSize: batchSize) { range in
                carliniWagnerL2(
                    model: classifier, images01: images.slice(range), labels: Array(labels[range]),
                    targets: targets.map { Array($0[range]) }, config: cw, indexOffset: indexOffset + range.lowerBound)
            }
            return (outcome, settings, nil)
        case .fgsm, .igs, .pgd, .invariance, .apgdCE, .apgdT, .fabT, .square, .autoattack:
            break
        }
        // The same rule as the report's (`GradientAttackConfig.named`).
        guard let config = GradientAttackConfig.named(method, norm: norm, eps: value, steps: steps, stepSize: stepSize, restarts: restarts)
        else {
            preconditionFailure("\(method.rawValue) is not a gradient attack")
        }
        settings = [
            "eps": Double(config.eps), "step_size": Double(config.stepSize), "steps": Double(config.steps),
            "restarts": Double(config.restarts), "random_start": config.randomStart ? 1 : 0,
        ]
        let outcome = inBatches(count: labels.count, batchSize: batchSize) { range in
            gradientAttack(
                model: classifier, images01: images.slice(range), labels: Array(labels[range]),
                targets: targets.map { Array($0[range]) }, config: config, using: &rng, indexOffset: indexOffset + range.lowerBound)
        }
        return (outcome, settings, nil)
    }

    /// The radius `summary.json` names: none for C&W (unbounded), the embedding ball's for
    /// embedding-pgd, else the perturbation's ε.
    func summaryEps(_ value: Float) -> Double? {
        method == .cw ? nil : method == .embeddingPGD ? Double(epsEmbedding) : Double(value)
    }

    /// The AutoAttack stages `--method` runs (nil for the other attacks).
    var stagedMethods: [AutoAttackStageMethod]? { method.autoAttackStages(version: version) }

    /// Images per batch: `--batch`, else AutoAttack's batch for its stages and 250 for the rest.
    var batchSize: Int { batch ?? (stagedMethods == nil ? 250 : AutoAttackConfig.batchSize) }

    func writeOutputs(folder: String, images: Tensor, outcome: AttackOutcome, summary: AttackSummary) throws {
        try AtomicFile.write(AttackFigures.resultsCSV(outcome.results), to: folder + "/results.csv")
        try NPY.write(outcome.adversarialImages, to: folder + "/adversarial.npy")
        try AtomicFile.write(try jsonText(summary), to: folder + "/summary.json")
        let title =
            "\(method.rawValue) \(summary.norm)" + (summary.eps.map { String(format: " ε %.3f", $0) } ?? "")
            + String(format: ": robust accuracy %.3f (seed %llu)", summary.robust_accuracy, summary.seed)
        let figure = AttackFigures.perturbationRows(
            clean: images, adversarial: outcome.adversarialImages, results: outcome.results,
            rows: AttackFigures.figureIndices(outcome.results), title: title)
        try figure.writePNG(to: folder + "/figure.png")
    }
}

extension AttackCommand {
    /// `--method invariance`: one nearest-other-class search, then every ε of the grid.
    func runInvariance() throws {
        let classifier = try ModelLoading.classifier(path: model)
        let reference = try referenceModel.map { try ModelLoading.classifier(path: $0) }
        guard let embedding else { throw ValidationError("--embedding PATH is required for --method invariance") }
        let tripletEmbedding = try ModelLoading.triplet(path: embedding)
        let (train, test) = try dataOptions.loadBoth()
        try createFolder(out)
        let images = test.images.slice(0..<count)
        let labels = Array(test.labels[0..<count])
        note("invariance: nearest other-class training image of \(count) test images over \((2 * shifts + 1) * (2 * shifts + 1)) shifts")
        let targets = InvarianceTargets(
            images01: images, labels: labels, memory01: train.images, memoryLabels: train.labels, maxShift: shifts)
        let knn = EmbeddingKNN(embedding: tripletEmbedding, images01: train.images, labels: train.labels)
        let judges = InvarianceJudges(model: classifier, knn: knn, k: 5, reference: reference, clean: images)
        let epsValues = try grid()
        var summaries: [AttackSummary] = []
        for value in epsValues {
            let folder = epsGrid == nil ? out : out + "/eps-" + String(format: "%.3f", value)
            try createFolder(folder)
            let (outcome, records) = invarianceExamples(images01: images, labels: labels, targets: targets, eps: value, judges: judges)
            var summary = AttackSummary(
                method: method.rawValue, norm: "linf", eps: Double(value), outcome: outcome, seed: seedOption.seed,
                settings: ["eps": Double(value), "max_shift": Double(shifts), "knn_k": 5])
            summary.invariance = InvarianceReport(records: records, eps: value, maxShift: shifts, knnK: 5)
            try AtomicFile.write(InvarianceFigures.resultsCSV(outcome.results, records: records), to: folder + "/results.csv")
            try NPY.write(outcome.adversarialImages, to: folder + "/adversarial.npy")
            try NPY.write(targets.images01, to: folder + "/targets.npy")
            try AtomicFile.write(try jsonText(summary), to: folder + "/summary.json")
            let shares = summary.invariance?.overall
            let title = String(
                format: "invariance L∞ ε %.3f: k-NN changed %.3f, model still source %.3f (seed %llu)", value,
                shares?.knn_changed_to_target ?? 0, shares?.model_still_source ?? 0, seedOption.seed)
            try InvarianceFigures.rows(
                clean: images, targets: targets.images01, adversarial: outcome.adversarialImages, records: records,
                rows: AttackFigures.figureIndices(outcome.results), title: title
            ).writePNG(to: folder + "/figure.png")
            summaries.append(summary)
            note(
                String(
                    format:
                        "invariance ε %.3f: k-NN changed to target %.4f, model still source %.4f, model invariant where k-NN changed %.4f",
                    value, shares?.knn_changed_to_target ?? 0, shares?.model_still_source ?? 0,
                    shares?.model_invariant_where_knn_changed ?? 0)
                    + (shares?.reference_still_source.map { String(format: ", reference still source %.4f", $0) } ?? "")
                    + " on \(count) images")
        }
        if epsGrid != nil {
            let curve = AttackCurve(
                curve: summaries, seed: seedOption.seed, model: model, embedding: embedding, reference_model: referenceModel)
            try AtomicFile.write(try jsonText(curve), to: out + "/curve.json")
            let plot = CurveFigures.invariance(
                summaries, eps: epsValues.map(Double.init), shifts: shifts, seed: seedOption.seed, withReference: reference != nil)
            try AtomicFile.write(plot.render(), to: out + "/curve.svg")
        }
        try finish(summaries)
    }

    /// Prints `--json` (one summary, or the curve with --eps-grid) and where the outputs went.
    func finish(_ summaries: [AttackSummary]) throws {
        if jsonOption.json {
            if epsGrid != nil {
                struct Output: Encodable { var curve: [AttackSummary] }
                print(try jsonText(Output(curve: summaries)))
            } else if let summary = summaries.first {
                print(try jsonText(summary))
            }
        }
        note("wrote \(out) (seed \(seedOption.seed))")
    }
}
