import AdvTensor

/// The post's crafted image: `x0 + ε·sign(x1)`, clipped to [0, 1]. Its L∞ distance to x0 is at
/// most ε, yet it visibly carries the strokes of x1 (a digit of another class): an example that
/// satisfies the ε-constraint and violates condition (1).
/// sources, others: [N, 1, 28, 28] in [0, 1] -> [N, 1, 28, 28]
public func combinationImages(sources: Tensor, others: Tensor, eps: Float) -> Tensor {
    precondition(sources.shape == others.shape, "combination: \(sources.shape) vs \(others.shape)")
    return sources.zipMap(others) { x0, x1 in min(max(x0 + eps * (x1 > 0 ? 1 : (x1 < 0 ? -1 : 0)), 0), 1) }
}
