import AdvModels
import AdvTensor
import Foundation

/// Settings of the Square Attack (Andriushchenko, Croce, Flammarion & Hein, "Square Attack: a
/// query-efficient black-box adversarial attack via random search", ECCV 2020). Defaults are
/// AutoAttack's: 5,000 queries, p_init 0.8, the margin loss, one restart.
public struct SquareConfig: Codable, Sendable, Equatable {
    public var norm: PerturbationNorm = .linf
    public var eps: Float = 0.3
    /// Random-search iterations after the initial query (each one query per example still robust).
    public var queries: Int = 5000
    /// p_init: the share of the image the first squares cover; `squareFraction` halves it on the
    /// paper's schedule (rescaled from 10,000 queries to `queries`).
    public var initialFraction: Float = 0.8
    public var restarts: Int = 1

    public init(norm: PerturbationNorm = .linf, eps: Float = 0.3, queries: Int = 5000, initialFraction: Float = 0.8, restarts: Int = 1) {
        self.norm = norm
        self.eps = eps
        self.queries = queries
        self.initialFraction = initialFraction
        self.restarts = restarts
    }

    /// p at iteration `iteration` (the paper's piecewise-constant schedule over 10,000 queries,
    /// stretched to `queries`).
    func squareFraction(iteration: Int) -> Float {
        let i = Int(Double(iteration) / Double(max(1, queries)) * 10_000)
        let halvings: [(upTo: Int, divisor: Float)] = [
            (10, 1), (50, 2), (200, 4), (500, 8), (1000, 16), (2000, 32), (4000, 64),
            (6000, 128), (8000, 256),
        ]
        return initialFraction / (halvings.first { i <= $0.upTo }?.divisor ?? 512)
    }
}

/// The Square Attack: random search with square-shaped updates on the margin loss
/// `z_y − max_{i≠y} z_i`, which asks the model for logits only, never for a gradient, so it cannot
/// be misled by masked or obfuscated gradients. A candidate replaces an example's current point
/// when it lowers the margin; an example stops once the margin is ≤ 0 (misclassified).
/// Clean-misclassified examples are not attacked; an example never fooled keeps its lowest-margin point.
/// images01: [N, C, H, W] in [0, 1]; labels: N -> outcome (results untargeted; gradientEvaluations 0)
public func squareAttack(
    model: ImageClassifier, images01 clean: Tensor, labels: [Int], config: SquareConfig,
    using rng: inout some RandomNumberGenerator, indexOffset: Int = 0
) -> AttackOutcome {
    let n = clean.batchCount
    let cleanPredictions = model.predict(clean)
    var broken = (0..<n).map { cleanPredictions[$0] != labels[$0] }
    var adversarial = clean
    var bestMargin = [Float](repeating: .infinity, count: n)
    for _ in 0..<max(1, config.restarts) {
        let active = (0..<n).filter { !broken[$0] }
        if active.isEmpty { break }
        let (points, margins) = squareRun(
            model: model, clean: clean.gather(active), labels: active.map { labels[$0] },
            config: config, using: &rng)
        for (position, row) in active.enumerated() where margins[position] < bestMargin[row] {
            bestMargin[row] = margins[position]
            adversarial.replaceBatch(at: row, with: points.slice(position..<(position + 1)))
            if margins[position] <= 0 { broken[row] = true }
        }
    }
    let results = makeResults(
        model: model, clean: clean, adversarial: adversarial, labels: labels, targets: nil,
        cleanPredictions: cleanPredictions, indexOffset: indexOffset)
    return AttackOutcome(adversarialImages: adversarial, results: results)
}

/// Margins `z_y − max_{i≠y} z_i` of `points` (a forward pass only). points: [N, …] -> N
func squareMargins(model: ImageClassifier, points: Tensor, labels: [Int]) -> [Float] {
    let logits = model.logits(points, mode: .eval).0
    let k = logits.shape[1]
    return labels.indices.map { row in
        var other = -Float.infinity
        for j in 0..<k where j != labels[row] { other = max(other, logits.scalars[row * k + j]) }
        return logits.scalars[row * k + labels[row]] - other
    }
}

