import AdvModels
import AdvTensor
import Foundation

/// The attacks of AutoAttack (Croce & Hein, ICML 2020), each also runnable on its own.
public enum AutoAttackStageMethod: String, Codable, Sendable, CaseIterable {
    case apgdCE = "apgd-ce"
    case apgdT = "apgd-t"
    case fabT = "fab-t"
    case square
}

/// AutoAttack's versions: `standard` is the ensemble the field reports (APGD-CE, APGD-T, FAB-T,
/// Square); `fast` keeps the two APGD attacks, which find nearly all of its successes.
public enum AutoAttackVersion: String, Codable, Sendable, CaseIterable {
    case standard, fast

    public var stages: [AutoAttackStageMethod] {
        switch self {
        case .standard: return [.apgdCE, .apgdT, .fabT, .square]
        case .fast: return [.apgdCE, .apgdT]
        }
    }
}

/// Settings shared by the stages: the threat model and each attack's budget (AutoAttack's defaults).
public struct AutoAttackConfig: Codable, Sendable, Equatable {
    public var norm: PerturbationNorm = .linf
    public var eps: Float = 0.3
    public var apgdIterations = 100
    public var apgdRestarts = 1
    public var targetClasses = 9
    public var fabIterations = 100
    public var squareQueries = 5000

    /// Examples per batch for `runAttackStages`, whose batches run in lanes side by side: small
    /// enough that a stage's batches spread evenly over two lanes (1,000 examples, 900 of them
    /// still robust, make 18 batches rather than 250-example batches' 4 uneven ones), large enough
    /// that oneDNN's convolutions run at full speed on one thread.
    public static let batchSize = 50

    public init(norm: PerturbationNorm = .linf, eps: Float = 0.3) {
        self.norm = norm
        self.eps = eps
    }

    /// The one rule from a threat model and budget to AutoAttack's settings, used by `advlab attack
    /// --method autoattack|apgd-ce|apgd-t|fab-t|square` and by the report's AutoAttack rows alike, so
    /// the same budget means the same attack. `iterations` sets APGD's and FAB's iterations (default
    /// 100), `queries` Square's (default 5000); nil keeps AutoAttack's default.
    public static func named(
        norm: PerturbationNorm, eps: Float, iterations: Int? = nil, restarts: Int = 1, queries: Int? = nil
    ) -> AutoAttackConfig {
        var config = AutoAttackConfig(norm: norm, eps: eps)
        if let iterations {
            config.apgdIterations = iterations
            config.fabIterations = iterations
        }
        if let queries { config.squareQueries = queries }
        config.apgdRestarts = restarts
        return config
    }

    /// The settings as `summary.json` writes them (`settings`).
    public var summarySettings: [String: Double] {
        [
            "eps": Double(eps), "iterations": Double(apgdIterations), "restarts": Double(apgdRestarts),
            "target_classes": Double(targetClasses), "square_queries": Double(squareQueries),
        ]
    }

    var apgdCE: APGDConfig { APGDConfig(norm: norm, eps: eps, iterations: apgdIterations, restarts: apgdRestarts, loss: .crossEntropy) }
    var apgdT: APGDConfig {
        APGDConfig(
            norm: norm, eps: eps, iterations: apgdIterations, restarts: apgdRestarts, loss: .targetedDLR,
            targetClasses: targetClasses)
    }
    var fabT: FABConfig { FABConfig(norm: norm, eps: eps, iterations: fabIterations, targetClasses: targetClasses) }
    var square: SquareConfig { SquareConfig(norm: norm, eps: eps, queries: squareQueries) }
}

/// What one stage did: the examples it attacked (those still robust before it) and the robust
/// accuracy over all examples after it.
public struct AttackStage: Codable, Sendable, Equatable {
    public var name: String
    /// Robust accuracy of the whole run after this stage (share of all examples).
    public var robust_accuracy: Double
    public var seconds: Double
    /// CPU time of the whole process during the stage (all threads), which other jobs on a busy
    /// machine do not inflate; equal to `seconds` × the busy threads when the machine is free.
    public var cpu_seconds: Double
    /// How many examples the stage attacked.
    public var attacked: Int
    /// How many examples are still robust after it.
    public var robust: Int
    /// The run's positions of the examples it attacked (not written to JSON).
    public var attackedIndices: [Int] = []

    enum CodingKeys: String, CodingKey { case name, robust_accuracy, seconds, cpu_seconds, attacked, robust }

    public init(
        name: String, robust_accuracy: Double, seconds: Double, cpu_seconds: Double, attacked: Int, robust: Int,
        attackedIndices: [Int]
    ) {
        self.name = name
        self.robust_accuracy = robust_accuracy
        self.seconds = seconds
        self.cpu_seconds = cpu_seconds
        self.attacked = attacked
        self.robust = robust
        self.attackedIndices = attackedIndices
    }
}

/// An attack outcome with the stages that produced it.
public struct StagedAttackOutcome: Sendable {
    public var outcome: AttackOutcome
    public var stages: [AttackStage]
}

