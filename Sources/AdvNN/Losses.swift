import AdvTensor
import Foundation

/// Losses as free functions returning the value and ∂loss/∂input (a loss is the end of a
/// pullback chain, so its "pullback" is just the gradient).

/// Row-wise softmax of `[N, K]` logits (max-subtracted, so large logits don't overflow).
public func softmax(_ logits: Tensor) -> Tensor {
    precondition(logits.rank == 2, "softmax needs [N, K], got \(logits.shape)")
    let k = logits.shape[1]
    var result = logits
    result.scalars.withUnsafeMutableBufferPointer { p in
        for row in 0..<logits.shape[0] {
            let r = p.baseAddress! + row * k
            var largest = -Float.infinity
            for j in 0..<k { largest = max(largest, r[j]) }
            var total: Float = 0
            for j in 0..<k {
                r[j] = expf(r[j] - largest)
                total += r[j]
            }
            for j in 0..<k { r[j] /= total }
        }
    }
    return result
}

/// Row-wise log-softmax of `[N, K]` logits.
public func logSoftmax(_ logits: Tensor) -> Tensor {
    precondition(logits.rank == 2, "logSoftmax needs [N, K], got \(logits.shape)")
    let k = logits.shape[1]
    var result = logits
    result.scalars.withUnsafeMutableBufferPointer { p in
        for row in 0..<logits.shape[0] {
            let r = p.baseAddress! + row * k
            var largest = -Float.infinity
            for j in 0..<k { largest = max(largest, r[j]) }
            var total: Float = 0
            for j in 0..<k { total += expf(r[j] - largest) }
            let logTotal = largest + logf(total)
            for j in 0..<k { r[j] -= logTotal }
        }
    }
    return result
}

/// Softmax cross-entropy per example: `losses[i] = −log softmax(logits_i)[labels_i]`, and the
/// gradient of their **sum** with respect to the logits (`softmax − onehot`, row by row).
/// logits: [N, K], labels: N values in 0..<K.
public func softmaxCrossEntropyPerExample(logits: Tensor, labels: [Int]) -> (losses: [Float], gradient: Tensor) {
    precondition(logits.rank == 2 && logits.shape[0] == labels.count, "cross-entropy: logits \(logits.shape) for \(labels.count) labels")
    let k = logits.shape[1]
    let logProbabilities = logSoftmax(logits)
    var gradient = logProbabilities.map { expf($0) }
    var losses = [Float](repeating: 0, count: labels.count)
    for (row, label) in labels.enumerated() {
        precondition(label >= 0 && label < k, "label \(label) outside 0..<\(k)")
        losses[row] = -logProbabilities.scalars[row * k + label]
        gradient.scalars[row * k + label] -= 1
    }
    return (losses, gradient)
}

/// Mean softmax cross-entropy over the batch and its gradient with respect to the logits.
/// logits: [N, K], labels: N values in 0..<K.
public func softmaxCrossEntropy(logits: Tensor, labels: [Int]) -> (loss: Float, gradient: Tensor) {
    let (losses, gradient) = softmaxCrossEntropyPerExample(logits: logits, labels: labels)
    let n = Float(max(1, labels.count))
    return (losses.reduce(0, +) / n, gradient * (1 / n))
}

/// Mean binary cross-entropy with logits, `mean(max(x,0) − x·t + log(1 + e^−|x|))`, and its
/// gradient `(σ(x) − t) / count`. logits and targets: same shape, targets in [0, 1].
public func binaryCrossEntropyWithLogits(logits: Tensor, targets: Tensor) -> (loss: Float, gradient: Tensor) {
    precondition(logits.shape == targets.shape, "BCE: logits \(logits.shape) vs targets \(targets.shape)")
    let n = Float(max(1, logits.count))
    var total = 0.0
    for (x, t) in zip(logits.scalars, targets.scalars) {
        total += Double(max(x, 0) - x * t + log1pf(expf(-abs(x))))
    }
    let gradient = logits.zipMap(targets) { x, t in (stableSigmoid(x) - t) / n }
    return (Float(total / Double(n)), gradient)
}

/// Mean binary cross-entropy with logits against a constant target (1 = real, 0 = fake).
public func binaryCrossEntropyWithLogits(logits: Tensor, target: Float) -> (loss: Float, gradient: Tensor) {
    binaryCrossEntropyWithLogits(logits: logits, targets: Tensor(repeating: target, shape: logits.shape))
}

/// Mean squared error `mean((p − t)²)` and its gradient `2(p − t)/count`.
public func meanSquaredError(predictions: Tensor, targets: Tensor) -> (loss: Float, gradient: Tensor) {
    precondition(predictions.shape == targets.shape, "MSE: \(predictions.shape) vs \(targets.shape)")
    let n = Float(max(1, predictions.count))
    let difference = predictions - targets
    let loss = Float(difference.scalars.reduce(0.0) { $0 + Double($1) * Double($1) } / Double(n))
    return (loss, difference * (2 / n))
}
