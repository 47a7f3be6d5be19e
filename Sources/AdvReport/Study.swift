import AdvAnalysis
import AdvAttacks
import AdvData
import AdvImaging
import AdvModels
import AdvTensor
import AdvTraining
import Foundation

/// The models a study runs on.
public struct StudyModels {
    public var natural: any ImageClassifier
    public var robust: any ImageClassifier
    public var generator: any ConditionalGenerator
    public var discriminator: any ConditionalDiscriminator
    public var embedding: TripletEmbedding
    /// Checkpoint paths, recorded in the results.
    public var paths: (natural: String, robust: String, acgan: String, triplet: String)
    /// The validity panel's robust judge of another architecture (`checkpoints/judge-robust.safetensors`),
    /// named by its file; nil when absent, and then `missingJudge` says so in the results.
    public var judge: (name: String, classifier: any ImageClassifier)?
    public var missingJudge: String?

    public init(
        natural: any ImageClassifier, robust: any ImageClassifier, generator: any ConditionalGenerator,
        discriminator: any ConditionalDiscriminator,
        embedding: TripletEmbedding, paths: (natural: String, robust: String, acgan: String, triplet: String),
        judge: (name: String, classifier: any ImageClassifier)? = nil, missingJudge: String? = nil
    ) {
        self.natural = natural
        self.robust = robust
        self.generator = generator
        self.discriminator = discriminator
        self.embedding = embedding
        self.paths = paths
        self.judge = judge
        self.missingJudge = missingJudge
    }

    /// Loads the four checkpoints (each checked for its kind) and the robust judge at `judge`
    /// when that file exists; when it does not, `missingJudge` records it (no other model stands in).
    public static func load(natural: String, robust: String, acgan: String, triplet: String, judge: String? = nil) throws -> StudyModels {
        let (generator, discriminator) = try ModelLoading.acgan(path: acgan)
        let judgeModel = try judge.flatMap { path in
            FileManager.default.fileExists(atPath: path)
                ? (
                    name: URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent,
                    classifier: try ModelLoading.classifier(path: path)
                )
                : nil
        }
        let missing = judge.flatMap { path in
            judgeModel == nil ? "\(path) is absent: the validity panel has no robust judge of another architecture" : nil
        }
        return StudyModels(
            natural: try ModelLoading.classifier(path: natural), robust: try ModelLoading.classifier(path: robust),
            generator: generator, discriminator: discriminator, embedding: try ModelLoading.triplet(path: triplet),
            paths: (natural, robust, acgan, triplet), judge: judgeModel, missingJudge: missing)
    }
}

/// `advlab report`'s study on the committed checkpoints. Each section is a measurement: a
/// function of the study's inputs (models, data, settings, seed) and of the shared measurements
/// computed once in `init`, returning its part of `ReportResults` with the figures it drew and the
/// images it offers to the judge page (`Measured`). `measure()` composes the sections in a fixed
/// order into `StudyMeasurements`; `run()` then writes them (`StudyFiles`) and folds people's
/// labels in. Sections follow docs/ARCHITECTURE.md's evaluator: generalization, perturbation
/// robustness with verdicts on (1) and (2), the unrestricted examples, the post's combination
/// image and distance analysis.
public struct Study {
    public let models: StudyModels
    public let settings: ReportSettings
    /// The data set (from the training split's name): class names and headline budgets.
    public let dataset: StudyDataset
    public let seed: UInt64
    /// Where `run` writes the figures and the judge set.
    public let folder: String
    let train: Dataset, test: Dataset
    /// Train then test images: the 70,000 that condition (2) searches. [70000, 1, 28, 28]
    let allImages: Tensor
    let allLabels: [Int]
    let rule = ConditionOneRule()
    let log: (String) -> Void
    /// The generator's short name in the judge set's settings (`GeneratorArchitectures`).
    let generatorName: String

    // Shared measurements, computed once.
    let knn: EmbeddingKNN
    let testEmbeddings: Tensor
    /// Per class, the median distance of the class's test embeddings to their centroid.
    let classSpread: [Double]

