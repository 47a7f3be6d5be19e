import AdvTensor

/// Inverted dropout: in training mode each value is zeroed with probability `rate` and the
/// survivors are scaled by `1 / (1 − rate)`; evaluation mode is the identity.
public struct Dropout: ParameterContainer {
    public let rate: Float
    public var namedParameters: [(String, Parameter)] { [] }

    public init(rate: Float) {
        precondition(rate >= 0 && rate < 1, "dropout rate must be in [0, 1), got \(rate)")
        self.rate = rate
    }

    // x: any shape -> same shape
    public func forward(_ x: Tensor, mode: ForwardMode, using rng: inout some RandomNumberGenerator) -> (Tensor, Pullback) {
        guard mode.training, rate > 0 else { return (x, { $0 }) }
        let keep = 1 - rate
        let mask = Tensor(shape: x.shape) { m in for i in m.indices { m[i] = rng.nextUniform() < keep ? 1 / keep : 0 } }
        return (x * mask, { dy in dy * mask })
    }
}
