import AdvModels
import AdvNN
import AdvTensor
import Foundation

// Unrestricted adversarial examples by latent-space search on an AC-GAN: Song, Shu, Kushman &
// Ermon, "Constructing Unrestricted Adversarial Examples with Generative Models" (NeurIPS 2018).
// For a source class s and a target t, starting from a random z0, minimise over z
//     CE(f(G(z, s)), t) + λ1 · mean(max((z − z0)² − ε_z², 0)) + λ2 · CE(aux(G(z, s)), s)
// (untargeted: the first term is the minimum over t ≠ s). The image has no original, so no norm
// bounds it; the auxiliary classifier is what is meant to keep it a digit of class s. A
// `LatentKeeper` may put another classifier in the auxiliary classifier's place (its term and its
// half of the success rule).

/// The classifier that keeps the searched image a digit of the source: the λ2 term of the
/// objective pulls its reading toward s, the best-of-K starts are scored with it, and the success
/// rule asks it to say s.
public enum LatentKeeper {
    /// The AC-GAN's auxiliary classifier (the discriminator's class head), as Song et al.
    case auxiliaryHead
    /// Another classifier in its place, e.g. a robust one whose decisions follow shape rather than
    /// pixel noise. It must be neither the attacked model nor a judge of the validity panel: the
    /// search optimises against it.
    case classifier(any ImageClassifier)

    /// The keeper's logits on images that `discriminator` judged as `judged` (reused for the
    /// auxiliary head), with their pullback to the images.
    func logits(
        _ images: Tensor, judged: (sourceLogits: Tensor, classLogits: Tensor, pullback: (Tensor, Tensor) -> Tensor)
    ) -> (Tensor, Pullback) {
        switch self {
        case .auxiliaryHead:
            let sourceShape = judged.sourceLogits.shape
            return (judged.classLogits, { judged.pullback(Tensor.zeros(sourceShape), $0) })
        case .classifier(let keeper):
            return keeper.logits(images, mode: .eval)
        }
    }

    /// The keeper's logits alone (no pullback).
    func logits(_ images: Tensor, discriminator: any ConditionalDiscriminator) -> Tensor {
        switch self {
        case .auxiliaryHead: discriminator.forward(images, mode: .eval).classLogits
        case .classifier(let keeper): keeper.logits(images, mode: .eval).0
        }
    }
}

/// How z (and τ) move.
public enum LatentSearchOptimizer: String, Codable, Sendable, CaseIterable {
    /// Adam on each example's own objective (Kingma & Ba 2015).
    case adam
    /// The reference implementation's update: plain gradient descent plus Gaussian noise whose
    /// variance anneals as σ0² / (1 + t)^0.55, a Langevin-style walk that explores around z0
    /// instead of settling in the nearest basin. τ, in the noise-augmented variant, takes steps of
    /// unit L2 norm along its gradient.
    case langevin
}

/// Settings of the latent search. λ1 = λ2 = 100 and ε_z = 0.1 are the reference's; the search
/// budget (Adam, 300 steps at learning rate 0.05, one start from the best of 64 z0 draws) is the
/// one `advlab unrestricted` runs without tuning flags, the full report runs, and the README's
/// figures come from (issue 18, item 4): the CLI's option defaults read these values.
public struct LatentSearchConfig: Codable, Sendable, Equatable {
    public var steps: Int = 300
    public var optimizer: LatentSearchOptimizer = .adam
    public var learningRate: Float = 0.05
    /// σ0 of the Langevin update's noise. The reference adds N(0, 0.01 / (1 + t)^0.55) to the
    /// gradient of a batch mean over 64 examples at learning rate 1, which per example is
    /// learning rate 1/64 and σ0 = 0.1.
    public var langevinNoise: Float = 0.1
    /// Attempts per search: a search that has not succeeded after `steps` starts again from a
    /// fresh z0, as PGD restarts from a fresh random point. 1 = a single start.
    public var attempts: Int = 1
    /// Candidates per start: each start draws this many z0 ~ N(0, I) and keeps the one whose
    /// objective at z = z0 is lowest (f's cross-entropy toward the target plus λ2 times the
    /// auxiliary classifier's toward the source), a best-of-K initialisation as attacks use for
    /// restarts. 1 = the reference's single random z0. The box stays around the kept z0.
    public var startCandidates: Int = 64
    public var lambda1: Float = 100
    public var lambda2: Float = 100
    public var epsZ: Float = 0.1
    /// ε of the noise-augmented variant `G(z, s) + ε·tanh(τ)`; 0 disables it.
    public var noiseEps: Float = 0
    public init() {}

