import AdvModels
import AdvNN
import AdvTensor

/// The attacker's objective on a batch and its gradient with respect to the images.
///
/// Untargeted: the cross-entropy of the true label (to be increased). Targeted: minus the
/// cross-entropy of the target (so that increasing it moves toward the target). Each example's
/// gradient is that of its own loss (the sum over the batch), independent of the batch size.
/// images01: [N, 1, 28, 28] -> (losses N, logits [N, K], gradient [N, 1, 28, 28])
public func attackLossGradient(model: ImageClassifier, images01: Tensor, labels: [Int], targets: [Int]?)
    -> (losses: [Float], logits: Tensor, gradient: Tensor)
{
    let (logits, pullback) = model.logits(images01, mode: .eval)
    if let targets {
        let (losses, dLogits) = softmaxCrossEntropyPerExample(logits: logits, labels: targets)
        return (losses.map { -$0 }, logits, pullback(dLogits * -1))
    }
    let (losses, dLogits) = softmaxCrossEntropyPerExample(logits: logits, labels: labels)
    return (losses, logits, pullback(dLogits))
}

/// Whether each row of `logits` counts as a success: argmax ≠ label, or = target.
func isSuccess(logits: Tensor, labels: [Int], targets: [Int]?) -> [Bool] {
    let predicted = logits.argmaxRows()
    return predicted.indices.map { i in targets.map { predicted[i] == $0[i] } ?? (predicted[i] != labels[i]) }
}

/// Runs `body` on consecutive slices of at most `batchSize` examples and joins the outcomes
/// (bounded memory for large attack runs).
public func inBatches(count: Int, batchSize: Int, _ body: (Range<Int>) -> AttackOutcome) -> AttackOutcome {
    AttackOutcome.concatenate(batchRanges(count: count, size: batchSize).map(body))
}
