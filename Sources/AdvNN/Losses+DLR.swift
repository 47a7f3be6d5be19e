import AdvTensor

// The difference-of-logits-ratio losses of Croce & Hein ("Reliable evaluation of adversarial
// robustness with an ensemble of diverse parameter-free attacks", ICML 2020, §4). Dividing the
// logit margin by a spread of the largest logits makes the loss invariant to shifting and
// rescaling the logits, so an attack on it cannot be fooled by a model that merely inflates its
// logits (where cross-entropy saturates and its gradient vanishes). Both losses are meant to be
// *increased* by an attack and are ≥ 0 exactly where the example is misclassified (resp. hits the target).

/// `1e-12` in the denominators, as in the reference, so a row of equal logits gives 0, not NaN.
let dlrDenominatorFloor: Float = 1e-12

/// Untargeted DLR per example: `−(z_y − max_{i≠y} z_i) / (z_π1 − z_π3)`, with π the logits sorted
/// in decreasing order, and the gradient of the **sum** with respect to the logits.
/// logits: [N, K] with K ≥ 3, labels: N values in 0..<K -> (losses N, gradient [N, K])
public func dlrLossPerExample(logits: Tensor, labels: [Int]) -> (losses: [Float], gradient: Tensor) {
    precondition(
        logits.rank == 2 && logits.shape[0] == labels.count && logits.shape[1] >= 3,
        "DLR: logits \(logits.shape) for \(labels.count) labels (needs K ≥ 3)")
    let k = logits.shape[1]
    var gradient = Tensor.zeros(logits.shape)
    var losses = [Float](repeating: 0, count: labels.count)
    for (row, label) in labels.enumerated() {
        precondition(label >= 0 && label < k, "label \(label) outside 0..<\(k)")
        let z = Array(logits.scalars[(row * k)..<((row + 1) * k)])
        let order = descendingOrder(z)
        let other = order[0] == label ? order[1] : order[0]
        let margin = z[label] - z[other]
        let spread = z[order[0]] - z[order[2]] + dlrDenominatorFloor
        losses[row] = -margin / spread
        // L = −m/s: ∂L/∂m = −1/s, ∂L/∂s = m/s²; m = z_y − z_o, s = z_π1 − z_π3.
        let base = row * k
        gradient.scalars[base + label] -= 1 / spread
        gradient.scalars[base + other] += 1 / spread
        gradient.scalars[base + order[0]] += margin / (spread * spread)
        gradient.scalars[base + order[2]] -= margin / (spread * spread)
    }
    return (losses, gradient)
}

/// Targeted DLR per example (the loss of APGD-T): `−(z_y − z_t) / (z_π1 − (z_π3 + z_π4)/2)`, and
/// the gradient of the **sum** with respect to the logits.
/// logits: [N, K] with K ≥ 4, labels and targets: N values in 0..<K -> (losses N, gradient [N, K])
public func targetedDLRLossPerExample(logits: Tensor, labels: [Int], targets: [Int]) -> (losses: [Float], gradient: Tensor) {
    precondition(
        logits.rank == 2 && logits.shape[0] == labels.count && labels.count == targets.count && logits.shape[1] >= 4,
        "targeted DLR: logits \(logits.shape) for \(labels.count) labels and \(targets.count) targets (needs K ≥ 4)")
    let k = logits.shape[1]
    var gradient = Tensor.zeros(logits.shape)
    var losses = [Float](repeating: 0, count: labels.count)
    for row in labels.indices {
        let label = labels[row]
        let target = targets[row]
        precondition(label >= 0 && label < k && target >= 0 && target < k, "label \(label) or target \(target) outside 0..<\(k)")
        let z = Array(logits.scalars[(row * k)..<((row + 1) * k)])
        let order = descendingOrder(z)
        let margin = z[label] - z[target]
        let spread = z[order[0]] - 0.5 * (z[order[2]] + z[order[3]]) + dlrDenominatorFloor
        losses[row] = -margin / spread
        // L = −m/s with m = z_y − z_t and s = z_π1 − (z_π3 + z_π4)/2.
        let base = row * k
        let dSpread = margin / (spread * spread)
        gradient.scalars[base + label] -= 1 / spread
        gradient.scalars[base + target] += 1 / spread
        gradient.scalars[base + order[0]] += dSpread
        gradient.scalars[base + order[2]] -= 0.5 * dSpread
        gradient.scalars[base + order[3]] -= 0.5 * dSpread
    }
    return (losses, gradient)
}

/// Indices of `values` from the largest to the smallest (ties: the lower index first).
func descendingOrder(_ values: [Float]) -> [Int] {
    values.indices.sorted { values[$0] > values[$1] || (values[$0] == values[$1] && $0 < $1) }
}
