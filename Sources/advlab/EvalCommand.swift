import AdvData
import AdvModels
import AdvNN
import AdvTraining
import ArgumentParser
import Foundation

/// `advlab eval --model PATH`: test accuracy, overall and per class.
struct EvalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "eval", abstract: "Test accuracy of a checkpoint, overall and per class.")

    @Option(help: "Checkpoint to evaluate.") var model = "checkpoints/classifier-natural.safetensors"
    @OptionGroup var dataOptions: DataOptions
    @OptionGroup var seedOption: SeedOption
    @OptionGroup var jsonOption: JSONOption

    func validate() throws { try validateInputFile(model, flag: "--model") }

    struct Result: Encodable {
        var accuracy: Double
        var per_class_accuracy: [Double]
        var count: Int
        var model: String
        var seed: UInt64
        /// Triplet embeddings: k-NN accuracy with k = 1 (`accuracy` is k = 5), all 60,000 training images as memory.
        var accuracy_k1: Double?
    }

    enum LoadedModel {
        case classifier(any ImageClassifier)
        case triplet(TripletEmbedding)
    }

    func run() throws {
        // The checkpoint before the data: a bad --model is reported as itself, without a data load.
        let loaded: LoadedModel =
            try !ModelLoading.isONNX(path: model) && Checkpoint.kind(path: model) == TripletTrainer.checkpointKind
            ? .triplet(try ModelLoading.triplet(path: model)) : .classifier(try ModelLoading.classifier(path: model))
        let directory = try dataOptions.directory()
        let test = try dataOptions.dataset.load(.test, directory: directory)
        let report: AccuracyReport
        var accuracyK1: Double?
        switch loaded {
        case .triplet(let embedding):
            let train = try dataOptions.dataset.load(.train, directory: directory)
            let predictions = EmbeddingKNN(embedding: embedding, images01: train.images, labels: train.labels).predict(
                test.images, ks: [1, 5])
            report = AccuracyReport(predictions: predictions[5] ?? [], labels: test.labels)
            accuracyK1 = AccuracyReport(predictions: predictions[1] ?? [], labels: test.labels).accuracy
        case .classifier(let classifier):
            report = evaluate(classifier, on: test)
        }
        let result = Result(
            accuracy: report.accuracy, per_class_accuracy: report.perClassAccuracy, count: report.count,
            model: model, seed: seedOption.seed, accuracy_k1: accuracyK1)
        if jsonOption.json {
            print(try jsonText(result))
        } else {
            print("\(model): test accuracy \(String(format: "%.4f", report.accuracy)) on \(report.count) images")
            for (digit, accuracy) in report.perClassAccuracy.enumerated() {
                print("  class \(digit): \(String(format: "%.4f", accuracy))")
            }
        }
    }
}
