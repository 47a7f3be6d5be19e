import AdvAnalysis
import AdvAttacks
import AdvData
import AdvImaging
import AdvModels
import AdvTensor
import Foundation

/// The figures an unrestricted search can draw.
public enum UnrestrictedFigure: String, Sendable, CaseIterable {
    /// G(z0, s) | G(z, s) side by side for the first successes (`UnrestrictedFigures.pairs`).
    case pairs
    /// One example per (source, target) pair (`UnrestrictedFigures.allPairs`).
    case allPairs
    /// The success rate per (source, target) pair as a heat map.
    case successMatrix
}

/// A batch of Song et al.'s latent searches as `advlab unrestricted` and the report run them:
/// which searches, with which settings and seed, and what to draw.
public struct UnrestrictedPlan: Sendable {
    /// The source class of each search.
    public var sources: [Int]
    /// The target of each search; nil for untargeted searches.
    public var targets: [Int]?
    public var config: LatentSearchConfig
    /// The seed of the outputs; the grid's plain samples come from it (see `UnrestrictedFigures.allPairs`).
    public var seed: UInt64
    /// The search draws from the stream `seed + searchSeedOffset` (the report keeps its sections' streams apart).
    public var searchSeedOffset: UInt64 = 0
    /// Searches run `batchSize` at a time (memory).
    public var batchSize = 200
    public var figures: Set<UnrestrictedFigure> = []
    /// What was searched against what, the start of every figure's title, e.g. "all pairs vs classifier-natural.safetensors".
    public var title: String
    /// Checkpoint names for the summary.
    public var generatorName: String
    public var modelName: String

    public init(
        sources: [Int], targets: [Int]?, config: LatentSearchConfig, seed: UInt64, title: String,
        generatorName: String, modelName: String
    ) {
        precondition(targets.map { $0.count == sources.count } ?? true, "plan: \(targets?.count ?? 0) targets for \(sources.count) sources")
        self.sources = sources
        self.targets = targets
        self.config = config
        self.seed = seed
        self.title = title
        self.generatorName = generatorName
        self.modelName = modelName
    }

    /// `count` searches of every ordered pair of distinct classes, source-major.
    public static func allPairs(classCount: Int, count: Int) -> (sources: [Int], targets: [Int]) {
        let pairs = (0..<classCount).flatMap { s in (0..<classCount).filter { $0 != s }.map { (s, $0) } }
        return (pairs.flatMap { [Int](repeating: $0.0, count: count) }, pairs.flatMap { [Int](repeating: $0.1, count: count) })
    }
}

/// What the search is run with: the generator and its auxiliary classifier, the attacked model,
/// the triplet 5-NN (a judge the search does not optimise against) and the training images that
/// the nearest-neighbour distances are measured to.
public struct UnrestrictedModels {
    public var generator: any ConditionalGenerator
    public var discriminator: any ConditionalDiscriminator
    public var classifier: any ImageClassifier
    public var knn: EmbeddingKNN
    /// The panel's classifiers beside the 5-NN, by name (the file's stem): a robust judge of
    /// another architecture, the natural classifier when it is not the attacked model. None of
    /// them may be the attacked model or the auxiliary classifier: the search must never see a judge.
    public var judges: [(name: String, classifier: any ImageClassifier)]
    public var train: Dataset
    /// The classifier that keeps the image a digit of the source in place of the AC-GAN's
    /// auxiliary classifier (`LatentKeeper`), by name (its checkpoint's file name); nil for the
    /// auxiliary classifier. Never the attacked model or a judge: the search optimises against it.
    public var keeper: (name: String, classifier: any ImageClassifier)?
    /// The summary's name for the AC-GAN's auxiliary classifier as the keeper.
    public static let auxiliaryHeadKeeper = "auxiliary head"
    public var keeperName: String { keeper?.name ?? Self.auxiliaryHeadKeeper }

