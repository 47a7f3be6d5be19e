import AdvTensor
import Foundation

/// Pointwise activations. Each pullback multiplies ∂y by the derivative, computed from the
/// saved input or output (whichever is cheaper and exact).
///
/// The loops are written out here through `mapChunks` / `zipChunks` rather than with
/// `Tensor.map`: a closure handed across the module boundary costs a call per scalar, while a
/// loop over a chunk compiles to vector code, and the output is written once without a copy or
/// zero fill first.

/// `kernel(source, output, range)` over chunks of `x`'s scalars into a new tensor of its shape;
/// `kernel` must write `output[i]` for every `i` in `range`.
@inline(__always)
func mapChunks(_ x: Tensor, _ kernel: (UnsafePointer<Float>, UnsafeMutablePointer<Float>, Range<Int>) -> Void) -> Tensor {
    let count = x.count
    let scalars = [Float](unsafeUninitializedCapacity: count) { output, initialized in
        if count > 0 {
            x.scalars.withUnsafeBufferPointer { source in
                let s = source.baseAddress!
                let o = output.baseAddress!
                Parallel.forEachChunk(count) { range in kernel(s, o, range) }
            }
        }
        initialized = count
    }
    return Tensor(shape: x.shape, scalars: scalars)
}

/// `kernel(a, b, output, range)` over chunks of two same-shaped tensors into a new tensor;
/// `kernel` must write `output[i]` for every `i` in `range`.
@inline(__always)
func zipChunks(
    _ a: Tensor, _ b: Tensor,
    _ kernel: (UnsafePointer<Float>, UnsafePointer<Float>, UnsafeMutablePointer<Float>, Range<Int>) -> Void
) -> Tensor {
    precondition(a.shape == b.shape, "elementwise shapes differ: \(a.shape) and \(b.shape)")
    let count = a.count
    let scalars = [Float](unsafeUninitializedCapacity: count) { output, initialized in
        if count > 0 {
            a.scalars.withUnsafeBufferPointer { first in
                b.scalars.withUnsafeBufferPointer { second in
                    let p = first.baseAddress!
                    let q = second.baseAddress!
                    let o = output.baseAddress!
                    Parallel.forEachChunk(count) { range in kernel(p, q, o, range) }
                }
            }
        }
        initialized = count
    }
    return Tensor(shape: a.shape, scalars: scalars)
}

/// `max(x, 0)`.
public struct ReLU: Layer {
    public init() {}
    // x: any shape -> same shape
    public func forward(_ x: Tensor, mode: ForwardMode) -> (Tensor, Pullback) {
        let y = mapChunks(x) { v, y, range in for i in range { y[i] = max(v[i], 0) } }
        // y > 0 exactly where x > 0, so the pullback needs only y.
        return (
            y,
            { dy in
                zipChunks(dy, y) { g, v, dx, range in
                    for i in range {
                        let gi = g[i]
                        dx[i] = v[i] > 0 ? gi : 0
                    }
                }
            }
        )
    }
}

/// `x` for x > 0, `slope·x` otherwise (DCGAN discriminators use slope 0.2).
public struct LeakyReLU: Layer {
    public let slope: Float
    public init(slope: Float = 0.2) { self.slope = slope }
    // x: any shape -> same shape
    public func forward(_ x: Tensor, mode: ForwardMode) -> (Tensor, Pullback) {
        let slope = self.slope
        let y = mapChunks(x) { v, y, range in for i in range { y[i] = v[i] > 0 ? v[i] : slope * v[i] } }
        return (
            y,
            { dy in
                zipChunks(dy, x) { g, v, dx, range in
                    for i in range {
                        let gi = g[i]
                        dx[i] = v[i] > 0 ? gi : slope * gi
                    }
                }
            }
        )
    }
}

/// `tanh(x)`; derivative `1 − y²`.
public struct Tanh: Layer {
    public init() {}
    // x: any shape -> same shape, values in (−1, 1)
    public func forward(_ x: Tensor, mode: ForwardMode) -> (Tensor, Pullback) {
        let y = x.map { tanhf($0) }
        return (y, { dy in zipChunks(dy, y) { g, t, dx, range in for i in range { dx[i] = g[i] * (1 - t[i] * t[i]) } } })
    }
}

/// The logistic function `1 / (1 + e^−x)`; derivative `y(1 − y)`.
public struct Sigmoid: Layer {
    public init() {}
    // x: any shape -> same shape, values in (0, 1)
    public func forward(_ x: Tensor, mode: ForwardMode) -> (Tensor, Pullback) {
        let y = x.map { stableSigmoid($0) }
        return (y, { dy in zipChunks(dy, y) { g, s, dx, range in for i in range { dx[i] = g[i] * s[i] * (1 - s[i]) } } })
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
