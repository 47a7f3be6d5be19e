import AdvTensor

/// The hinge loss of a critic on one side (Lim & Ye 2017; Miyato et al. 2018):
/// `mean(max(0, 1 − sign·x))`, sign +1 for real images and −1 for generated ones, and its
/// gradient `−sign/count` where the margin is violated (0 elsewhere, and at the kink).
public func hingeLoss(logits: Tensor, sign: Float) -> (loss: Float, gradient: Tensor) {
    precondition(sign == 1 || sign == -1, "hingeLoss: sign must be +1 or −1")
    let n = Float(max(1, logits.count))
    var total = 0.0
    for x in logits.scalars { total += Double(max(0, 1 - sign * x)) }
    return (Float(total / Double(n)), logits.map { 1 - sign * $0 > 0 ? -sign / n : 0 })
}

/// `mean(x)` and its gradient `1/count`: the hinge generator's loss is `−mean(D(G(z)))`.
public func meanLogit(_ logits: Tensor) -> (loss: Float, gradient: Tensor) {
    let n = Float(max(1, logits.count))
    return (Float(logits.sum() / Double(n)), Tensor(repeating: 1 / n, shape: logits.shape))
}

/// The source (real/fake) loss of a GAN, on each side of the game.
public enum GANLoss: String, Codable, Sendable, CaseIterable {
    /// Goodfellow et al.'s discriminator loss with the generator's non-saturating variant:
    /// D minimises BCE(real, 1) + BCE(fake, 0); G minimises BCE(fake, 1).
    case nonSaturating = "non-saturating"
    /// The hinge loss: D minimises mean(max(0, 1 − real)) + mean(max(0, 1 + fake)); G minimises −mean(fake).
    case hinge

    /// The discriminator's loss on real logits (with `realTarget` < 1 for one-sided label smoothing of BCE).
    public func discriminatorReal(_ logits: Tensor, realTarget: Float = 1) -> (loss: Float, gradient: Tensor) {
        switch self {
        case .nonSaturating: binaryCrossEntropyWithLogits(logits: logits, target: realTarget)
        case .hinge: hingeLoss(logits: logits, sign: 1)
        }
    }

    /// The discriminator's loss on generated images' logits.
    public func discriminatorFake(_ logits: Tensor) -> (loss: Float, gradient: Tensor) {
        switch self {
        case .nonSaturating: binaryCrossEntropyWithLogits(logits: logits, target: 0)
        case .hinge: hingeLoss(logits: logits, sign: -1)
        }
    }

    /// The generator's loss on its images' logits.
    public func generator(_ logits: Tensor) -> (loss: Float, gradient: Tensor) {
        switch self {
        case .nonSaturating: return binaryCrossEntropyWithLogits(logits: logits, target: 1)
        case .hinge:
            let (loss, gradient) = meanLogit(logits)
            return (-loss, gradient * -1)
        }
    }
}