    public init(
        generator: any ConditionalGenerator, discriminator: any ConditionalDiscriminator, classifier: any ImageClassifier,
        knn: EmbeddingKNN, judges: [(name: String, classifier: any ImageClassifier)] = [], train: Dataset,
        keeper: (name: String, classifier: any ImageClassifier)? = nil
    ) {
        precondition(!judges.contains { $0.classifier === classifier }, "the attacked model cannot judge its own search")
        if let keeper {
            precondition(keeper.classifier !== classifier, "the attacked model cannot keep its own search")
            precondition(!judges.contains { $0.classifier === keeper.classifier }, "the search's keeper cannot be a judge")
        }
        self.keeper = keeper
        self.generator = generator
        self.discriminator = discriminator
        self.classifier = classifier
        self.knn = knn
        self.judges = judges
        self.train = train
    }
}

/// The validity panel: judges the search never sees, each giving a class to every searched image.
/// A search is *valid* when it succeeds by the search's rule and every judge says the source.
public struct UnrestrictedPanel: Sendable, Equatable {
    /// The judges' names, in order: "triplet-5nn" first, then the classifiers.
    public var judges: [String]
    /// labels[j][i]: judge j's class for searched image i.
    public var labels: [[Int]]
    /// Per search: a success that every judge reads as the source.
    public var valid: [Bool]
    /// startLabels[j][i]: judge j's class for search i's starting image G(z0, s); empty when the
    /// starts were not judged.
    public var startLabels: [[Int]]
    /// Per search: every judge reads its starting image as the source (empty when not judged).
    /// The control for `valid`: a search cannot be more valid than the image it starts from, so
    /// the panel's agreement on the starts of the successes bounds what the search itself lost.
    public var startAccepted: [Bool]

    /// `success` and `sources` per search; `labels` (and `startLabels`, the same judges on the
    /// starting images, or none) per judge and search.
    public init(judges: [String], labels: [[Int]], startLabels: [[Int]] = [], success: [Bool], sources: [Int]) {
        precondition(
            judges.count == labels.count && labels.allSatisfy { $0.count == sources.count } && success.count == sources.count,
            "panel: \(judges.count) judges, \(labels.map(\.count)) labels for \(sources.count) searches")
        precondition(
            startLabels.isEmpty || (startLabels.count == judges.count && startLabels.allSatisfy { $0.count == sources.count }),
            "panel: \(judges.count) judges, \(startLabels.map(\.count)) start labels for \(sources.count) searches")
        self.judges = judges
        self.labels = labels
        self.startLabels = startLabels
        valid = sources.indices.map { i in success[i] && labels.allSatisfy { $0[i] == sources[i] } }
        startAccepted = startLabels.isEmpty ? [] : sources.indices.map { i in startLabels.allSatisfy { $0[i] == sources[i] } }
    }

    /// Of the searches in `among` (all when nil), the share whose starting image every judge reads
    /// as the source; nil when the starts were not judged or `among` selects none.
    public func startAgreement(among: [Bool]? = nil) -> Double? {
        guard !startAccepted.isEmpty else { return nil }
        let chosen = startAccepted.indices.filter { among?[$0] ?? true }
        return chosen.isEmpty ? nil : Double(chosen.filter { startAccepted[$0] }.count) / Double(chosen.count)
    }

    /// Of the successes, the share every judge reads as the source; nil without successes.
    public func agreementOnSuccesses(_ success: [Bool]) -> Double? {
        let successes = success.filter { $0 }.count
        return successes == 0 ? nil : Double(valid.filter { $0 }.count) / Double(successes)
    }

    /// Per judge, the share of the successes it reads as the source (null without successes).
    public func judgeAgreementOnSuccesses(_ success: [Bool], sources: [Int]) -> [String: Double?] {
        let successes = success.indices.filter { success[$0] }
        var agreement: [String: Double?] = [:]
        for (name, judged) in zip(judges, labels) {
            agreement[name] =
                successes.isEmpty
                ? nil
                : Double(successes.filter { judged[$0] == sources[$0] }.count) / Double(successes.count)
        }
        return agreement
    }
}