    public init(
        models: StudyModels, train: Dataset, test: Dataset, settings: ReportSettings, seed: UInt64, folder: String,
        log: @escaping (String) -> Void
    ) {
        self.models = models
        self.train = train
        self.test = test
        dataset = StudyDataset.named(train.name)
        // The data set's headline radii are always among the measured ones.
        self.settings = settings.including(dataset)
        self.seed = seed
        self.folder = folder
        self.log = log
        allImages = Tensor.concatenate([train.images, test.images])
        allLabels = train.labels + test.labels
        generatorName = JudgeSettings.generatorName(models.generator, models.discriminator)
        knn = EmbeddingKNN(embedding: models.embedding, images01: train.images, labels: train.labels)
        testEmbeddings = models.embedding.embed(test.images)
        classSpread = Self.classSpread(embeddings: testEmbeddings, labels: test.labels)
    }

    /// Classes of the dataset.
    var classCount: Int { dataset.class_names.count }

    var classifiers: [(name: String, model: any ImageClassifier)] { [("natural", models.natural), ("robust", models.robust)] }
    func other(than name: String) -> any ImageClassifier { name == "natural" ? models.robust : models.natural }

    /// Every section in the study's order, composed: results.json's value (without people's
    /// labels, conclusions or timing), the figures and the judge set. Writes nothing.
    public func measure() -> StudyMeasurements {
        let generalization = measureGeneralization()
        let conditionTwo = measureConditionTwoDistances()
        let curves = conditionTwoCurves(conditionTwo)
        let perturbations = measurePerturbations(conditionTwo)
        let unrestricted = measureUnrestricted()
        let combination = measureCombination(conditionTwo)
        let invariance = measureInvariance()
        let distances = measureDistances()
        let perClassEps = perClassEpsilon(conditionTwo)
        let figures =
            curves.figures + perturbations.figures + unrestricted.figures + combination.figures + distances.figures
        // The judge set draws from every offer in the sections' order, from one stream.
        let offers = generalization.offers + perturbations.offers + unrestricted.offers + combination.offers + invariance.offers
        var results = ReportResults(
            seed: seed, quick: settings == ReportSettings.quick.including(dataset), settings: settings,
            models: ["natural": models.paths.natural, "robust": models.paths.robust],
            generator: models.paths.acgan, embedding: models.paths.triplet,
            generalization: generalization.value, robustness: perturbations.value.rows, minimal_perturbations: perturbations.value.minimal,
            condition_two_curves: curves.value, unrestricted: unrestricted.value, combination: combination.value,
            invariance: invariance.value, distances: distances.value,
            per_class_eps: perClassEps, human: nil, condition_one_rule: rule, conclusions: [], figures: [:],
            seconds: 0)
        results.classes = Array(0..<classCount)
        results.dataset = dataset
        let allFigures = figures + ReportFigures.fromResults(results)
        results.figures = Dictionary(allFigures.map { ($0.name, $0.file) }, uniquingKeysWith: { _, last in last })
        return StudyMeasurements(
            results: results, figures: allFigures,
            judgeSet: JudgeOffer.judgeSet(offers, perSetting: settings.judge_per_kind, seed: seed))
    }

    /// Measures everything, writes the figures and judge-set.json into `folder` (`StudyFiles`),
    /// and returns the results with the conclusions; `human` are labels saved by the judge page or
    /// imported from MTurk, one file per annotator, folded with `HumanAgreement.fold`.
    public func run(human: [HumanLabels] = [], excludeFlagged: Bool = false, noun: String = "digit") throws -> ReportResults {
        let start = Date()
        let measured = measure()
        try StudyFiles.write(measured, to: folder)
        var results = measured.results
        if !human.isEmpty {
            results.human = try HumanAgreement.fold(
                human, set: measured.judgeSet, setPath: folder + "/" + StudyFiles.judgeSetFile,
                excludeFlagged: excludeFlagged,
                noun: noun)
        }
        results.conclusions = Conclusions.compute(results)
        results.seconds = Date().timeIntervalSince(start)
        return results
    }

    // MARK: - Generalization

    func measureGeneralization() -> Measured<Generalization> {
        log("generalization: test error and error on plain AC-GAN samples")
        let testSubset = test.subset(Array(0..<min(settings.test_images, test.count)))
        let rows = classifiers.map { (name, model) -> Generalization.ModelErrors in
            let accuracy = evaluate(model, on: testSubset)
            let plain = plainSampleError(models.generator, classifier: model, perClass: settings.plain_samples_per_class, seed: seed &+ 7)
            return .init(
                model: name, test_error: 1 - accuracy.accuracy, per_class_test_error: accuracy.perClassAccuracy.map { 1 - $0 },
                plain_sample_error: plain.error_rate, per_class_plain_sample_error: plain.per_class_error_rate)
        }
        return Measured(
            Generalization(test_images: testSubset.count, plain_samples_per_class: settings.plain_samples_per_class, models: rows),
            offers: controlOffers())
    }

