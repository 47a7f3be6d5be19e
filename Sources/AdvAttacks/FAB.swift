import AdvModels
import AdvNN
import AdvTensor
import Foundation

/// Settings of targeted FAB (Croce & Hein, "Minimally distorted adversarial examples with a fast
/// adaptive boundary attack", ICML 2020), as AutoAttack's standard version runs it (FAB-T):
/// 9 target classes, 100 iterations, one start, α_max 0.1, η 1.05, β 0.9.
public struct FABConfig: Codable, Sendable, Equatable {
    public var norm: PerturbationNorm = .linf
    /// The radius robust accuracy is measured at: an example is broken when FAB finds a
    /// misclassified point within ε, and it is not attacked further once it has one.
    public var eps: Float = 0.3
    public var iterations: Int = 100
    /// The targets are the 2nd, 3rd, … most likely classes of the clean logits, this many of them.
    public var targetClasses: Int = 9
    /// α_max: the largest weight of the step from the clean image (the bias toward staying close).
    public var maximumAlpha: Float = 0.1
    /// η: overshoot of the projection onto the linearised boundary.
    public var overshoot: Float = 1.05
    /// β: after finding an adversarial point, move back toward the clean image by this factor.
    public var backtrack: Float = 0.9

    public init(norm: PerturbationNorm = .linf, eps: Float = 0.3, iterations: Int = 100, targetClasses: Int = 9) {
        self.norm = norm
        self.eps = eps
        self.iterations = iterations
        self.targetClasses = targetClasses
    }
}

/// FAB-T: for each target t among the most likely other classes of the clean logits, FAB
/// linearises the boundary z_t − z_y = 0 at the current point, projects both the current point
/// and the clean image onto that hyperplane (intersected with the box [0, 1]), steps to a convex
/// combination of the two projections (biased toward the clean one), and after each misclassified
/// point backtracks toward the clean image, so it looks for the *smallest* perturbation that
/// crosses the boundary. An example counts as broken when a misclassified point within ε was found.
/// Clean-misclassified examples are not attacked; unbroken examples keep the clean image.
/// images01: [N, 1, 28, 28] in [0, 1]; labels: N -> outcome (results untargeted)
public func fabTargeted(
    model: ImageClassifier, images01 clean: Tensor, labels: [Int], config: FABConfig,
    indexOffset: Int = 0
) -> AttackOutcome {
    let n = clean.batchCount
    let cleanLogits = model.predictLogits(clean)
    let cleanPredictions = cleanLogits.argmaxRows()
    var broken = (0..<n).map { cleanPredictions[$0] != labels[$0] }
    var adversarial = clean
    var evaluations = 0
    let k = cleanLogits.shape[1]
    for rank in 1...max(1, min(config.targetClasses, k - 1)) {
        let active = (0..<n).filter { !broken[$0] }
        if active.isEmpty { break }
        let targets = active.map { row in descendingClasses(Array(cleanLogits.scalars[(row * k)..<((row + 1) * k)]))[rank] }
        let run = fabRun(model: model, clean: clean.gather(active), labels: active.map { labels[$0] }, targets: targets, config: config)
        evaluations += run.evaluations
        for (position, row) in active.enumerated() where run.distances[position] <= config.eps {
            broken[row] = true
            adversarial.replaceBatch(at: row, with: run.points.slice(position..<(position + 1)))
        }
    }
    let results = makeResults(
        model: model, clean: clean, adversarial: adversarial, labels: labels, targets: nil,
        cleanPredictions: cleanPredictions, indexOffset: indexOffset)
    return AttackOutcome(adversarialImages: adversarial, results: results, gradientEvaluations: evaluations)
}

/// One targeted FAB run: the closest misclassified point found per example (the clean image if
/// none), its distance (+∞ if none) and the per-example gradient passes.
struct FABRun {
    var points: Tensor
    var distances: [Float]
    var evaluations: Int
}

