import AdvData
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
    }

    func run() throws {
        let classifier = try ModelLoading.classifier(path: model)
        let test = try MNIST.load(split: .test, directory: try dataOptions.directory())
        let report = evaluate(classifier, on: test)
        let result = Result(accuracy: report.accuracy, per_class_accuracy: report.perClassAccuracy, count: report.count,
                            model: model, seed: seedOption.seed)
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