    // MARK: - Condition (2)

    /// Nearest same-class distances of the query sample against all 70,000 images, in pixel
    /// L2 and L∞ and in the embedding; and, per model, against its misclassified test images.
    func measureConditionTwoDistances() -> ConditionTwoData {
        let indices = ConditionTwoDistances.queries(total: allLabels.count, count: settings.condition_two_queries, seed: seed)
        let everything = Array(allLabels.indices)
        var nearestSameClass: [String: [Float]] = [:]
        var nearestMisclassified: [String: [String: [Float]]] = [:]
        var l2Neighbors: ClassNeighbors?
        for norm in [DistanceNorm.l2, .linf] {
            let started = Date()
            // Every image: the class-blocked kernels, L∞ seeded with the L2 neighbours.
            let (distances, neighbors) = ConditionTwoDistances.nearestSameClass(
                images: allImages, labels: allLabels, queries: indices,
                norm: norm, seeds: l2Neighbors, classCount: classCount)
            if norm == .l2 { l2Neighbors = neighbors }
            nearestSameClass[norm.rawValue] = distances
            log(
                String(
                    format: "condition (2): nearest same-class %@ distance of %d images: %.1f s", norm.rawValue, indices.count,
                    Date().timeIntervalSince(started)))
        }
        // The k-NN's memory already holds the training images' embeddings.
        let embeddings = Tensor.concatenate([knn.memory, testEmbeddings])
        nearestSameClass["embedding-l2"] = AdvAnalysis.nearestSameClass(
            images: embeddings, labels: allLabels, queries: indices,
            memory: everything, norm: .l2)
        for (name, model) in classifiers {
            let misclassified = ConditionTwoDistances.misclassifiedTestImages(
                predictions: model.predict(test.images), testLabels: test.labels,
                testOffset: train.count)
            var perNorm: [String: [Float]] = [:]
            for norm in [DistanceNorm.l2, .linf] {
                perNorm[norm.rawValue] = ConditionTwoDistances.nearestMisclassified(
                    images: allImages, labels: allLabels, queries: indices,
                    misclassified: misclassified, norm: norm, classCount: classCount)
            }
            perNorm["embedding-l2"] = ConditionTwoDistances.nearestMisclassified(
                images: embeddings, labels: allLabels, queries: indices,
                misclassified: misclassified, norm: .l2, classCount: classCount)
            nearestMisclassified[name] = perNorm
        }
        return ConditionTwoData(
            queries: indices, labels: indices.map { allLabels[$0] }, nearestSameClass: nearestSameClass,
            nearestMisclassified: nearestMisclassified, classCount: classCount)
    }

    func conditionTwoCurves(_ conditionTwo: ConditionTwoData) -> Measured<[ConditionTwoCurve]> {
        let labels = conditionTwo.labels
        var curves: [ConditionTwoCurve] = []
        var figures: [StudyFigure] = []
        for (norm, top, title) in [("linf", 1.0, "L∞"), ("l2", 10.0, "L2")] {
            let nearest = conditionTwo.nearestSameClass[norm] ?? []
            let grid = (0...40).map { top * Double($0) / 40 }
            let shares = grid.map { eps in Double(nearest.filter { Double($0) <= eps }.count) / Double(max(1, nearest.count)) }
            let levels = [0, 0.01, 0.05, 0.5]
            let curve = ConditionTwoCurve(
                norm: norm, images: labels.count, eps: grid, share_with_same_class_within_eps: shares,
                quantile_levels: levels,
                per_class_nearest_same_class_quantiles: perClassLowerQuantiles(
                    nearest, labels: labels, classCount: classCount, levels: levels))
            curves.append(curve)
            // Per class, from the same distances.
            let perClass = (0..<classCount).map { digit -> [Double] in
                let rows = labels.indices.filter { labels[$0] == digit }
                return grid.map { eps in Double(rows.filter { Double(nearest[$0]) <= eps }.count) / Double(max(1, rows.count)) }
            }
            var plot = CurveFigures.perClass(
                title: "condition (2): share of images with a same-class image within ε, \(title)", xLabel: "ε (\(title))",
                yLabel: "share", x: grid, overall: shares, perClass: perClass, classNames: dataset.class_names)
            plot.yRange = 0...1
            plot.identifier = norm == "linf" ? "c2linf" : "c2l2"
            figures.append(.svg(plot, name: "condition-two-\(norm)"))
        }
        return Measured(curves, figures: figures)
    }

