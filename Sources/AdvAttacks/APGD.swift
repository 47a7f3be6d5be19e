import AdvModels
import AdvNN
import AdvTensor
import Foundation

/// The loss APGD ascends.
public enum APGDLoss: String, Codable, Sendable {
    /// Cross-entropy of the label (APGD-CE).
    case crossEntropy = "ce"
    /// Targeted DLR toward each of the most likely other classes of the clean logits in turn (APGD-T).
    case targetedDLR = "dlr-targeted"
}

/// Settings of Auto-PGD (Croce & Hein, "Reliable evaluation of adversarial robustness with an
/// ensemble of diverse parameter-free attacks", ICML 2020). Defaults are AutoAttack's standard
/// ones: 100 iterations, one restart, ρ 0.75, momentum 0.75, 9 target classes for APGD-T.
public struct APGDConfig: Codable, Sendable, Equatable {
    public var norm: PerturbationNorm = .linf
    public var eps: Float = 0.3
    public var iterations: Int = 100
    /// Random starts per target class; an example that has been fooled is not attacked again.
    public var restarts: Int = 1
    public var loss: APGDLoss = .crossEntropy
    /// APGD-T: the targets are the 2nd, 3rd, … most likely classes of the clean logits, this many of them.
    public var targetClasses: Int = 9
    /// ρ of the oscillation condition: the step is halved at a checkpoint when the loss rose in at
    /// most this share of the iterations since the last one.
    public var rho: Float = 0.75
    /// α of the momentum step `x ← x + α(z − x) + (1 − α)(x − x_prev)` (1 on the first iteration).
    public var momentum: Float = 0.75

    public init(
        norm: PerturbationNorm = .linf, eps: Float = 0.3, iterations: Int = 100, restarts: Int = 1,
        loss: APGDLoss = .crossEntropy, targetClasses: Int = 9
    ) {
        self.norm = norm
        self.eps = eps
        self.iterations = iterations
        self.restarts = restarts
        self.loss = loss
        self.targetClasses = targetClasses
    }

    /// The checkpoints' spacing (paper §3.2): the first after 22 % of the iterations, each next one
    /// 3 % of them closer than the previous, but never closer than 6 %.
    var firstCheckpointInterval: Int { max(Int(0.22 * Double(iterations)), 1) }
    var checkpointIntervalDecrease: Int { max(Int(0.03 * Double(iterations)), 1) }
    var minimumCheckpointInterval: Int { max(Int(0.06 * Double(iterations)), 1) }
}

/// APGD (APGD-CE or APGD-T by `config.loss`), untargeted in effect: an example counts as broken
/// when the model misclassifies it, whatever class it lands in. Clean-misclassified examples are
/// not attacked. Each run steps with momentum and a per-example step size that starts at 2ε and
/// is halved at a checkpoint (restarting from the best point so far) when the loss oscillates or
/// stopped improving. An example is frozen at its first misclassified iterate; an example never
/// fooled keeps the highest-loss point of all its runs (its worst case).
/// images01: [N, 1, 28, 28] in [0, 1]; labels: N -> outcome (results untargeted)
public func apgd(
    model: ImageClassifier, images01 clean: Tensor, labels: [Int], config: APGDConfig,
    using rng: inout some RandomNumberGenerator, indexOffset: Int = 0
) -> AttackOutcome {
    let n = clean.batchCount
    let cleanLogits = model.predictLogits(clean)
    let cleanPredictions = cleanLogits.argmaxRows()
    var broken = (0..<n).map { cleanPredictions[$0] != labels[$0] }
    var adversarial = clean
    var bestLoss = [Float](repeating: -.infinity, count: n)
    var evaluations = 0

    // APGD-CE: `restarts` rounds. APGD-T: for each target rank, `restarts` rounds.
    let targetRanks: [Int?] = config.loss == .crossEntropy ? [nil] : Array(1...max(1, min(config.targetClasses, model.classCount - 1)))
    let k = cleanLogits.shape[1]
    for rank in targetRanks {
        for _ in 0..<max(1, config.restarts) {
            let active = (0..<n).filter { !broken[$0] }
            if active.isEmpty { break }
            let activeLabels = active.map { labels[$0] }
            let activeTargets = rank.map { rank in
                active.map { row in descendingClasses(Array(cleanLogits.scalars[(row * k)..<((row + 1) * k)]))[rank] }
            }
            let run = apgdRun(
                model: model, clean: clean.gather(active), labels: activeLabels, targets: activeTargets,
                config: config, using: &rng)
            evaluations += run.evaluations
            for (position, row) in active.enumerated() where run.fooled[position] || run.bestLoss[position] > bestLoss[row] {
                bestLoss[row] = run.bestLoss[position]
                adversarial.replaceBatch(at: row, with: run.points.slice(position..<(position + 1)))
                if run.fooled[position] { broken[row] = true }
            }
        }
    }
    let results = makeResults(
        model: model, clean: clean, adversarial: adversarial, labels: labels, targets: nil,
        cleanPredictions: cleanPredictions, indexOffset: indexOffset)
    return AttackOutcome(adversarialImages: adversarial, results: results, gradientEvaluations: evaluations)
}