    /// The defaults, for the CLI's options.
    public static let defaults = LatentSearchConfig()
}

/// One searched example.
public struct LatentSearchRecord: Codable, Sendable {
    public var source: Int
    /// The requested target, or nil for an untargeted search.
    public var target: Int?
    public var success: Bool
    /// Iterations until success (or all of them), summed over the attempts.
    public var steps: Int
    /// Starts used: 1 + the restarts before success (or all of them).
    public var attempts: Int = 1
    public var classifierPrediction: Int
    public var classifierConfidence: Float
    /// The keeper's class and confidence (the AC-GAN's auxiliary classifier unless a
    /// `LatentKeeper.classifier` took its place).
    public var auxiliaryPrediction: Int
    public var auxiliaryConfidence: Float
    /// σ(source logit) of the discriminator: its belief that the image is real.
    public var discriminatorRealScore: Float
    public var latentDistance: Float
    public var z0: [Float]
    public var z: [Float]
}

/// Result of a batch of searches.
public struct LatentSearchOutcome: Sendable {
    /// G(z0, s): the starting images. [N, C, H, W]
    public var startImages: Tensor
    /// The final images (G(z, s), plus noise in the augmented variant). [N, C, H, W]
    public var images: Tensor
    public var records: [LatentSearchRecord]
    public var successRate: Double { records.isEmpty ? 0 : Double(records.filter(\.success).count) / Double(records.count) }

    public init(startImages: Tensor, images: Tensor, records: [LatentSearchRecord]) {
        self.startImages = startImages
        self.images = images
        self.records = records
    }
}

/// Song et al.'s success rule: the attacked classifier says the target (untargeted: anything
/// but the source) AND the auxiliary classifier (or the keeper in its place) still says the source.
public func isUnrestrictedSuccess(classifierPrediction: Int, auxiliaryPrediction: Int, source: Int, target: Int?) -> Bool {
    let fooled = target.map { classifierPrediction == $0 } ?? (classifierPrediction != source)
    return fooled && auxiliaryPrediction == source
}

/// The search objective for a batch and its gradients with respect to z and τ.
/// z: [N, D]; tau: [N, C, H, W] (the generator's image shape) or nil -> (loss per example, dz, dτ, images, logits,
/// the keeper's logits, the discriminator's source logits)
public func latentSearchObjective(
    generator: any ConditionalGenerator, discriminator: any ConditionalDiscriminator, classifier: ImageClassifier,
    keeper: LatentKeeper = .auxiliaryHead, z: Tensor, z0: Tensor, tau: Tensor?, sources: [Int], targets: [Int]?,
    config: LatentSearchConfig
)
    -> (losses: [Float], dz: Tensor, dTau: Tensor?, images: Tensor, logits: Tensor, auxiliaryLogits: Tensor, sourceLogits: Tensor)
{
    let n = z.shape[0]
    let d = z.shape[1]
    let (generated, generatorBack) = generator.forward(z, classes: sources, mode: .eval)
    var images = generated
    var tanhTau: Tensor?
    if let tau {
        let t = tau.map { tanhf($0) }
        tanhTau = t
        images = (generated + t * config.noiseEps).clamped(0, 1)
    }
    let (logits, classifierBack) = classifier.logits(images, mode: .eval)
    let judged = discriminator.forward(images, mode: .eval)
    let (keeperLogits, keeperBack) = keeper.logits(images, judged: judged)

    let (attackLosses, dLogits, auxiliaryLosses, dAuxiliary) = classifierTerms(
        logits: logits, auxiliaryLogits: keeperLogits,
        sources: sources, targets: targets)
    var dImages = classifierBack(dLogits)
    dImages += keeperBack(dAuxiliary * config.lambda2)

    // Through the clipping of the noise-augmented image: zero gradient where the sum was clipped.
    var dTau: Tensor?
    var dGenerated = dImages
    if let tau, let tanhTau {
        let sum = generated + tanhTau * config.noiseEps
        let inside = sum.map { $0 > 0 && $0 < 1 ? 1 : 0 }
        dGenerated = dImages * inside
        dTau = Tensor(shape: tau.shape) { out in
            for i in 0..<out.count { out[i] = dGenerated.scalars[i] * config.noiseEps * (1 - tanhTau.scalars[i] * tanhTau.scalars[i]) }
        }
    }
    var dz = generatorBack(dGenerated)

    // λ1 · mean over dimensions of max((z − z0)² − ε_z², 0), per example.
    var losses = [Float](repeating: 0, count: n)
    let epsSquared = config.epsZ * config.epsZ
    for row in 0..<n {
        var penalty: Float = 0
        for j in 0..<d {
            let diff = z.scalars[row * d + j] - z0.scalars[row * d + j]
            let excess = diff * diff - epsSquared
            if excess > 0 {
                penalty += excess
                dz.scalars[row * d + j] += config.lambda1 * 2 * diff / Float(d)
            }
        }
        losses[row] = attackLosses[row] + config.lambda1 * penalty / Float(d) + config.lambda2 * auxiliaryLosses[row]
    }
    return (losses, dz, dTau, images, logits, keeperLogits, judged.sourceLogits)
}