/// Runs `stages` one after the other, each only on the examples still robust (clean-correct and
/// not yet fooled), in batches of `batchSize`; an example's image is the one from the stage that
/// fooled it, or, if none did, from the first stage (APGD's highest-loss point). One stage alone
/// is that attack on its own. Seconds are wall-clock.
///
/// A stage's batches are independent, so they run side by side on `lanes` threads
/// (`Parallel.forEachLane`, one thread each), which uses two cores better than splitting every
/// convolution of one batch across them. Each batch draws from its own generator, seeded in
/// batch order from `rng` before the stage starts, so the outcome does not depend on `lanes`.
/// images01: [N, 1, 28, 28]; labels: N -> outcome and per-stage accounting
public func runAttackStages(
    _ stages: [AutoAttackStageMethod], model: ImageClassifier, images01 clean: Tensor, labels: [Int],
    config: AutoAttackConfig, batchSize: Int = AutoAttackConfig.batchSize, lanes: Int = Parallel.threadCount,
    using rng: inout some RandomNumberGenerator, indexOffset: Int = 0
) -> StagedAttackOutcome {
    let n = clean.batchCount
    let cleanPredictions = model.predict(clean)
    var robust = (0..<n).map { cleanPredictions[$0] == labels[$0] }
    var adversarial = clean
    var settled = [Bool](repeating: false, count: n)
    var evaluations = 0
    var records: [AttackStage] = []
    for stage in stages {
        let start = DispatchTime.now().uptimeNanoseconds
        let cpuStart = processCPUSeconds()
        let attacked = (0..<n).filter { robust[$0] }
        let batches = batchRanges(count: attacked.count, size: max(1, batchSize))
        let seeds = batches.map { _ in rng.next() }
        var outcomes = [AttackOutcome?](repeating: nil, count: batches.count)
        outcomes.withUnsafeMutableBufferPointer { slots in
            Parallel.forEachLane(batches.count, lanes: lanes) { b in
                let rows = Array(attacked[batches[b]])
                var batchRNG = SeededGenerator(seed: seeds[b])
                slots[b] = runStage(
                    stage, model: model, images01: clean.gather(rows), labels: rows.map { labels[$0] }, config: config,
                    using: &batchRNG)
            }
        }
        for (chunk, batchOutcome) in zip(batches, outcomes) {
            let rows = Array(attacked[chunk])
            guard let outcome = batchOutcome else { preconditionFailure("runAttackStages: a batch did not run") }
            evaluations += outcome.gradientEvaluations
            for (position, row) in rows.enumerated() {
                let fooled = outcome.results[position].adversarialPrediction != labels[row]
                if fooled || !settled[row] {
                    adversarial.replaceBatch(at: row, with: outcome.adversarialImages.slice(position..<(position + 1)))
                    settled[row] = true
                }
                if fooled { robust[row] = false }
            }
        }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        let robustCount = robust.filter { $0 }.count
        records.append(
            AttackStage(
                name: stage.rawValue, robust_accuracy: n == 0 ? 0 : Double(robustCount) / Double(n),
                seconds: seconds, cpu_seconds: processCPUSeconds() - cpuStart, attacked: attacked.count,
                robust: robustCount, attackedIndices: attacked))
    }
    let results = makeResults(
        model: model, clean: clean, adversarial: adversarial, labels: labels, targets: nil,
        cleanPredictions: cleanPredictions, indexOffset: indexOffset)
    return StagedAttackOutcome(
        outcome: AttackOutcome(adversarialImages: adversarial, results: results, gradientEvaluations: evaluations),
        stages: records)
}

/// CPU seconds of this process so far (all threads).
func processCPUSeconds() -> Double {
    var time = timespec()
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &time)
    return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
}

/// One stage on one batch.
func runStage(
    _ stage: AutoAttackStageMethod, model: ImageClassifier, images01: Tensor, labels: [Int], config: AutoAttackConfig,
    using rng: inout some RandomNumberGenerator
) -> AttackOutcome {
    switch stage {
    case .apgdCE: return apgd(model: model, images01: images01, labels: labels, config: config.apgdCE, using: &rng)
    case .apgdT: return apgd(model: model, images01: images01, labels: labels, config: config.apgdT, using: &rng)
    case .fabT: return fabTargeted(model: model, images01: images01, labels: labels, config: config.fabT)
    case .square: return squareAttack(model: model, images01: images01, labels: labels, config: config.square, using: &rng)
    }
}

extension AttackStage {
    /// The stages of one staged attack run in consecutive parts (a long evaluation in chunks) as
    /// if run once: per stage, the attacked and still-robust examples and the times add up, and
    /// robust accuracy is the still-robust count over `total` examples. Every part must list the
    /// same stages in the same order; positions (`attackedIndices`) are not kept.
    /// parts: [[stage]] (one list per part) -> [stage]
    public static func pooled(_ parts: [[AttackStage]], total: Int) -> [AttackStage] {
        guard let first = parts.first else { return [] }
        precondition(
            parts.allSatisfy { $0.map(\.name) == first.map(\.name) },
            "pooled stages: the parts ran different stages: \(parts.map { $0.map(\.name) })")
        return first.indices.map { i in
            let column = parts.map { $0[i] }
            let robust = column.reduce(0) { $0 + $1.robust }
            return AttackStage(
                name: first[i].name, robust_accuracy: total == 0 ? 0 : Double(robust) / Double(total),
                seconds: column.reduce(0) { $0 + $1.seconds }, cpu_seconds: column.reduce(0) { $0 + $1.cpu_seconds },
                attacked: column.reduce(0) { $0 + $1.attacked }, robust: robust, attackedIndices: [])
        }
    }
}
