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

    public init(sources: [Int], targets: [Int]?, config: LatentSearchConfig, seed: UInt64, title: String,
                generatorName: String, modelName: String) {
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
    public var train: Dataset

    public init(generator: any ConditionalGenerator, discriminator: any ConditionalDiscriminator, classifier: any ImageClassifier,
                knn: EmbeddingKNN, train: Dataset) {
        self.generator = generator
        self.discriminator = discriminator
        self.classifier = classifier
        self.knn = knn
        self.train = train
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
    /// The auxiliary classifier's mean confidence in the source on successes (null without one).
    @ExplicitNull public var auxiliary_source_confidence_on_successes: Double?
    /// Fraction of the successes whose 5-NN in the triplet embedding still says the source (null without one).
    @ExplicitNull public var knn_agrees_on_successes: Double?
    /// Fraction of all searches that succeed with the 5-NN also saying the source: the
    /// success rate under a judge the search did not optimise against.
    public var success_rate_knn_agreeing: Double
    /// Over the successes (null without one).
    @ExplicitNull public var median_nearest_train_l2: Double?
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
    public var summary: UnrestrictedSummary
    /// The figures the plan asked for.
    public var figures: [UnrestrictedFigure: Bitmap]

    public var records: [LatentSearchRecord] { outcome.records }
    /// Indices of the successes.
    public var successIndices: [Int] { records.indices.filter { records[$0].success } }

    /// records.csv: one row per search, in the order of the plan.
    public var recordsCSV: String {
        UnrestrictedFigures.recordsCSV(records, nearestL2: nearestL2, nearestLinf: nearestLinf, knnLabels: knnLabels)
    }
}

/// The one implementation of the unrestricted measurement behind `advlab unrestricted` and the
/// report: runs the plan's searches in batches, judges every image by the 5-NN, measures the
/// distances to the training set, summarises and draws the figures.
public func runUnrestricted(_ plan: UnrestrictedPlan, models: UnrestrictedModels,
                            progress: (_ searchesDone: Int) -> Void = { _ in }) -> UnrestrictedResult {
    var rng = SeededGenerator(seed: plan.seed &+ plan.searchSeedOffset)
    let parts = batchRanges(count: plan.sources.count, size: plan.batchSize).map { range -> LatentSearchOutcome in
        defer { progress(range.upperBound) }
        return latentSearch(generator: models.generator, discriminator: models.discriminator, classifier: models.classifier,
                            sources: Array(plan.sources[range]), targets: plan.targets.map { Array($0[range]) }, config: plan.config,
                            using: &rng)
    }
    let outcome = LatentSearchOutcome(startImages: Tensor.concatenate(parts.map(\.startImages)),
                                      images: Tensor.concatenate(parts.map(\.images)), records: parts.flatMap(\.records))
    let records = outcome.records
    let embeddings = models.knn.embedding.embed(outcome.images)
    let knnLabels = records.isEmpty ? [] : models.knn.predict(embeddings: embeddings, ks: [5])[5] ?? []
    let (nearestL2, nearestLinf) = NearestNeighbors.nearestOfClass(outcome.images, classes: plan.sources, memory: models.train.images,
                                                                   memoryLabels: models.train.labels)
    let successes = records.indices.filter { records[$0].success }
    let knnAgreeing = successes.filter { knnLabels[$0] == records[$0].source }.count
    let sortedL2 = successes.map { Double(nearestL2[$0]) }.sorted()
    let rates = UnrestrictedFigures.pairCells(outcome).rates
    let summary = UnrestrictedSummary(
        success_rate: outcome.successRate, count: records.count,
        mean_steps: Double(records.map(\.steps).reduce(0, +)) / Double(max(1, records.count)), per_pair: rates, seed: plan.seed,
        generator: plan.generatorName, model: plan.modelName, settings: plan.config,
        auxiliary_source_confidence_on_successes: UnrestrictedFigures.meanAuxiliarySourceConfidence(records),
        knn_agrees_on_successes: successes.isEmpty ? nil : Double(knnAgreeing) / Double(successes.count),
        success_rate_knn_agreeing: Double(knnAgreeing) / Double(max(1, records.count)),
        median_nearest_train_l2: sortedL2.isEmpty ? nil : lowerQuantile(sortedL2, 0.5))

    var figures: [UnrestrictedFigure: Bitmap] = [:]
    let title = plan.title + String(format: ": success %.3f (seed %llu)", outcome.successRate, plan.seed)
    if plan.figures.contains(.pairs) {
        let shown = Array(successes.prefix(40))
        figures[.pairs] = UnrestrictedFigures.pairs(outcome: outcome, indices: shown.isEmpty ? Array(records.indices.prefix(10)) : shown,
                                                    startPredictions: models.classifier.predict(outcome.startImages), title: title).render()
    }
    if plan.figures.contains(.allPairs) {
        // Red: a success the triplet 5-NN also reads as the source; orange: the 5-NN disputes every success of the pair.
        figures[.allPairs] = UnrestrictedFigures.allPairs(outcome: outcome, generator: models.generator, seed: plan.seed, title: title,
                                                          secondJudge: knnLabels).render()
    }
    if plan.figures.contains(.successMatrix) {
        figures[.successMatrix] = UnrestrictedFigures.successMatrix(rates: rates,
                                                                    title: plan.title + ": success rate per pair (seed \(plan.seed))").render()
    }
    return UnrestrictedResult(plan: plan, outcome: outcome, embeddings: embeddings, knnLabels: knnLabels, nearestL2: nearestL2,
                              nearestLinf: nearestLinf, summary: summary, figures: figures)
}