/// One targeted FAB run from the clean images. Each iteration needs ∇(z_t − z_y) at the current
/// point; the forward pass that checks whether the new point is misclassified is kept and its
/// pullback gives the next gradient (the reference computes that forward pass twice), and only
/// examples that backtracked need a new one. An example stops once its distance is ≤ ε.
/// clean: [N, 1, 28, 28]; labels, targets: N -> run
func fabRun(model: ImageClassifier, clean x0: Tensor, labels: [Int], targets: [Int], config: FABConfig) -> FABRun {
    let n = x0.batchCount
    let f = x0.featureCount
    var x = x0
    var best = x0
    var distances = [Float](repeating: .infinity, count: n)
    var evaluations = 0

    /// Forward passes whose pullbacks hold the gradient at the current points of their rows.
    struct Pass {
        var rows: [Int]
        var logits: Tensor
        var pullback: Pullback
    }
    func forward(_ rows: [Int]) -> Pass {
        let (logits, pullback) = model.logits(x.gather(rows), mode: .eval)
        return Pass(rows: rows, logits: logits, pullback: pullback)
    }

    var active = Array(0..<n)
    var passes = [forward(active)]
    var hyperplaneW = Tensor.zeros(like: x0)
    var hyperplaneB = [Float](repeating: 0, count: n)
    for _ in 0..<config.iterations {
        if active.isEmpty { break }
        let stillActive = Set(active)
        // g = z_t − z_y and ∇g at the current points; the hyperplane w·z = b linearises g = 0.
        for pass in passes {
            let k = pass.logits.shape[1]
            var dLogits = Tensor.zeros(pass.logits.shape)
            var differences = [Float](repeating: 0, count: pass.rows.count)
            for (position, row) in pass.rows.enumerated() where stillActive.contains(row) {
                dLogits.scalars[position * k + targets[row]] = 1
                dLogits.scalars[position * k + labels[row]] = -1
                differences[position] = pass.logits.scalars[position * k + targets[row]] - pass.logits.scalars[position * k + labels[row]]
            }
            let gradient = pass.pullback(dLogits)
            evaluations += pass.rows.count
            for (position, row) in pass.rows.enumerated() where stillActive.contains(row) {
                let range = (row * f)..<((row + 1) * f)
                var dot: Float = 0
                for j in 0..<f { dot += gradient.scalars[position * f + j] * x.scalars[row * f + j] }
                hyperplaneW.scalars.replaceSubrange(range, with: gradient.scalars[(position * f)..<((position + 1) * f)])
                hyperplaneB[row] = dot - differences[position]
            }
        }
        for row in active {
            fabStep(x: &x, clean: x0, w: hyperplaneW, b: hyperplaneB[row], row: row, featureCount: f, config: config)
        }
        let pass = forward(active)
        let predictions = pass.logits.argmaxRows()
        var backtracked: [Int] = []
        for (position, row) in active.enumerated() where predictions[position] != labels[row] {
            let range = (row * f)..<((row + 1) * f)
            let distance = fabDistance(x, x0, range: range, norm: config.norm)
            if distance < distances[row] {
                distances[row] = distance
                best.scalars.replaceSubrange(range, with: x.scalars[range])
            }
            for i in range { x.scalars[i] = x0.scalars[i] + (x.scalars[i] - x0.scalars[i]) * config.backtrack }
            backtracked.append(row)
        }
        active = active.filter { distances[$0] > config.eps }
        let remaining = Set(active)
        backtracked = backtracked.filter { remaining.contains($0) }
        // A backtracked row takes its next gradient from its own new pass: its place in this
        // pass becomes −1, which the gradient loop skips (it is not an active row).
        let moved = Set(backtracked)
        passes = [Pass(rows: pass.rows.map { moved.contains($0) ? -1 : $0 }, logits: pass.logits, pullback: pass.pullback)]
        if !backtracked.isEmpty { passes.append(forward(backtracked)) }
    }
    return FABRun(points: best, distances: distances, evaluations: evaluations)
}

/// ‖x − x0‖ of one example (rows `range`) in `norm`.
func fabDistance(_ x: Tensor, _ x0: Tensor, range: Range<Int>, norm: PerturbationNorm) -> Float {
    var result: Float = 0
    for i in range {
        let d = abs(x.scalars[i] - x0.scalars[i])
        result = norm == .linf ? max(result, d) : result + d * d
    }
    return norm == .linf ? result : result.squareRoot()
}