/// Classes by decreasing logit (ties: lower class first).
func descendingClasses(_ logits: [Float]) -> [Int] {
    logits.indices.sorted { logits[$0] > logits[$1] || (logits[$0] == logits[$1] && $0 < $1) }
}

/// One APGD run on a batch: the points (the first misclassified iterate, else the highest-loss
/// one), whether each example was fooled, its highest loss, and the per-example gradient passes.
struct APGDRun {
    var points: Tensor
    var fooled: [Bool]
    var bestLoss: [Float]
    var evaluations: Int
}

/// One APGD run from a random start (Algorithm 1 of the paper, with the checkpoints of §3.2).
/// Every example has its own step size and schedule state; a fooled example leaves the batch
/// (its point is final), which does not change the others' trajectories.
/// clean: [N, 1, 28, 28]; labels: N; targets: N (targeted DLR) or nil (cross-entropy) -> run
func apgdRun(
    model: ImageClassifier, clean x0: Tensor, labels: [Int], targets: [Int]?, config: APGDConfig,
    using rng: inout some RandomNumberGenerator
) -> APGDRun {
    let n = x0.batchCount
    let f = x0.featureCount
    let eps = config.eps
    var x = apgdStart(clean: x0, norm: config.norm, eps: eps, using: &rng)
    var previous = x
    var gradient = Tensor.zeros(like: x0)
    var bestPoint = x
    var bestGradient = gradient
    var firstAdversarial = x
    var bestLoss = [Float](repeating: -.infinity, count: n)
    var fooled = [Bool](repeating: false, count: n)
    var stepSize = [Float](repeating: 2 * eps, count: n)
    // history[row][i]: loss at iterate i (0 = the start), for the oscillation count.
    var history = [[Float]](repeating: [Float](repeating: 0, count: config.iterations + 1), count: n)
    var bestAtLastCheckpoint = [Float](repeating: 0, count: n)
    var reducedAtLastCheckpoint = [Bool](repeating: true, count: n)
    var evaluations = 0

    /// Loss, prediction and gradient at the current points of `rows`, written into the state.
    func evaluate(_ rows: [Int], iterate: Int) {
        let points = x.gather(rows)
        let (logits, pullback) = model.logits(points, mode: .eval)
        let rowLabels = rows.map { labels[$0] }
        let (losses, dLogits) =
            targets.map { t in
                targetedDLRLossPerExample(logits: logits, labels: rowLabels, targets: rows.map { t[$0] })
            } ?? softmaxCrossEntropyPerExample(logits: logits, labels: rowLabels)
        let rowGradients = pullback(dLogits)
        let predictions = logits.argmaxRows()
        evaluations += rows.count
        for (position, row) in rows.enumerated() {
            let range = (row * f)..<((row + 1) * f)
            let source = (position * f)..<((position + 1) * f)
            gradient.scalars.replaceSubrange(range, with: rowGradients.scalars[source])
            history[row][iterate] = losses[position]
            if predictions[position] != labels[row] && !fooled[row] {
                fooled[row] = true
                firstAdversarial.scalars.replaceSubrange(range, with: x.scalars[range])
            }
            if losses[position] > bestLoss[row] {
                bestLoss[row] = losses[position]
                bestPoint.scalars.replaceSubrange(range, with: x.scalars[range])
                bestGradient.scalars.replaceSubrange(range, with: gradient.scalars[range])
            }
        }
    }

    var active = Array(0..<n)
    evaluate(active, iterate: 0)
    for row in active { bestAtLastCheckpoint[row] = bestLoss[row] }
    active = active.filter { !fooled[$0] }
    var interval = config.firstCheckpointInterval
    var sinceCheckpoint = 0
    for iteration in 0..<config.iterations {
        if active.isEmpty { break }
        let alpha: Float = iteration == 0 ? 1 : config.momentum
        for row in active {
            apgdStep(
                x: &x, previous: &previous, clean: x0, gradient: gradient, row: row, featureCount: f,
                stepSize: stepSize[row], alpha: alpha, eps: eps, norm: config.norm)
        }
        evaluate(active, iterate: iteration + 1)
        sinceCheckpoint += 1
        if sinceCheckpoint == interval {
            for row in active {
                // Condition 1: the loss rose in at most ρ of the last `interval` iterations.
                var increases = 0
                for i in (iteration + 1 - interval)...iteration where history[row][i + 1] > history[row][i] { increases += 1 }
                let oscillating = Float(increases) <= Float(interval) * config.rho
                // Condition 2: the step was not reduced at the last checkpoint and the best loss did not improve since.
                let stalled = !reducedAtLastCheckpoint[row] && bestAtLastCheckpoint[row] >= bestLoss[row]
                let reduce = oscillating || stalled
                reducedAtLastCheckpoint[row] = reduce
                bestAtLastCheckpoint[row] = bestLoss[row]
                if reduce {
                    stepSize[row] /= 2
                    let range = (row * f)..<((row + 1) * f)
                    x.scalars.replaceSubrange(range, with: bestPoint.scalars[range])
                    gradient.scalars.replaceSubrange(range, with: bestGradient.scalars[range])
                }
            }
            interval = max(interval - config.checkpointIntervalDecrease, config.minimumCheckpointInterval)
            sinceCheckpoint = 0
        }
        active = active.filter { !fooled[$0] }
    }
    var points = bestPoint
    for row in 0..<n where fooled[row] {
        let range = (row * f)..<((row + 1) * f)
        points.scalars.replaceSubrange(range, with: firstAdversarial.scalars[range])
    }
    return APGDRun(points: points, fooled: fooled, bestLoss: bestLoss, evaluations: evaluations)
}

