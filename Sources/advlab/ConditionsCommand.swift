import AdvAnalysis
import AdvAttacks
import AdvData
import AdvTensor
import AdvTraining
import ArgumentParser
import Foundation

/// `advlab conditions`: condition (2) exactly, for one norm and ε — the report's own
/// measurement (`ConditionTwoDistances`, `conditionTwo`), so both state the same numbers.
struct ConditionsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "conditions",
        abstract: "Condition (2): per class, the share of images whose ε-ball holds another image of the class (and a misclassified one).",
        discussion: """
            Over all 70,000 images (train and test), or --queries of them drawn with --seed as the report draws them, each against \
            all 70,000. 'Misclassified' means a test image the --model gets wrong: inside its ε-ball, turning a correctly \
            classified image into it is the post's trivial attack.
            """)

    @Option(help: "The norm of the ε-ball.") var norm = PerturbationNorm.linf
    // Double, as the report's ε grids: a Float 0.3 would be 0.30000001 in the verdict and could
    // move a distance across the radius.
    @Option(help: "Radius ε.") var eps: Double = 0.3
    @Option(help: "Classifier whose test errors count as 'misclassified'.") var model = "checkpoints/classifier-natural.safetensors"
    @Option(help: "Ask about this many images drawn with --seed (default: all of them).") var queries: Int?
    @OptionGroup var seedOption: SeedOption
    @OptionGroup var dataOptions: DataOptions
    @Option(help: "Output folder (optional).") var out: String?
    @OptionGroup var jsonOption: JSONOption

    func validate() throws {
        guard eps >= 0, eps.isFinite else { throw ValidationError("--eps must be ≥ 0, got \(eps)") }
        if norm == .linf && eps > 1 { throw ValidationError("--eps for linf must be ≤ 1, got \(eps)") }
        if let queries, queries < 1 { throw ValidationError("--queries must be ≥ 1, got \(queries)") }
        try validateInputFile(model, flag: "--model")
        if let out { try validateOutputFolder(out, flag: "--out") }
    }

    func run() throws {
        let distanceNorm: DistanceNorm = norm == .linf ? .linf : .l2
        let classifier = try ModelLoading.classifier(path: model)
        let (train, test) = try dataOptions.loadBoth()
        let images = Tensor.concatenate([train.images, test.images])
        let labels = train.labels + test.labels
        let classCount = 10
        let misclassified = ConditionTwoDistances.misclassifiedTestImages(
            predictions: classifier.predict(test.images), testLabels: test.labels,
            testOffset: train.count)
        let queryIndices = ConditionTwoDistances.queries(total: labels.count, count: queries, seed: seedOption.seed)
        let nearest = ConditionTwoDistances.nearestSameClass(
            images: images, labels: labels, queries: queryIndices, norm: distanceNorm,
            classCount: classCount
        ).distances
        let nearestMisclassified = ConditionTwoDistances.nearestMisclassified(
            images: images, labels: labels, queries: queryIndices,
            misclassified: misclassified, norm: distanceNorm,
            classCount: classCount)
        let distances = ConditionTwoDistances(
            queries: queryIndices, labels: queryIndices.map { labels[$0] }, nearestSameClass: nearest,
            nearestMisclassified: nearestMisclassified)
        let verdict = conditionTwo(distances, norm: norm.rawValue, eps: eps, classCount: classCount)
        let misclassifiedPerClass = (0..<classCount).map { label in misclassified.filter { labels[$0] == label }.count }
        struct Output: Encodable {
            var condition_two: ConditionTwoVerdict
            var misclassified_test_images_per_class: [Int]
            var model: String
            var seed: UInt64
        }
        let text = try jsonText(
            Output(
                condition_two: verdict, misclassified_test_images_per_class: misclassifiedPerClass, model: model,
                seed: seedOption.seed))
        if let out {
            try createFolder(out)
            try AtomicFile.write(text, to: out + "/conditions-\(norm.rawValue)-\(String(format: "%g", eps)).json")
        }
        if jsonOption.json {
            print(text)
            return
        }
        print("(2) \(verdict.holds ? "holds" : "is violated"): \(verdict.reason)")
        for label in 0..<classCount {
            print(
                String(
                    format: "  class %d: %5.2f%% with a same-class image within ε, %5.2f%% with a misclassified one (%d errors); "
                        + "nearest same-class median %.3f, min %.3f",
                    label, 100 * verdict.per_class_share_with_same_class_within_eps[label],
                    100 * (verdict.per_class_share_with_misclassified_within_eps?[label] ?? .nan), misclassifiedPerClass[label],
                    verdict.per_class_median_nearest_same_class[label], verdict.per_class_min_nearest_same_class[label]))
        }
    }
}
