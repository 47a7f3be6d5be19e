import AdvNN
import AdvTensor

/// A differentiable image classifier: what attacks, metrics and the report need of a model.
public protocol ImageClassifier: AnyObject, ParameterContainer {
    /// Logits and their pullback. images01: [N, 1, 28, 28] in [0, 1] -> logits [N, 10]
    func logits(_ images01: Tensor, mode: ForwardMode) -> (Tensor, Pullback)
    /// Penultimate-layer features (FCD, distance analysis). images01: [N, 1, 28, 28] -> [N, F]
    func features(_ images01: Tensor) -> Tensor
    var classCount: Int { get }
}

extension ImageClassifier {
    /// Logits in evaluation mode, in batches of `batchSize` to bound memory. [N, 1, 28, 28] -> [N, 10]
    public func predictLogits(_ images01: Tensor, batchSize: Int = 500) -> Tensor {
        images01.batchCount == 0 ? Tensor.zeros([0, classCount]) : images01.mapBatches(batchSize) { logits($0, mode: .eval).0 }
    }

    /// Predicted classes. [N, 1, 28, 28] -> N labels
    public func predict(_ images01: Tensor, batchSize: Int = 500) -> [Int] {
        predictLogits(images01, batchSize: batchSize).argmaxRows()
    }

    /// Penultimate features in batches. [N, 1, 28, 28] -> [N, F]
    public func batchedFeatures(_ images01: Tensor, batchSize: Int = 500) -> Tensor {
        images01.mapBatches(batchSize) { features($0) }
    }
}
