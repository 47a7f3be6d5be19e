import AdvTensor

/// The post's crafted image: `x0 + ε·sign(x1)`, clipped to [0, 1]. Its L∞ distance to x0 is at
/// most ε, yet it visibly carries the strokes of x1 (a digit of another class): an example that
/// satisfies the ε-constraint and violates condition (1).
/// sources, others: [N, 1, 28, 28] in [0, 1] -> [N, 1, 28, 28]
public func combinationImages(sources: Tensor, others: Tensor, eps: Float) -> Tensor {
    precondition(sources.shape == others.shape, "combination: \(sources.shape) vs \(others.shape)")
    return sources.zipMap(others) { x0, x1 in min(max(x0 + eps * (x1 > 0 ? 1 : (x1 < 0 ? -1 : 0)), 0), 1) }
}

/// The combination image under either norm. L∞: `x0 + ε·sign(x1)` as above. L2: the sign image
/// scaled to L2 norm ε, `x0 + ε·sign(x1)/‖sign(x1)‖₂` (x0 itself where x1 is all zero); both
/// clipped to [0, 1], so ‖x' − x0‖ ≤ ε in the chosen norm.
/// sources, others: [N, 1, 28, 28] in [0, 1] -> [N, 1, 28, 28]
public func combinationImages(sources: Tensor, others: Tensor, eps: Float, norm: PerturbationNorm) -> Tensor {
    guard norm == .l2 else { return combinationImages(sources: sources, others: others, eps: eps) }
    precondition(sources.shape == others.shape, "combination: \(sources.shape) vs \(others.shape)")
    let signs = others.sign()
    let norms = signs.normsPerExample(p: 2)
    let f = sources.featureCount
    var result = sources
    for row in 0..<sources.batchCount where norms[row] > 0 {
        let scale = eps / norms[row]
        for k in (row * f)..<((row + 1) * f) { result.scalars[k] = min(max(result.scalars[k] + scale * signs.scalars[k], 0), 1) }
    }
    return result
}
