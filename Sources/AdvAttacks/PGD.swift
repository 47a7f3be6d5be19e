import AdvModels
import AdvTensor
import Foundation

/// Settings of the gradient attacks. FGSM is one full-ε step without random start; IGS/BIM
/// (Kurakin et al. 2017) is PGD without random start; PGD (Madry et al. 2018) starts uniformly
/// in the ε-ball and may restart. MNIST-challenge defaults: L∞, ε 0.3, step 0.01, 40 steps.
public struct GradientAttackConfig: Codable, Sendable, Equatable {
    public var norm: PerturbationNorm = .linf
    public var eps: Float = 0.3
    public var stepSize: Float = 0.01
    public var steps: Int = 40
    public var restarts: Int = 1
    public var randomStart: Bool = true

    public init(
        norm: PerturbationNorm = .linf, eps: Float = 0.3, stepSize: Float = 0.01, steps: Int = 40,
        restarts: Int = 1, randomStart: Bool = true
    ) {
        self.norm = norm
        self.eps = eps
        self.stepSize = stepSize
        self.steps = steps
        self.restarts = restarts
        self.randomStart = randomStart
    }

    /// FGSM (Goodfellow et al. 2015): one step of size ε along the gradient's sign (L∞) or its
    /// direction (L2, the fast gradient method).
    public static func fgsm(norm: PerturbationNorm = .linf, eps: Float) -> GradientAttackConfig {
        GradientAttackConfig(norm: norm, eps: eps, stepSize: eps, steps: 1, restarts: 1, randomStart: false)
    }

    /// IGS / BIM (Kurakin, Goodfellow & Bengio 2017): iterated gradient sign from the clean image.
    public static func igs(norm: PerturbationNorm = .linf, eps: Float, stepSize: Float = 0.01, steps: Int = 40) -> GradientAttackConfig {
        GradientAttackConfig(norm: norm, eps: eps, stepSize: stepSize, steps: steps, restarts: 1, randomStart: false)
    }
}

/// Gradient attacks with per-example bookkeeping: every iterate of every restart is checked,
/// an example is frozen at the first iterate that fools the model (so more steps or restarts
/// can only add successes), and an example never fooled keeps its highest-loss iterate.
/// images01: [N, 1, 28, 28] in [0, 1]; labels: N; targets: N or nil -> outcome
public func gradientAttack(
    model: ImageClassifier, images01 clean: Tensor, labels: [Int], targets: [Int]? = nil,
    config: GradientAttackConfig, using rng: inout some RandomNumberGenerator,
    indexOffset: Int = 0
) -> AttackOutcome {
    let n = clean.batchCount
    let f = clean.featureCount
    var best = clean
    var bestLoss = [Float](repeating: -.infinity, count: n)
    var succeeded = [Bool](repeating: false, count: n)
    var evaluations = 0

    for _ in 0..<max(1, config.restarts) {
        // Draw the start for the whole batch so the stream does not depend on earlier successes.
        let start = config.randomStart ? randomStart(clean: clean, config: config, using: &rng) : clean
        var active = (0..<n).filter { !succeeded[$0] }
        if active.isEmpty { break }
        var x = start.gather(active)
        var x0 = clean.gather(active)
        for step in 0...config.steps {
            let activeLabels = active.map { labels[$0] }
            let activeTargets = targets.map { t in active.map { t[$0] } }
            let (losses, logits, gradient) = attackLossGradient(model: model, images01: x, labels: activeLabels, targets: activeTargets)
            evaluations += active.count
            let success = isSuccess(logits: logits, labels: activeLabels, targets: activeTargets)
            var keep: [Int] = []
            for (row, example) in active.enumerated() {
                if success[row] || losses[row] > bestLoss[example] {
                    bestLoss[example] = losses[row]
                    best.scalars.replaceSubrange((example * f)..<((example + 1) * f), with: x.scalars[(row * f)..<((row + 1) * f)])
                }
                if success[row] { succeeded[example] = true } else { keep.append(row) }
            }
            if step == config.steps || keep.isEmpty { break }
            if keep.count < active.count {
                active = keep.map { active[$0] }
                x = x.gather(keep)
                x0 = x0.gather(keep)
                x = ascend(x, x0: x0, gradient: gradient.gather(keep), config: config)
            } else {
                x = ascend(x, x0: x0, gradient: gradient, config: config)
            }
        }
    }
    let results = makeResults(model: model, clean: clean, adversarial: best, labels: labels, targets: targets, indexOffset: indexOffset)
    return AttackOutcome(adversarialImages: best, results: results, gradientEvaluations: evaluations)
}

