import AdvTensor
import Foundation

/// Pointwise activations. Each pullback multiplies ∂y by the derivative, computed from the
/// saved input or output (whichever is cheaper and exact).

/// `max(x, 0)`.
public struct ReLU: Layer {
    public init() {}
    // x: any shape -> same shape
    public func forward(_ x: Tensor, mode: ForwardMode) -> (Tensor, Pullback) {
        let y = x.map { max($0, 0) }
        return (y, { dy in dy.zipMap(x) { g, v in v > 0 ? g : 0 } })
    }
}

/// `x` for x > 0, `slope·x` otherwise (DCGAN discriminators use slope 0.2).
public struct LeakyReLU: Layer {
    public let slope: Float
    public init(slope: Float = 0.2) { self.slope = slope }
    // x: any shape -> same shape
    public func forward(_ x: Tensor, mode: ForwardMode) -> (Tensor, Pullback) {
        let slope = self.slope
        let y = x.map { $0 > 0 ? $0 : slope * $0 }
        return (y, { dy in dy.zipMap(x) { g, v in v > 0 ? g : slope * g } })
    }
}

/// `tanh(x)`; derivative `1 − y²`.
public struct Tanh: Layer {
    public init() {}
    // x: any shape -> same shape, values in (−1, 1)
    public func forward(_ x: Tensor, mode: ForwardMode) -> (Tensor, Pullback) {
        let y = x.map { tanhf($0) }
        return (y, { dy in dy.zipMap(y) { g, t in g * (1 - t * t) } })
    }
}

/// The logistic function `1 / (1 + e^−x)`; derivative `y(1 − y)`.
public struct Sigmoid: Layer {
    public init() {}
    // x: any shape -> same shape, values in (0, 1)
    public func forward(_ x: Tensor, mode: ForwardMode) -> (Tensor, Pullback) {
        let y = x.map { stableSigmoid($0) }
        return (y, { dy in dy.zipMap(y) { g, s in g * s * (1 - s) } })
    }
}

/// Logistic function without overflow for large |x|.
@inline(__always)
public func stableSigmoid(_ x: Float) -> Float {
    x >= 0 ? 1 / (1 + expf(-x)) : expf(x) / (1 + expf(x))
}

/// Flattens `[N, …]` to `[N, F]`.
public struct Flatten: Layer {
    public init() {}
    // x: [N, …] -> [N, F]
    public func forward(_ x: Tensor, mode: ForwardMode) -> (Tensor, Pullback) {
        let shape = x.shape
        return (x.reshaped([x.batchCount, x.featureCount]), { dy in dy.reshaped(shape) })
    }
}

/// Reshapes `[N, F]` to `[N] + shape` (e.g. a linear layer's output to `[N, 128, 7, 7]`).
public struct Reshape: Layer {
    public let shape: [Int]
    public init(_ shape: [Int]) { self.shape = shape }
    // x: [N, F] -> [N] + shape
    public func forward(_ x: Tensor, mode: ForwardMode) -> (Tensor, Pullback) {
        let original = x.shape
        return (x.reshaped([x.batchCount] + shape), { dy in dy.reshaped(original) })
    }
}