/// `summary.json` of `advlab unrestricted`; the report's rows take the same numbers.
public struct UnrestrictedSummary: Codable, Sendable {
    public var success_rate: Double
    public var count: Int
    public var mean_steps: Double
    /// [source][target] success rates (an untargeted search counts under target = source).
    public var per_pair: [[Double?]]
    public var seed: UInt64
    public var generator: String
    public var model: String
    public var settings: LatentSearchConfig
    /// What kept the image a digit of the source: "auxiliary head" (the AC-GAN's) or the keeper
    /// classifier's checkpoint (`UnrestrictedModels.keeperName`).
    public var keeper: String
    /// The auxiliary classifier's mean confidence in the source on successes (null without one).
    @ExplicitNull public var auxiliary_source_confidence_on_successes: Double?
    /// Fraction of the successes whose 5-NN in the triplet embedding still says the source (null without one).
    @ExplicitNull public var knn_agrees_on_successes: Double?
    /// Fraction of all searches that succeed with the 5-NN also saying the source: the
    /// success rate under a judge the search did not optimise against.
    public var success_rate_knn_agreeing: Double
    /// Over the successes (null without one).
    @ExplicitNull public var median_nearest_train_l2: Double?
    /// The validity panel's judges (`UnrestrictedPanel`).
    public var panel: [String]
    /// Fraction of all searches that succeed AND every judge of the panel says the source.
    public var valid_success_rate: Double
    /// Fraction of the successes every judge reads as the source (null without one).
    @ExplicitNull public var panel_agreement_on_successes: Double?
    /// Per judge, the fraction of the successes it reads as the source (null without one).
    public var judge_agreement_on_successes: [String: Double?]
    /// The control: the fraction of all searches whose starting image G(z0, s) every judge reads
    /// as the source: what the panel accepts before the search moves anything.
    @ExplicitNull public var panel_agreement_on_starts: Double?
    /// The same on the starts of the successes (null without one): beside
    /// `panel_agreement_on_successes` it says how much of the panel's disagreement the search
    /// added and how much its starting images already had.
    @ExplicitNull public var panel_agreement_on_starts_of_successes: Double?
}

/// Everything one plan measured: the searches, their judges, the summary and the figures.
public struct UnrestrictedResult {
    public var plan: UnrestrictedPlan
    public var outcome: LatentSearchOutcome
    /// The triplet embeddings of the searched images and the 5-NN's class of each. [N, D], N
    public var embeddings: Tensor
    public var knnLabels: [Int]
    /// Each searched image's L2 and L∞ distance to the nearest training image of its source class.
    public var nearestL2: [Float]
    public var nearestLinf: [Float]
    public var panel: UnrestrictedPanel
    public var summary: UnrestrictedSummary
    /// The figures the plan asked for.
    public var figures: [UnrestrictedFigure: Bitmap]

    public var records: [LatentSearchRecord] { outcome.records }
    /// Indices of the successes.
    public var successIndices: [Int] { records.indices.filter { records[$0].success } }

    /// records.csv: one row per search, in the order of the plan.
    public var recordsCSV: String {
        UnrestrictedFigures.recordsCSV(records, nearestL2: nearestL2, nearestLinf: nearestLinf, knnLabels: knnLabels, panel: panel)
    }
}

