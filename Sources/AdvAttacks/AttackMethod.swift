import Foundation

/// The lab's perturbation attacks by name: what `advlab attack --method` accepts and what the
/// report's tables call each row. Adding an attack adds a case here, its settings rule below
/// (when it is a gradient attack) and its branch where attacks are run.
public enum AttackMethod: String, CaseIterable, Codable, Sendable {
    case fgsm, igs, pgd, cw
    case embeddingPGD = "embedding-pgd"
    case invariance
    /// AutoAttack (Croce & Hein 2020) and its stages run on their own.
    case apgdCE = "apgd-ce"
    case apgdT = "apgd-t"
    case fabT = "fab-t"
    case square
    case autoattack

    /// The norm an attack of this method is measured in, whatever `--norm` says: C&W is L2,
    /// embedding PGD's ball is in the triplet embedding, invariance examples are L∞.
    public func measuredNorm(requested: PerturbationNorm) -> String {
        switch self {
        case .cw: return "l2"
        case .embeddingPGD: return "embedding-l2"
        case .invariance: return PerturbationNorm.linf.rawValue
        case .fgsm, .igs, .pgd, .apgdCE, .apgdT, .fabT, .square, .autoattack: return requested.rawValue
        }
    }

    /// The AutoAttack stages this method runs: `version`'s for `autoattack`, the stage itself for
    /// apgd-ce, apgd-t, fab-t and square, nil for every other attack.
    public func autoAttackStages(version: AutoAttackVersion) -> [AutoAttackStageMethod]? {
        switch self {
        case .autoattack: return version.stages
        case .apgdCE: return [.apgdCE]
        case .apgdT: return [.apgdT]
        case .fabT: return [.fabT]
        case .square: return [.square]
        case .fgsm, .igs, .pgd, .cw, .embeddingPGD, .invariance: return nil
        }
    }

    /// Whether the method is one of the gradient attacks that `GradientAttackConfig.named` sets up.
    public var isGradientAttack: Bool { [.fgsm, .igs, .pgd].contains(self) }
}

extension GradientAttackConfig {
    /// Iterations of IGS and PGD when none are given (the MNIST challenge's PGD-40).
    public static let defaultSteps = 40
    /// Step size of IGS and PGD, as a multiple of ε / steps, when none is given: 2.5·ε/k (Madry
    /// et al. 2018), so the iterates can cross the ball in k steps with slack. For ε 0.3 and 40
    /// steps that is 0.01875.
    public static let defaultStepFactor: Float = 2.5

    /// The one rule that turns a gradient attack's name and budget into its settings, used by
    /// `advlab attack` and by the report alike, so the same name and ε mean the same attack.
    /// FGSM is one full-ε step from the clean image; IGS iterates from the clean image; PGD
    /// starts uniformly in the ball and may restart. nil for a method that is not a gradient attack.
    /// `stepFactor` replaces `defaultStepFactor` in the default step size.
    public static func named(
        _ method: AttackMethod, norm: PerturbationNorm, eps: Float, steps: Int? = nil, stepSize: Float? = nil,
        stepFactor: Float = defaultStepFactor, restarts: Int = 1
    ) -> GradientAttackConfig? {
        let steps = steps ?? defaultSteps
        let stepSize = stepSize ?? stepFactor * eps / Float(steps)
        switch method {
        case .fgsm: return .fgsm(norm: norm, eps: eps)
        case .igs: return .igs(norm: norm, eps: eps, stepSize: stepSize, steps: steps)
        case .pgd:
            return GradientAttackConfig(norm: norm, eps: eps, stepSize: stepSize, steps: steps, restarts: restarts, randomStart: true)
        case .cw, .embeddingPGD, .invariance, .apgdCE, .apgdT, .fabT, .square, .autoattack: return nil
        }
    }
}
