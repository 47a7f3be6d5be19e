import AdvModels
import AdvTensor

/// PGD whose constraint lives in a metric-learning embedding instead of pixel space, the post's
/// proposal: signed gradient steps on the classifier's loss in input space, each followed by a
/// projection onto `{x′ : ‖e(x′) − e(x)‖₂ ≤ ε_e} ∩ [0, 1]^D`, done by bisection on the segment
/// from x to the stepped image (the largest t ∈ [0, 1] whose point stays in the ball; the ball
/// need not be convex in input space, so this is a projection along the segment, not the
/// nearest point).
public struct EmbeddingPGDConfig: Codable, Sendable, Equatable {
    public var epsEmbedding: Float = 0.5
    public var stepSize: Float = 0.01
    public var steps: Int = 40
    public var bisectionSteps: Int = 12
    public init(epsEmbedding: Float = 0.5, stepSize: Float = 0.01, steps: Int = 40, bisectionSteps: Int = 12) {
        self.epsEmbedding = epsEmbedding
        self.stepSize = stepSize
        self.steps = steps
        self.bisectionSteps = bisectionSteps
    }
}

/// Embedding-space distance of each row of `x` to the matching row of `reference` ([N, D] embeddings).
func embeddingDistances(_ embedding: TripletEmbedding, _ x: Tensor, _ reference: Tensor) -> [Float] {
    let e = embedding.embed(x)
    let d = e.featureCount
    return (0..<e.batchCount).map { row in
        var s: Float = 0
        for j in 0..<d {
            let diff = e.scalars[row * d + j] - reference.scalars[row * d + j]
            s += diff * diff
        }
        return s.squareRoot()
    }
}

/// Projects each row of `candidate` toward `clean` along the segment until it lies inside the
/// embedding ball: the largest t (to bisection precision) with ‖e(x + t(x′ − x)) − e(x)‖ ≤ ε_e.
/// clean, candidate: [N, 1, 28, 28]; cleanEmbeddings: [N, D]
public func projectToEmbeddingBall(
    _ embedding: TripletEmbedding, clean: Tensor, candidate: Tensor, cleanEmbeddings: Tensor,
    eps: Float, bisectionSteps: Int
) -> Tensor {
    let n = clean.batchCount
    let f = clean.featureCount
    let full = embeddingDistances(embedding, candidate, cleanEmbeddings)
    let outside = (0..<n).filter { full[$0] > eps }
    if outside.isEmpty { return candidate }
    var low = [Float](repeating: 0, count: outside.count)
    var high = [Float](repeating: 1, count: outside.count)
    let x0 = clean.gather(outside)
    let x1 = candidate.gather(outside)
    let reference = cleanEmbeddings.gather(outside)
    func point(_ t: [Float]) -> Tensor {
        Tensor(shape: x0.shape) { out in
            for row in 0..<outside.count {
                for j in 0..<f {
                    let i = row * f + j
                    out[i] = x0.scalars[i] + t[row] * (x1.scalars[i] - x0.scalars[i])
                }
            }
        }
    }
    for _ in 0..<bisectionSteps {
        let middle = zip(low, high).map { ($0 + $1) / 2 }
        let distances = embeddingDistances(embedding, point(middle), reference)
        for row in 0..<outside.count { if distances[row] <= eps { low[row] = middle[row] } else { high[row] = middle[row] } }
    }
    // `low` is always inside (t = 0 is x itself), so the projection never leaves the ball.
    let projected = point(low)
    var result = candidate
    for (row, example) in outside.enumerated() {
        result.scalars.replaceSubrange((example * f)..<((example + 1) * f), with: projected.scalars[(row * f)..<((row + 1) * f)])
    }
    return result
}

/// Embedding-space PGD with the same bookkeeping as `gradientAttack` (frozen at first success).
/// images01: [N, 1, 28, 28]; labels: N -> outcome
public func embeddingPGD(
    model: ImageClassifier, embedding: TripletEmbedding, images01 clean: Tensor, labels: [Int], targets: [Int]? = nil,
    config: EmbeddingPGDConfig, indexOffset: Int = 0
) -> AttackOutcome {
    let n = clean.batchCount
    let f = clean.featureCount
    let cleanEmbeddings = embedding.embed(clean)
    var x = clean
    var succeeded = [Bool](repeating: false, count: n)
    var evaluations = 0
    for step in 0...config.steps {
        let active = (0..<n).filter { !succeeded[$0] }
        if active.isEmpty { break }
        let xActive = x.gather(active)
        let (_, logits, gradient) = attackLossGradient(
            model: model, images01: xActive, labels: active.map { labels[$0] },
            targets: targets.map { t in active.map { t[$0] } })
        evaluations += active.count
        let success = isSuccess(logits: logits, labels: active.map { labels[$0] }, targets: targets.map { t in active.map { t[$0] } })
        for (row, example) in active.enumerated() where success[row] { succeeded[example] = true }
        if step == config.steps { break }
        let moving = active.enumerated().filter { !success[$0.offset] }
        if moving.isEmpty { break }
        let rows = moving.map(\.offset)
        let examples = moving.map(\.element)
        let stepped = Tensor(shape: [rows.count] + Array(clean.shape.dropFirst())) { out in
            for (r, row) in rows.enumerated() {
                for j in 0..<f {
                    let g = gradient.scalars[row * f + j]
                    out[r * f + j] = min(max(xActive.scalars[row * f + j] + config.stepSize * (g > 0 ? 1 : (g < 0 ? -1 : 0)), 0), 1)
                }
            }
        }
        let projected = projectToEmbeddingBall(
            embedding, clean: clean.gather(examples), candidate: stepped,
            cleanEmbeddings: cleanEmbeddings.gather(examples), eps: config.epsEmbedding,
            bisectionSteps: config.bisectionSteps)
        for (r, example) in examples.enumerated() {
            x.scalars.replaceSubrange((example * f)..<((example + 1) * f), with: projected.scalars[(r * f)..<((r + 1) * f)])
        }
    }
    let results = makeResults(model: model, clean: clean, adversarial: x, labels: labels, targets: targets, indexOffset: indexOffset)
    return AttackOutcome(adversarialImages: x, results: results, gradientEvaluations: evaluations)
}