/// One Square Attack run from its initialisation. clean: [N, C, H, W] -> (points, margins N)
func squareRun(
    model: ImageClassifier, clean x0: Tensor, labels: [Int], config: SquareConfig,
    using rng: inout some RandomNumberGenerator
) -> (Tensor, [Float]) {
    precondition(x0.rank == 4, "squareAttack needs images [N, C, H, W], got \(x0.shape)")
    let n = x0.batchCount
    let channels = x0.shape[1]
    let height = x0.shape[2]
    let width = x0.shape[3]
    let f = x0.featureCount
    let eps = config.eps
    var best = config.norm == .linf ? squareStartLinf(clean: x0, eps: eps, using: &rng) : squareStartL2(clean: x0, eps: eps, using: &rng)
    var margins = squareMargins(model: model, points: best, labels: labels)
    for iteration in 0..<config.queries {
        let active = (0..<n).filter { margins[$0] > 0 }
        if active.isEmpty { break }
        let p = config.squareFraction(iteration: iteration)
        var candidates = best.gather(active)
        for (position, row) in active.enumerated() {
            let base = position * f
            candidates.scalars.withUnsafeMutableBufferPointer { candidate in
                x0.scalars.withUnsafeBufferPointer { origin in
                    let source = UnsafeBufferPointer(rebasing: origin[(row * f)..<((row + 1) * f)])
                    let target = UnsafeMutableBufferPointer(rebasing: candidate[base..<(base + f)])
                    switch config.norm {
                    case .linf:
                        let side = min(max(Int((p * Float(height * width)).squareRoot().rounded()), 1), min(height, width) - 1)
                        squareProposalLinf(
                            candidate: target, clean: source, channels: channels, height: height, width: width,
                            side: side, eps: eps, using: &rng)
                    case .l2:
                        var side = min(max(Int((p * Float(height * width)).squareRoot().rounded()), 3), min(height, width) - 1)
                        if side % 2 == 0 { side -= 1 }
                        squareProposalL2(
                            candidate: target, clean: source, channels: channels, height: height, width: width,
                            side: side, eps: eps, using: &rng)
                    }
                }
            }
        }
        let candidateMargins = squareMargins(model: model, points: candidates, labels: active.map { labels[$0] })
        for (position, row) in active.enumerated() where candidateMargins[position] < margins[row] {
            margins[row] = candidateMargins[position]
            best.scalars.replaceSubrange((row * f)..<((row + 1) * f), with: candidates.scalars[(position * f)..<((position + 1) * f)])
        }
    }
    return (best, margins)
}

/// A random integer in 0..<bound (0 when bound ≤ 0).
func randomOffset(_ bound: Int, using rng: inout some RandomNumberGenerator) -> Int {
    bound <= 0 ? 0 : Int(rng.next() % UInt64(bound))
}

/// L∞ start: vertical stripes, every column of every channel moved by +ε or −ε. [N, C, H, W] -> same
func squareStartLinf(clean: Tensor, eps: Float, using rng: inout some RandomNumberGenerator) -> Tensor {
    let n = clean.shape[0]
    let channels = clean.shape[1]
    let height = clean.shape[2]
    let width = clean.shape[3]
    var start = clean
    for plane in 0..<(n * channels) {
        for column in 0..<width {
            let sign: Float = rng.nextUniform() < 0.5 ? -1 : 1
            for row in 0..<height {
                let i = (plane * height + row) * width + column
                start.scalars[i] = min(max(clean.scalars[i] + sign * eps, 0), 1)
            }
        }
    }
    return start
}

/// The L∞ proposal: one square of side `side` at a random place, where every channel is set to
/// x0 ± ε (one random sign per channel). When that would leave the square as it is, the signs are
/// drawn again (at most 10 times), so that a query is not spent on the current point.
func squareProposalLinf(
    candidate: UnsafeMutableBufferPointer<Float>, clean: UnsafeBufferPointer<Float>, channels: Int,
    height: Int, width: Int, side: Int, eps: Float, using rng: inout some RandomNumberGenerator
) {
    let top = randomOffset(height - side, using: &rng)
    let left = randomOffset(width - side, using: &rng)
    var signs = [Float](repeating: 1, count: channels)
    for _ in 0..<10 {
        for c in 0..<channels { signs[c] = rng.nextUniform() < 0.5 ? -1 : 1 }
        var changes = false
        for c in 0..<channels {
            for r in top..<(top + side) {
                for col in left..<(left + side) {
                    let i = (c * height + r) * width + col
                    if abs(min(max(clean[i] + signs[c] * eps, 0), 1) - candidate[i]) >= 1e-7 { changes = true }
                }
            }
        }
        if changes { break }
    }
    for c in 0..<channels {
        for r in top..<(top + side) {
            for col in left..<(left + side) {
                let i = (c * height + r) * width + col
                candidate[i] = min(max(clean[i] + signs[c] * eps, 0), 1)
            }
        }
    }
}

/// The L2 building block η of the paper (§3.2): two stacked rectangles of opposite sign, each a
/// sum of nested squares weighted 1/(k+1)², unit L2 norm, transposed with probability ½.
/// -> side × side, row-major
func squareEta(side: Int, using rng: inout some RandomNumberGenerator) -> [Float] {
    /// Nested centred rectangles of a height × width block, unit L2 norm.
    func rectangles(_ height: Int, _ width: Int) -> [Float] {
        var block = [Float](repeating: 0, count: height * width)
        let centreRow = height / 2 + 1
        let centreColumn = width / 2 + 1
        var corner = (centreRow - 1, centreColumn - 1)
        for k in 0..<max(centreRow, centreColumn) {
            for r in max(corner.0, 0)..<min(corner.0 + 2 * k + 1, height) {
                for c in max(corner.1, 0)..<min(corner.1 + 2 * k + 1, width) { block[r * width + c] += 1 / Float((k + 1) * (k + 1)) }
            }
            corner = (corner.0 - 1, corner.1 - 1)
        }
        let length = block.reduce(0) { $0 + $1 * $1 }.squareRoot()
        return block.map { $0 / length }
    }
    let upper = rectangles(side / 2, side)
    let lower = rectangles(side - side / 2, side)
    var eta = upper + lower.map { -$0 }
    let length = eta.reduce(0) { $0 + $1 * $1 }.squareRoot()
    eta = eta.map { $0 / length }
    if rng.nextUniform() < 0.5 {
        var transposed = eta
        for r in 0..<side { for c in 0..<side { transposed[c * side + r] = eta[r * side + c] } }
        eta = transposed
    }
    return eta
}

