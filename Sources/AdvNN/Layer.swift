import AdvTensor

/// A differentiable function of one tensor with (possibly no) parameters.
///
/// `forward` returns the output together with its pullback (docs/ARCHITECTURE.md, "value with pullback"):
/// the pullback maps ∂loss/∂output to ∂loss/∂input and, when `mode.parameterGradients` is on,
/// adds ∂loss/∂parameter into each `Parameter.gradient`. Pullbacks are independent closures,
/// so several forward passes (real and fake batches, triplets) can be differentiated separately.
public protocol Layer: ParameterContainer {
    func forward(_ x: Tensor, mode: ForwardMode) -> (Tensor, Pullback)
}

extension Layer {
    public var namedParameters: [(String, Parameter)] { [] }

    /// The output alone (no pullback kept), in evaluation mode unless told otherwise.
    public func callAsFunction(_ x: Tensor, mode: ForwardMode = .eval) -> Tensor { forward(x, mode: mode).0 }
}

/// Sum over the batch (and spatial positions) of `[N, C, P]` data into a `[C]` accumulator.
@inline(__always)
func accumulateChannelSums(_ data: UnsafePointer<Float>, n: Int, c: Int, p: Int, into sums: UnsafeMutablePointer<Float>) {
    for ch in 0..<c {
        var total: Float = 0
        for b in 0..<n {
            let row = data + (b * c + ch) * p
            for i in 0..<p { total += row[i] }
        }
        sums[ch] += total
    }
}