/// The one implementation of the unrestricted measurement behind `advlab unrestricted` and the
/// report: runs the plan's searches in batches, has the panel (the 5-NN and `models.judges`)
/// judge every image, measures the distances to the training set, summarises and draws the figures.
public func runUnrestricted(
    _ plan: UnrestrictedPlan, models: UnrestrictedModels,
    progress: (_ searchesDone: Int) -> Void = { _ in }
) -> UnrestrictedResult {
    var rng = SeededGenerator(seed: plan.seed &+ plan.searchSeedOffset)
    let parts = batchRanges(count: plan.sources.count, size: plan.batchSize).map { range -> LatentSearchOutcome in
        defer { progress(range.upperBound) }
        return latentSearch(
            generator: models.generator, discriminator: models.discriminator, classifier: models.classifier,
            keeper: models.keeper.map { .classifier($0.classifier) } ?? .auxiliaryHead, sources: Array(plan.sources[range]),
            targets: plan.targets.map { Array($0[range]) }, config: plan.config,
            using: &rng)
    }
    let outcome = LatentSearchOutcome(
        startImages: Tensor.concatenate(parts.map(\.startImages)),
        images: Tensor.concatenate(parts.map(\.images)), records: parts.flatMap(\.records))
    let records = outcome.records
    let embeddings = models.knn.embedding.embed(outcome.images)
    let knnLabels = records.isEmpty ? [] : models.knn.predict(embeddings: embeddings, ks: [5])[5] ?? []
    let (nearestL2, nearestLinf) = NearestNeighbors.nearestOfClass(
        outcome.images, classes: plan.sources, memory: models.train.images,
        memoryLabels: models.train.labels)
    let success = records.map(\.success)
    // The same judges on the starting images: the control for what the search changed.
    let startKNNLabels = records.isEmpty ? [] : models.knn.predict(outcome.startImages, ks: [5])[5] ?? []
    let panel = UnrestrictedPanel(
        judges: ["triplet-5nn"] + models.judges.map(\.name),
        labels: [knnLabels] + models.judges.map { $0.classifier.predict(outcome.images) },
        startLabels: [startKNNLabels] + models.judges.map { $0.classifier.predict(outcome.startImages) }, success: success,
        sources: plan.sources)
    let successes = records.indices.filter { records[$0].success }
    let knnAgreeing = successes.filter { knnLabels[$0] == records[$0].source }.count
    let sortedL2 = successes.map { Double(nearestL2[$0]) }.sorted()
    let classNames = models.train.classNames
    let rates = UnrestrictedFigures.pairCells(outcome, classCount: models.generator.classCount).rates
    let summary = UnrestrictedSummary(
        success_rate: outcome.successRate, count: records.count,
        mean_steps: Double(records.map(\.steps).reduce(0, +)) / Double(max(1, records.count)), per_pair: rates, seed: plan.seed,
        generator: plan.generatorName, model: plan.modelName, settings: plan.config, keeper: models.keeperName,
        auxiliary_source_confidence_on_successes: UnrestrictedFigures.meanAuxiliarySourceConfidence(records),
        knn_agrees_on_successes: successes.isEmpty ? nil : Double(knnAgreeing) / Double(successes.count),
        success_rate_knn_agreeing: Double(knnAgreeing) / Double(max(1, records.count)),
        median_nearest_train_l2: sortedL2.isEmpty ? nil : lowerQuantile(sortedL2, 0.5), panel: panel.judges,
        valid_success_rate: Double(panel.valid.filter { $0 }.count) / Double(max(1, records.count)),
        panel_agreement_on_successes: panel.agreementOnSuccesses(success),
        judge_agreement_on_successes: panel.judgeAgreementOnSuccesses(success, sources: plan.sources),
        panel_agreement_on_starts: panel.startAgreement(),
        panel_agreement_on_starts_of_successes: panel.startAgreement(among: success))

    var figures: [UnrestrictedFigure: Bitmap] = [:]
    let title =
        plan.title
        + String(
            format: ": success %.3f, valid %.3f (seed %llu)", outcome.successRate, summary.valid_success_rate,
            plan.seed)
    if plan.figures.contains(.pairs) {
        let shown = Array(successes.prefix(40))
        figures[.pairs] = UnrestrictedFigures.pairs(
            outcome: outcome, indices: shown.isEmpty ? Array(records.indices.prefix(10)) : shown,
            startPredictions: models.classifier.predict(outcome.startImages), title: title + " · green: valid, orange: disputed",
            valid: panel.valid
        ).render()
    }
    if plan.figures.contains(.allPairs) {
        // Green: a valid success; orange: a success the panel disputes; unframed: the pair's last attempt.
        figures[.allPairs] = UnrestrictedFigures.allPairs(
            outcome: outcome, generator: models.generator, seed: plan.seed,
            title: title + " · green: valid, orange: disputed", classNames: classNames, valid: panel.valid
        ).render()
    }
    if plan.figures.contains(.successMatrix) {
        figures[.successMatrix] = UnrestrictedFigures.successMatrix(
            rates: rates,
            title: plan.title + ": success rate per pair (seed \(plan.seed))", classNames: classNames
        ).render()
    }
    return UnrestrictedResult(
        plan: plan, outcome: outcome, embeddings: embeddings, knnLabels: knnLabels, nearestL2: nearestL2,
        nearestLinf: nearestLinf, panel: panel, summary: summary, figures: figures)
}
