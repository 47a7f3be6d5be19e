import AdvModels
import AdvNN
import AdvTensor
import Foundation

/// One imported node: which computed values it reads and writes, and its forward pass with a
/// pullback to each input it reads.
struct ONNXStep {
    /// e.g. `Conv (node 3)`, for messages.
    let label: String
    let inputs: [Int]
    let output: Int
    /// inputs (in `inputs`' order) -> output, and ∂output -> ∂inputs (same order).
    let forward: ([Tensor], ForwardMode) -> (Tensor, (Tensor) -> [Tensor])
}

/// An ONNX classifier imported into the lab's layers (`ONNXImporter`): the graph runs as a list
/// of steps in the file's topological order over numbered values (value 0 is the images), and
/// its pullback runs the steps in reverse, adding the gradients of a value read twice (a
/// residual connection). A trailing `Softmax` / `LogSoftmax` is dropped: `logits` are the
/// values before it, which is what the lab's attacks and metrics take.
public final class ONNXClassifier: ImageClassifier {
    /// The file it was read from, as the caller named it.
    public let path: String
    /// The `ai.onnx` opset the file was exported with.
    public let opset: Int64
    /// The ONNX operators of the imported graph with their counts, e.g. `Conv×2, Gemm×2, …`.
    public let operatorSummary: String
    let steps: [ONNXStep]
    let valueCount: Int
    let logitsValue: Int
    /// The input of the last fully connected layer (`Gemm` / `MatMul`), or the logits.
    let featuresValue: Int
    let parameterList: [(String, Parameter)]

    public var classCount: Int { 10 }
    public var namedParameters: [(String, Parameter)] { parameterList }

    init(
        path: String, opset: Int64, operatorSummary: String, steps: [ONNXStep], valueCount: Int, logitsValue: Int,
        featuresValue: Int, parameters: [(String, Parameter)]
    ) {
        self.path = path
        self.opset = opset
        self.operatorSummary = operatorSummary
        self.steps = steps
        self.valueCount = valueCount
        self.logitsValue = logitsValue
        self.featuresValue = featuresValue
        self.parameterList = parameters
    }

    /// Reads and imports `path`. Throws `ONNXError` naming the file and the operator, attribute
    /// or shape it cannot import; nothing is written.
    public convenience init(path: String) throws {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw ONNXError(path: path, message: "cannot be read (\((error as NSError).localizedDescription))")
        }
        try self.init(bytes: data, path: path)
    }

    /// Imports the bytes of an `.onnx` file; `path` names it in errors.
    public convenience init(bytes: Data, path: String) throws {
        let imported = try bytes.withUnsafeBytes { try ONNXImporter.importModel($0, path: path) }
        self.init(
            path: path, opset: imported.opset, operatorSummary: imported.operatorSummary, steps: imported.steps,
            valueCount: imported.valueCount, logitsValue: imported.logitsValue, featuresValue: imported.featuresValue,
            parameters: imported.parameters)
    }

    /// Runs the steps needed for `target` and returns it with its pullback to the images.
    /// ONNX graphs are inference graphs: BatchNormalization always uses its stored statistics,
    /// Dropout is the identity, whatever `mode.training` says.
    // images01: [N, 1, 28, 28] -> the value `target`, [N, …]
    func run(_ images01: Tensor, until target: Int, mode: ForwardMode) -> (Tensor, Pullback) {
        let stepMode = ForwardMode(training: false, parameterGradients: mode.parameterGradients, inputGradient: true)
        let needed = neededSteps(for: target)
        // Drop each value after its last reader, as a hand-written model's locals go out of scope.
        var lastReader = [Int](repeating: -1, count: valueCount)
        for index in needed { for input in steps[index].inputs { lastReader[input] = index } }
        var values = [Tensor?](repeating: nil, count: valueCount)
        values[0] = images01
        var pullbacks: [(step: Int, back: (Tensor) -> [Tensor])] = []
        pullbacks.reserveCapacity(needed.count)
        for index in needed {
            let step = steps[index]
            let inputs = step.inputs.map { values[$0] ?? Tensor.zeros([0]) }
            let (output, back) = step.forward(inputs, stepMode)
            values[step.output] = output
            pullbacks.append((index, back))
            for input in step.inputs where lastReader[input] == index && input != target { values[input] = nil }
        }
        let result = values[target] ?? images01
        let steps = self.steps
        let valueCount = self.valueCount
        let inputShape = images01.shape
        return (
            result,
            { dTarget in
                var gradients = [Tensor?](repeating: nil, count: valueCount)
                gradients[target] = dTarget
                for (index, back) in pullbacks.reversed() {
                    let step = steps[index]
                    guard let dOutput = gradients[step.output] else { continue }
                    gradients[step.output] = nil
                    for (input, dInput) in zip(step.inputs, back(dOutput)) {
                        if var total = gradients[input] {
                            total += dInput
                            gradients[input] = total
                        } else {
                            gradients[input] = dInput
                        }
                    }
                }
                return gradients[0] ?? Tensor.zeros(inputShape)
            }
        )
    }

    /// The indices of the steps that `target` depends on, in order.
    func neededSteps(for target: Int) -> [Int] {
        var needed = [Bool](repeating: false, count: valueCount)
        needed[target] = true
        var chosen: [Int] = []
        for index in steps.indices.reversed() where needed[steps[index].output] {
            chosen.append(index)
            for input in steps[index].inputs { needed[input] = true }
        }
        return chosen.reversed()
    }

    // images01: [N, 1, 28, 28] in [0, 1] -> logits [N, 10]
    public func logits(_ images01: Tensor, mode: ForwardMode) -> (Tensor, Pullback) {
        run(images01, until: logitsValue, mode: mode)
    }

    // images01: [N, 1, 28, 28] -> [N, F] (the last fully connected layer's input, flattened)
    public func features(_ images01: Tensor) -> Tensor {
        let features = run(images01, until: featuresValue, mode: .eval).0
        return features.reshaped([features.batchCount, features.featureCount])
    }
}