/// L2 start: a 5 × 5 grid of η blocks with random signs, scaled to ‖δ‖₂ = ε. [N, C, H, W] -> same
func squareStartL2(clean: Tensor, eps: Float, using rng: inout some RandomNumberGenerator) -> Tensor {
    let n = clean.shape[0]
    let channels = clean.shape[1]
    let height = clean.shape[2]
    let width = clean.shape[3]
    let f = clean.featureCount
    let side = height / 5
    let margin = (height - side * 5) / 2
    var start = clean
    for example in 0..<n {
        var delta = [Float](repeating: 0, count: f)
        var top = margin
        for _ in 0..<(height / side) {
            var left = margin
            for _ in 0..<(width / side) {
                let eta = squareEta(side: side, using: &rng)
                for c in 0..<channels {
                    let sign: Float = rng.nextUniform() < 0.5 ? -1 : 1
                    for r in 0..<side where top + r < height {
                        for col in 0..<side where left + col < width {
                            delta[(c * height + top + r) * width + left + col] += sign * eta[r * side + col]
                        }
                    }
                }
                left += side
            }
            top += side
        }
        let length = delta.reduce(0) { $0 + $1 * $1 }.squareRoot()
        for j in 0..<f {
            let i = example * f + j
            start.scalars[i] = min(max(clean.scalars[i] + delta[j] * eps / (length + 1e-12), 0), 1)
        }
    }
    return start
}

/// The L2 proposal (paper §3.2): the perturbation in a first random square is replaced by a new
/// η-shaped one (plus the old one's direction), whose norm takes the budget freed by zeroing a
/// second random square, and the whole δ is rescaled to ‖δ‖₂ = ε.
func squareProposalL2(
    candidate: UnsafeMutableBufferPointer<Float>, clean: UnsafeBufferPointer<Float>, channels: Int,
    height: Int, width: Int, side: Int, eps: Float, using rng: inout some RandomNumberGenerator
) {
    let f = channels * height * width
    var delta = (0..<f).map { candidate[$0] - clean[$0] }
    let top = randomOffset(height - side, using: &rng)
    let left = randomOffset(width - side, using: &rng)
    let top2 = randomOffset(height - side, using: &rng)
    let left2 = randomOffset(width - side, using: &rng)
    func inFirst(_ r: Int, _ c: Int) -> Bool { r >= top && r < top + side && c >= left && c < left + side }
    func inSecond(_ r: Int, _ c: Int) -> Bool { r >= top2 && r < top2 + side && c >= left2 && c < left2 + side }
    var imageSquared: Float = 0
    var windowsSquared: Float = 0
    for c in 0..<channels {
        for r in 0..<height {
            for col in 0..<width {
                let d = delta[(c * height + r) * width + col]
                imageSquared += d * d
                if inFirst(r, col) || inSecond(r, col) { windowsSquared += d * d }
            }
        }
    }
    let eta = squareEta(side: side, using: &rng)
    // Every channel's new square has norm √(max(ε² − ‖δ‖², 0)/C + ‖δ on both squares‖²).
    let newNorm = (max(eps * eps - imageSquared, 0) / Float(channels) + windowsSquared).squareRoot()
    var replacement = [Float](repeating: 0, count: channels * side * side)
    for c in 0..<channels {
        let sign: Float = rng.nextUniform() < 0.5 ? -1 : 1
        var oldSquared: Float = 0
        for r in 0..<side {
            for col in 0..<side {
                let d = delta[(c * height + top + r) * width + left + col]
                oldSquared += d * d
            }
        }
        let oldNorm = oldSquared.squareRoot()
        var newSquared: Float = 0
        for r in 0..<side {
            for col in 0..<side {
                let value = sign * eta[r * side + col] + delta[(c * height + top + r) * width + left + col] / (oldNorm + 1e-12)
                replacement[(c * side + r) * side + col] = value
                newSquared += value * value
            }
        }
        let scale = newNorm / (newSquared.squareRoot() + 1e-12)
        for j in (c * side * side)..<((c + 1) * side * side) { replacement[j] *= scale }
    }
    for c in 0..<channels {
        for r in top2..<(top2 + side) { for col in left2..<(left2 + side) { delta[(c * height + r) * width + col] = 0 } }
        for r in 0..<side {
            for col in 0..<side { delta[(c * height + top + r) * width + left + col] = replacement[(c * side + r) * side + col] }
        }
    }
    let length = delta.reduce(0) { $0 + $1 * $1 }.squareRoot()
    for j in 0..<f { candidate[j] = min(max(clean[j] + delta[j] * eps / (length + 1e-12), 0), 1) }
}