/// Runs the search for `sources.count` examples at once; an example stops updating once it
/// succeeds, and one that has not succeeded after `config.steps` starts again from a fresh z0
/// until `config.attempts` starts are used. `targets` nil = untargeted. A record (and the pair
/// of images) is that of the example's last start.
public func latentSearch(
    generator: any ConditionalGenerator, discriminator: any ConditionalDiscriminator, classifier: ImageClassifier,
    keeper: LatentKeeper = .auxiliaryHead, sources: [Int], targets: [Int]?, config: LatentSearchConfig,
    using rng: inout some RandomNumberGenerator
) -> LatentSearchOutcome {
    var outcome = latentSearchAttempt(
        generator: generator, discriminator: discriminator, classifier: classifier, keeper: keeper,
        sources: sources, targets: targets, config: config, using: &rng)
    for attempt in stride(from: 2, through: config.attempts, by: 1) {
        let failed = outcome.records.indices.filter { !outcome.records[$0].success }
        if failed.isEmpty { break }
        let retry = latentSearchAttempt(
            generator: generator, discriminator: discriminator, classifier: classifier, keeper: keeper,
            sources: failed.map { sources[$0] }, targets: targets.map { t in failed.map { t[$0] } },
            config: config, using: &rng)
        for (row, example) in failed.enumerated() {
            var record = retry.records[row]
            record.steps += outcome.records[example].steps
            record.attempts = attempt
            outcome.records[example] = record
            outcome.images.replaceBatch(at: example, with: retry.images.slice(row..<(row + 1)))
            outcome.startImages.replaceBatch(at: example, with: retry.startImages.slice(row..<(row + 1)))
        }
    }
    return outcome
}