/// One FAB step of one example: d1, d2 = the minimal-norm moves of the current point and of the
/// clean image onto {w·z = b} ∩ [0, 1]^d; α = min(‖d1‖/(‖d1‖ + ‖d2‖), α_max);
/// x ← clip((1 − α)(x + η d1) + α(x0 + η d2)).
func fabStep(x: inout Tensor, clean x0: Tensor, w: Tensor, b: Float, row: Int, featureCount f: Int, config: FABConfig) {
    let range = (row * f)..<((row + 1) * f)
    let weights = Array(w.scalars[range])
    let current = Array(x.scalars[range])
    let origin = Array(x0.scalars[range])
    let d1 = boxedHyperplaneProjection(point: current, w: weights, b: b, norm: config.norm)
    let d2 = boxedHyperplaneProjection(point: origin, w: weights, b: b, norm: config.norm)
    func length(_ d: [Float]) -> Float {
        config.norm == .linf ? d.reduce(0) { max($0, abs($1)) } : d.reduce(0) { $0 + $1 * $1 }.squareRoot()
    }
    let a1 = max(length(d1), 1e-8)
    let a2 = max(length(d2), 1e-8)
    let alpha = min(max(a1 / (a1 + a2), 0), config.maximumAlpha)
    for j in 0..<f {
        let moved = (current[j] + config.overshoot * d1[j]) * (1 - alpha) + (origin[j] + config.overshoot * d2[j]) * alpha
        x.scalars[row * f + j] = min(max(moved, 0), 1)
    }
}

/// The smallest move d (in L∞ or L2) that puts `point + d` on the hyperplane w·z = b while
/// keeping it in [0, 1]^d; when the box does not reach the hyperplane, the move to the box's
/// corner that gets closest. Coordinate i moves by m_i ≥ 0 in the direction that brings w·z
/// toward b, at most to its bound (p_i); the optimum is m_i = min(λ·a_i, p_i) with a_i = 1
/// (L∞) or |w_i| (L2), where λ solves Σ |w_i| m_i = |w·point − b|: a sort of the breakpoints
/// p_i / a_i and one pass over them.
/// point, w: d values -> d
func boxedHyperplaneProjection(point: [Float], w: [Float], b: Float, norm: PerturbationNorm) -> [Float] {
    var gap: Float = -b
    for j in point.indices { gap += w[j] * point[j] }
    // gap > 0: decrease w·z, so coordinate j moves against sign(w_j); gap < 0: along it.
    let decrease = gap > 0
    let needed = abs(gap)
    var d = [Float](repeating: 0, count: point.count)
    guard needed > 0 else { return d }
    struct Coordinate {
        var index: Int
        var breakpoint: Float
        var weight: Float
        var rate: Float
        var room: Float
    }
    var coordinates: [Coordinate] = []
    coordinates.reserveCapacity(point.count)
    var reachable: Float = 0
    for j in point.indices where w[j] != 0 {
        let up = (w[j] < 0) == decrease
        let room = up ? 1 - point[j] : point[j]
        let weight = abs(w[j])
        let rate: Float = norm == .linf ? 1 : weight
        coordinates.append(Coordinate(index: j, breakpoint: room / rate, weight: weight, rate: rate, room: room))
        reachable += weight * room
    }
    func direction(_ j: Int) -> Float { ((w[j] < 0) == decrease) ? 1 : -1 }
    if reachable <= needed {
        for c in coordinates { d[c.index] = direction(c.index) * c.room }
        return d
    }
    coordinates.sort { $0.breakpoint < $1.breakpoint }
    // Σ over saturated coordinates of |w| p, plus λ Σ over the others of |w| a.
    var saturated: Float = 0
    var slope = coordinates.reduce(0) { $0 + $1.weight * $1.rate }
    var lambda: Float = 0
    for c in coordinates {
        if saturated + c.breakpoint * slope >= needed { break }
        saturated += c.weight * c.room
        slope -= c.weight * c.rate
        lambda = c.breakpoint
    }
    lambda = slope > 0 ? max(lambda, (needed - saturated) / slope) : lambda
    for c in coordinates { d[c.index] = direction(c.index) * min(lambda * c.rate, c.room) }
    return d
}