    /// Per-class ε (the post's proposal): per class, the largest ε on a grid at which (2) holds
    /// for at least 0.99 of the class and the combination image with every other class keeps
    /// the embedding's k-NN class for at least 0.99 of sampled pairs (`PerClassEpsilon`).
    func perClassEpsilon(_ conditionTwo: ConditionTwoData) -> [PerClassEpsilonReport] {
        let labels = conditionTwo.labels
        var rng = SeededGenerator(seed: seed &+ 503)
        let pairs = sampleCombinationPairs(labels: test.labels, perClass: settings.eps_pairs_per_class, using: &rng)
        let criteria = PerClassEpsilonCriteria()
        return [(PerturbationNorm.linf, (1...10).map { Float($0) * 0.05 }), (.l2, (1...12).map { Float($0) * 0.5 })].map { norm, grid in
            let shareTwo = conditionTwoHoldShares(
                nearestSameClass: conditionTwo.nearestSameClass[norm.rawValue] ?? [], labels: labels, grid: grid)
            let shareCombination = combinationUnchangedShares(
                images01: test.images, labels: test.labels, pairs: pairs, grid: grid, norm: norm
            ) {
                self.knn.predict($0, ks: [5])[5] ?? []
            }
            let perClass = choosePerClassEpsilon(
                grid: grid, shareConditionTwo: shareTwo, shareCombination: shareCombination, criteria: criteria,
                conditionTwoImages: (0..<classCount).map { d in labels.filter { $0 == d }.count },
                combinationPairs: (0..<classCount).map { d in pairs.filter { test.labels[$0.source] == d }.count })
            log("per-class ε (\(norm.rawValue)): " + perClass.map { $0.eps.map { Format.eps($0) } ?? "none" }.joined(separator: " "))
            return PerClassEpsilonReport(
                norm: norm.rawValue, grid: grid.map(Double.init), criteria: criteria, per_class: perClass,
                condition_two_method: "\(labels.count) images, each against all 70000 train and test images",
                combination_method:
                    "\(settings.eps_pairs_per_class) test images per class, each with one random test image of every other class; 5-NN in the triplet embedding",
                seed: seed)
        }
    }

    // MARK: - Shared helpers

    static func classSpread(embeddings: Tensor, labels: [Int]) -> [Double] {
        let d = embeddings.count / max(1, labels.count)
        return (0..<(labels.max().map { $0 + 1 } ?? 0)).map { digit in
            let rows = labels.indices.filter { labels[$0] == digit }
            guard !rows.isEmpty else { return 1 }
            var centroid = [Double](repeating: 0, count: d)
            for row in rows { for j in 0..<d { centroid[j] += Double(embeddings.scalars[row * d + j]) / Double(rows.count) } }
            let distances = rows.map { row in
                (0..<d).reduce(0.0) { sum, j in
                    let diff = Double(embeddings.scalars[row * d + j]) - centroid[j]
                    return sum + diff * diff
                }.squareRoot()
            }.sorted()
            return distances[distances.count / 2]
        }
    }

    /// Condition-(1) proxies of `adversarial` against `clean`, with the embedding and the
    /// other model as references; `cleanEmbeddings` and `adversarialJudged` (from
    /// `embeddingJudgement`) when they are already known.
    func conditionOne(
        clean: Tensor, cleanEmbeddings: Tensor? = nil, adversarial: Tensor,
        adversarialJudged: (embeddings: Tensor, knnLabels: [Int]?)? = nil, labels: [Int], success: [Bool],
        reference: any ImageClassifier
    ) -> ConditionOneReport {
        let (adversarialEmbeddings, knnLabels) = adversarialJudged ?? embeddingJudgement(adversarial)
        return ConditionOneMeasurements(
            clean: clean, adversarial: adversarial, labels: labels, success: success, rule: rule,
            cleanEmbeddings: cleanEmbeddings ?? models.embedding.embed(clean), adversarialEmbeddings: adversarialEmbeddings,
            classSpread: classSpread, knnLabels: knnLabels,
            referenceLabels: reference.predict(adversarial)
        ).report(rule: rule)
    }

    /// The triplet embeddings of `images` and the 5-NN's class for each, the second judge.
    func embeddingJudgement(_ images: Tensor) -> (embeddings: Tensor, knnLabels: [Int]?) {
        let embeddings = models.embedding.embed(images)
        return (embeddings, knn.predict(embeddings: embeddings, ks: [5])[5])
    }
}