/// One start of the search for every example (see `latentSearch`).
func latentSearchAttempt(
    generator: any ConditionalGenerator, discriminator: any ConditionalDiscriminator, classifier: ImageClassifier,
    keeper: LatentKeeper = .auxiliaryHead, sources: [Int], targets: [Int]?, config: LatentSearchConfig,
    using rng: inout some RandomNumberGenerator
) -> LatentSearchOutcome {
    if case .classifier(let other) = keeper {
        precondition(other !== classifier, "latent search: the keeper cannot be the attacked classifier")
        precondition(
            other.classCount == classifier.classCount,
            "latent search: the keeper has \(other.classCount) classes, the classifier \(classifier.classCount)")
    }
    let n = sources.count
    let d = generator.latentSize
    let z0 = latentStarts(
        generator: generator, discriminator: discriminator, classifier: classifier, keeper: keeper, sources: sources,
        targets: targets, config: config, using: &rng)
    let startImages = generator.generate(z0, classes: sources)
    var z = z0
    var tau: Tensor? = config.noiseEps > 0 ? Tensor.zeros([n] + generator.imageShape) : nil
    var adam = RowAdam(like: [z] + (tau.map { [$0] } ?? []), learningRate: config.learningRate)
    var finalImages = startImages
    var done = [Bool](repeating: false, count: n)
    var stepsUsed = [Int](repeating: config.steps, count: n)
    var lastLogits = Tensor.zeros([n, classifier.classCount])
    var lastAux = Tensor.zeros([n, classifier.classCount])
    var lastSource = Tensor.zeros([n, 1])

    for step in 0...config.steps {
        let active = (0..<n).filter { !done[$0] }
        if active.isEmpty { break }
        let activeZ = z.gather(active)
        let activeZ0 = z0.gather(active)
        let activeTau = tau?.gather(active)
        let activeSources = active.map { sources[$0] }
        let activeTargets = targets.map { t in active.map { t[$0] } }
        let objective = latentSearchObjective(
            generator: generator, discriminator: discriminator, classifier: classifier, keeper: keeper,
            z: activeZ, z0: activeZ0, tau: activeTau, sources: activeSources,
            targets: activeTargets, config: config)
        let predictions = objective.logits.argmaxRows()
        let auxiliary = objective.auxiliaryLogits.argmaxRows()
        for (row, example) in active.enumerated() {
            let position = row..<(row + 1)
            finalImages.replaceBatch(at: example, with: objective.images.slice(position))
            lastLogits.replaceBatch(at: example, with: objective.logits.slice(position))
            lastAux.replaceBatch(at: example, with: objective.auxiliaryLogits.slice(position))
            lastSource.replaceBatch(at: example, with: objective.sourceLogits.slice(position))
            if isUnrestrictedSuccess(
                classifierPrediction: predictions[row], auxiliaryPrediction: auxiliary[row],
                source: sources[example], target: targets?[example])
            {
                done[example] = true
                stepsUsed[example] = step
            }
        }
        if step == config.steps { break }
        let skip = active.map { done[$0] }
        switch config.optimizer {
        case .adam:
            // The rows that are still searching, as (row of the gradient, row of z and τ).
            let moving = active.enumerated().filter { !skip[$0.offset] }.map { (gradient: $0.offset, value: $0.element) }
            var values = [z] + (tau.map { [$0] } ?? [])
            adam.step(&values, gradients: [objective.dz] + (objective.dTau.map { [$0] } ?? []), rows: moving)
            z = values[0]
            if tau != nil { tau = values[1] }
        case .langevin:
            langevinUpdate(
                z: &z, tau: &tau, rows: active, dz: objective.dz, dTau: objective.dTau, step: step, config: config,
                skip: skip, using: &rng)
        }
    }

    let probabilities = softmax(lastLogits)
    let auxiliaryProbabilities = softmax(lastAux)
    let classes = lastLogits.featureCount
    let auxiliaryClasses = lastAux.featureCount
    let predictions = lastLogits.argmaxRows()
    let auxiliary = lastAux.argmaxRows()
    let records = (0..<n).map { i -> LatentSearchRecord in
        let zi = Array(z.scalars[(i * d)..<((i + 1) * d)])
        let z0i = Array(z0.scalars[(i * d)..<((i + 1) * d)])
        let distance = zip(zi, z0i).reduce(Float(0)) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) }.squareRoot()
        return LatentSearchRecord(
            source: sources[i], target: targets?[i],
            success: isUnrestrictedSuccess(
                classifierPrediction: predictions[i], auxiliaryPrediction: auxiliary[i],
                source: sources[i], target: targets?[i]),
            steps: stepsUsed[i], classifierPrediction: predictions[i],
            classifierConfidence: probabilities.scalars[i * classes + predictions[i]],
            auxiliaryPrediction: auxiliary[i],
            auxiliaryConfidence: auxiliaryProbabilities.scalars[i * auxiliaryClasses + auxiliary[i]],
            discriminatorRealScore: stableSigmoid(lastSource.scalars[i]), latentDistance: distance, z0: z0i, z: zi)
    }
    return LatentSearchOutcome(startImages: startImages, images: finalImages, records: records)
}