/// Plain PGD for adversarial training (Madry et al.): random start, `steps` steps, the final
/// iterate (no per-example early stop, which would weaken the training examples).
/// images01: [N, 1, 28, 28] -> [N, 1, 28, 28]
public func pgdTrainingExamples(
    model: ImageClassifier, images01 clean: Tensor, labels: [Int],
    config: GradientAttackConfig, using rng: inout some RandomNumberGenerator
) -> Tensor {
    var x = config.randomStart ? randomStart(clean: clean, config: config, using: &rng) : clean
    for _ in 0..<config.steps {
        let gradient = attackLossGradient(model: model, images01: x, labels: labels, targets: nil).gradient
        x = ascend(x, x0: clean, gradient: gradient, config: config)
    }
    return x
}

/// FGSM with a random start (Wong, Rice & Kolter 2020, "Fast is better than free"):
/// δ ~ U(−ε, ε), one signed step of size α (1.25 ε in the paper), projected to the ε-ball.
/// images01: [N, 1, 28, 28] -> [N, 1, 28, 28]
public func fgsmRandomStartTrainingExamples(
    model: ImageClassifier, images01 clean: Tensor, labels: [Int], eps: Float,
    stepSize: Float, using rng: inout some RandomNumberGenerator
) -> Tensor {
    let config = GradientAttackConfig(norm: .linf, eps: eps, stepSize: stepSize, steps: 1, restarts: 1, randomStart: true)
    return pgdTrainingExamples(model: model, images01: clean, labels: labels, config: config, using: &rng)
}

/// A uniform start in the ε-ball (L∞: each pixel U(−ε, ε); L2: uniform in the ball), clipped to [0, 1].
func randomStart(clean: Tensor, config: GradientAttackConfig, using rng: inout some RandomNumberGenerator) -> Tensor {
    let n = clean.batchCount
    let f = clean.featureCount
    var noise = Tensor.zeros(clean.shape)
    switch config.norm {
    case .linf:
        for i in 0..<noise.count { noise.scalars[i] = config.eps * (2 * rng.nextUniform() - 1) }
    case .l2:
        for row in 0..<n {
            var direction = (0..<f).map { _ in rng.nextNormal() }
            let length = max(1e-12, direction.reduce(0) { $0 + $1 * $1 }.squareRoot())
            let radius = config.eps * Float(pow(Double(rng.nextUniform()), 1 / Double(f)))
            for j in 0..<f { direction[j] *= radius / length }
            noise.scalars.replaceSubrange((row * f)..<((row + 1) * f), with: direction)
        }
    }
    return (clean + noise).clamped(0, 1)
}

/// One ascent step then projection onto the ε-ball around x0 and onto [0, 1].
func ascend(_ x: Tensor, x0: Tensor, gradient: Tensor, config: GradientAttackConfig) -> Tensor {
    let n = x.batchCount
    let f = x.featureCount
    var next = x
    switch config.norm {
    case .linf:
        next.scalars.withUnsafeMutableBufferPointer { out in
            x0.scalars.withUnsafeBufferPointer { origin in
                gradient.scalars.withUnsafeBufferPointer { g in
                    for i in 0..<out.count {
                        let stepped = out[i] + config.stepSize * (g[i] > 0 ? 1 : (g[i] < 0 ? -1 : 0))
                        let delta = min(max(stepped - origin[i], -config.eps), config.eps)
                        out[i] = min(max(origin[i] + delta, 0), 1)
                    }
                }
            }
        }
    case .l2:
        let gradientNorms = gradient.normsPerExample(p: 2)
        next.scalars.withUnsafeMutableBufferPointer { out in
            x0.scalars.withUnsafeBufferPointer { origin in
                gradient.scalars.withUnsafeBufferPointer { g in
                    for row in 0..<n {
                        let scale = gradientNorms[row] > 0 ? config.stepSize / gradientNorms[row] : 0
                        var squared: Float = 0
                        for j in (row * f)..<((row + 1) * f) {
                            out[j] += scale * g[j]
                            let d = out[j] - origin[j]
                            squared += d * d
                        }
                        let length = squared.squareRoot()
                        let shrink = length > config.eps ? config.eps / length : 1
                        // Clipping to [0, 1] after the projection only shrinks |δ_i|, so ‖δ‖₂ ≤ ε still holds.
                        for j in (row * f)..<((row + 1) * f) {
                            out[j] = min(max(origin[j] + (out[j] - origin[j]) * shrink, 0), 1)
                        }
                    }
                }
            }
        }
    }
    return next
}
