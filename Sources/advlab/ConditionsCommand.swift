import AdvAnalysis
import AdvData
import AdvTensor
import AdvTraining
import ArgumentParser
import Foundation

/// `advlab conditions`: condition (2) exactly, for one norm and ε.
struct ConditionsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "conditions",
        abstract: "Condition (2): per class, the share of images whose ε-ball holds another image of the class (and a misclassified one).",
        discussion: "Over all 70,000 images (train and test). 'Misclassified' means a test image the --model gets wrong: inside its ε-ball, turning a correctly classified image into it is the post's trivial attack.")

    @Option(help: "linf or l2.") var norm = "linf"
    @Option(help: "Radius ε.") var eps: Float = 0.3
    @Option(help: "Classifier whose test errors count as 'misclassified'.") var model = "checkpoints/classifier-natural.safetensors"
    @OptionGroup var seedOption: SeedOption
    @OptionGroup var dataOptions: DataOptions
    @Option(help: "Output folder (optional).") var out: String?
    @OptionGroup var jsonOption: JSONOption

    func validate() throws {
        guard norm == "linf" || norm == "l2" else { throw ValidationError("--norm must be linf or l2, got \(norm)") }
        guard eps >= 0, eps.isFinite else { throw ValidationError("--eps must be ≥ 0, got \(eps)") }
        if norm == "linf" && eps > 1 { throw ValidationError("--eps for linf must be ≤ 1, got \(eps)") }
        try validateInputFile(model, flag: "--model")
        if let out { try validateOutputFolder(out, flag: "--out") }
    }

    func run() throws {
        let distanceNorm = DistanceNorm(rawValue: norm) ?? .linf
        let classifier = try ModelLoading.classifier(path: model)
        let directory = try dataOptions.directory()
        let train = try MNIST.load(split: .train, directory: directory), test = try MNIST.load(split: .test, directory: directory)
        let images = Tensor.concatenate([train.images, test.images]), labels = train.labels + test.labels
        let predictions = classifier.predict(test.images)
        let misclassified = test.labels.indices.filter { predictions[$0] != test.labels[$0] }.map { $0 + train.count }
        let misclassifiedPerClass = (0..<10).map { d in misclassified.filter { labels[$0] == d }.count }
        let neighbors = NearestNeighbors.classNeighbors(images: images, labels: labels, norm: distanceNorm)
        let nearestMisclassified = nearestAmongSameClass(images: images, labels: labels, candidates: misclassified, norm: distanceNorm)
        let report = conditionTwo(labels: labels, nearestSameClass: neighbors.sameClass.map(\.distance),
                                  nearestMisclassified: nearestMisclassified, misclassifiedPerClass: misclassifiedPerClass,
                                  norm: distanceNorm, eps: eps)
        struct Output: Encodable { var report: ConditionTwoReport; var model: String; var seed: UInt64 }
        let text = try jsonText(Output(report: report, model: model, seed: seedOption.seed))
        if let out {
            try createFolder(out)
            try AtomicFile.write(text, to: out + "/conditions-\(norm)-\(String(format: "%g", eps)).json")
        }
        if jsonOption.json { print(text); return }
        print(report.verdict)
        for row in report.per_class {
            print(String(format: "  class %d: %5.2f%% with a same-class image within ε, %5.2f%% with a misclassified one (%d errors); nearest same-class median %.3f, min %.3f",
                         row.digit, 100 * row.share_with_same_class_within_eps, 100 * row.share_with_misclassified_within_eps,
                         row.misclassified_test_images, row.median_nearest_same_class, row.min_nearest_same_class))
        }
    }
}