/// z0 for every example: one draw from N(0, I), or with `config.startCandidates` = K > 1 the best
/// of K draws by the objective at z = z0 (where the ε_z penalty is zero and τ = 0). [N, D]
func latentStarts(
    generator: any ConditionalGenerator, discriminator: any ConditionalDiscriminator, classifier: ImageClassifier,
    keeper: LatentKeeper = .auxiliaryHead, sources: [Int], targets: [Int]?, config: LatentSearchConfig,
    using rng: inout some RandomNumberGenerator
) -> Tensor {
    let n = sources.count
    let d = generator.latentSize
    let k = config.startCandidates
    let candidates = Tensor.randomNormal([n * k, d], using: &rng)  // rows i·K ..< (i+1)·K belong to example i
    guard k > 1 else { return candidates }
    let candidateSources = sources.flatMap { [Int](repeating: $0, count: k) }
    let candidateTargets = targets.map { $0.flatMap { [Int](repeating: $0, count: k) } }
    var scores = [Float]()
    scores.reserveCapacity(n * k)
    for range in batchRanges(count: n * k, size: 500) {
        let rowSources = Array(candidateSources[range])
        let images = generator.generate(candidates.gather(Array(range)), classes: rowSources)
        let terms = classifierTerms(
            logits: classifier.logits(images, mode: .eval).0,
            auxiliaryLogits: keeper.logits(images, discriminator: discriminator),
            sources: rowSources, targets: candidateTargets.map { Array($0[range]) })
        for row in 0..<range.count { scores.append(terms.attack[row] + config.lambda2 * terms.keep[row]) }
    }
    let best = (0..<n).map { example -> Int in
        let rows = (example * k)..<((example + 1) * k)
        return rows.min { scores[$0] < scores[$1] } ?? rows.lowerBound
    }
    return candidates.gather(best)
}

/// The objective's two classifier terms per example, with their gradients with respect to the
/// logits: CE(f(x), t) (untargeted: the smallest CE over t ≠ s) and CE(aux(x), s).
func classifierTerms(logits: Tensor, auxiliaryLogits: Tensor, sources: [Int], targets: [Int]?)
    -> (attack: [Float], dLogits: Tensor, keep: [Float], dAuxiliary: Tensor)
{
    let (attack, dLogits) = softmaxCrossEntropyPerExample(
        logits: logits, labels: targets ?? untargetedTargets(logits: logits, sources: sources))
    let (keep, dAuxiliary) = softmaxCrossEntropyPerExample(logits: auxiliaryLogits, labels: sources)
    return (attack, dLogits, keep, dAuxiliary)
}

/// For each row, the class t ≠ s with the largest logit, i.e. the smallest CE(·, t): the first
/// term of the untargeted objective.
func untargetedTargets(logits: Tensor, sources: [Int]) -> [Int] {
    let k = logits.shape[1]
    return sources.indices.map { row in
        var best = 0
        var bestLogit = -Float.infinity
        for j in 0..<k where j != sources[row] && logits.scalars[row * k + j] > bestLogit {
            bestLogit = logits.scalars[row * k + j]
            best = j
        }
        return best
    }
}

/// The reference's update for the active rows: z ← z − lr·∇z − σ_t·ξ with ξ ~ N(0, I) and
/// σ_t = σ0 / (1 + t)^0.275; τ ← τ − ∇τ / ‖∇τ‖ per example.
func langevinUpdate(
    z: inout Tensor, tau: inout Tensor?, rows: [Int], dz: Tensor, dTau: Tensor?, step: Int,
    config: LatentSearchConfig, skip: [Bool], using rng: inout some RandomNumberGenerator
) {
    let width = z.featureCount
    let sigma = config.langevinNoise / powf(1 + Float(step), 0.275)
    let noise = Tensor.randomNormal([rows.count, width], std: sigma, using: &rng)
    for (row, example) in rows.enumerated() where !skip[row] {
        for j in 0..<width {
            z.scalars[example * width + j] -= config.learningRate * dz.scalars[row * width + j] + noise.scalars[row * width + j]
        }
    }
    guard var t = tau, let dTau else { return }
    let tauWidth = t.featureCount
    for (row, example) in rows.enumerated() where !skip[row] {
        let gradient = dTau.scalars[(row * tauWidth)..<((row + 1) * tauWidth)]
        let norm = gradient.reduce(Float(0)) { $0 + $1 * $1 }.squareRoot()
        guard norm > 0 else { continue }
        for j in 0..<tauWidth { t.scalars[example * tauWidth + j] -= gradient[gradient.startIndex + j] / norm }
    }
    tau = t
}
