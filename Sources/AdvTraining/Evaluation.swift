import AdvData
import AdvModels
import AdvTensor

/// Accuracy of a classifier on a labelled set, overall and per class.
public struct AccuracyReport: Codable, Sendable {
    public var accuracy: Double
    public var perClassAccuracy: [Double]
    public var count: Int
    /// Predicted label of every example, in order.
    public var predictions: [Int]

    /// Compares `predictions` with `labels` over `classCount` classes.
    public init(predictions: [Int], labels: [Int], classCount: Int = 10) {
        precondition(predictions.count == labels.count, "predictions and labels differ in count")
        var correct = [Int](repeating: 0, count: classCount)
        var total = [Int](repeating: 0, count: classCount)
        for (p, y) in zip(predictions, labels) {
            total[y] += 1
            if p == y { correct[y] += 1 }
        }
        self.count = labels.count
        self.accuracy = labels.isEmpty ? 0 : Double(correct.reduce(0, +)) / Double(labels.count)
        self.perClassAccuracy = zip(correct, total).map { $1 == 0 ? 0 : Double($0) / Double($1) }
        self.predictions = predictions
    }
}

/// Test accuracy of `model` on `dataset` (evaluation mode, batched).
public func evaluate(_ model: ImageClassifier, on dataset: Dataset, batchSize: Int = 500) -> AccuracyReport {
    AccuracyReport(
        predictions: model.predict(dataset.images, batchSize: batchSize), labels: dataset.labels,
        classCount: dataset.classCount)
}