/// APGD's start: L∞, x0 + ε·t/‖t‖∞ with t uniform in [−1, 1]^d (a corner-reaching draw); L2,
/// x0 + ε·t/‖t‖₂ with t standard normal (on the sphere). Clipped to [0, 1].
/// clean: [N, …] -> [N, …]
func apgdStart(clean: Tensor, norm: PerturbationNorm, eps: Float, using rng: inout some RandomNumberGenerator) -> Tensor {
    let n = clean.batchCount
    let f = clean.featureCount
    var start = clean
    var draw = [Float](repeating: 0, count: f)
    for row in 0..<n {
        var length: Float = 0
        for j in 0..<f {
            switch norm {
            case .linf:
                draw[j] = 2 * rng.nextUniform() - 1
                length = max(length, abs(draw[j]))
            case .l2:
                draw[j] = rng.nextNormal()
                length += draw[j] * draw[j]
            }
        }
        if norm == .l2 { length = length.squareRoot() }
        let scale = eps / (length + 1e-12)
        for j in 0..<f {
            let i = row * f + j
            start.scalars[i] = min(max(clean.scalars[i] + scale * draw[j], 0), 1)
        }
    }
    return start
}

/// One APGD step of one example (row `row` of `[N, f]` buffers): z = P(x + η·step(∇)), then
/// x ← P(x + α(z − x) + (1 − α)(x − x_prev)), where P projects onto the ε-ball around x0 and [0, 1]
/// and step(∇) is sign(∇) (L∞) or ∇/‖∇‖₂ (L2). `previous` receives the point before the step.
func apgdStep(
    x: inout Tensor, previous: inout Tensor, clean x0: Tensor, gradient: Tensor, row: Int, featureCount f: Int,
    stepSize: Float, alpha: Float, eps: Float, norm: PerturbationNorm
) {
    let lower = row * f
    let upper = (row + 1) * f
    x.scalars.withUnsafeMutableBufferPointer { xs in
        previous.scalars.withUnsafeMutableBufferPointer { old in
            x0.scalars.withUnsafeBufferPointer { origin in
                gradient.scalars.withUnsafeBufferPointer { g in
                    switch norm {
                    case .linf:
                        for i in lower..<upper {
                            let o = origin[i]
                            let current = xs[i]
                            let direction: Float = g[i] > 0 ? 1 : (g[i] < 0 ? -1 : 0)
                            let z = min(max(min(max(current + stepSize * direction, o - eps), o + eps), 0), 1)
                            let moved = current + alpha * (z - current) + (1 - alpha) * (current - old[i])
                            old[i] = current
                            xs[i] = min(max(min(max(moved, o - eps), o + eps), 0), 1)
                        }
                    case .l2:
                        var gradientSquared: Float = 0
                        for i in lower..<upper { gradientSquared += g[i] * g[i] }
                        let scale = stepSize / (gradientSquared.squareRoot() + 1e-12)
                        // z = P(x + η ∇/‖∇‖): first its distance from x0, then z itself per pixel.
                        var zSquared: Float = 0
                        for i in lower..<upper {
                            let d = xs[i] + scale * g[i] - origin[i]
                            zSquared += d * d
                        }
                        let zNorm = zSquared.squareRoot()
                        let zShrink = min(eps, zNorm) / (zNorm + 1e-12)
                        var movedSquared: Float = 0
                        for i in lower..<upper {
                            let o = origin[i]
                            let current = xs[i]
                            let z = min(max(o + (current + scale * g[i] - o) * zShrink, 0), 1)
                            let moved = current + alpha * (z - current) + (1 - alpha) * (current - old[i])
                            old[i] = current
                            xs[i] = moved
                            movedSquared += (moved - o) * (moved - o)
                        }
                        let movedNorm = movedSquared.squareRoot()
                        let shrink = min(eps, movedNorm) / (movedNorm + 1e-12)
                        // Clipping to [0, 1] after the projection only shrinks |δ_i|, so ‖δ‖₂ ≤ ε still holds.
                        for i in lower..<upper {
                            let o = origin[i]
                            xs[i] = min(max(o + (xs[i] - o) * shrink, 0), 1)
                        }
                    }
                }
            }
        }
    }
}
