import AdvTensor

/// Fully connected layer `y = x · Wᵀ + b`, weights `[out, in]` as in PyTorch.
public final class Linear: Layer {
    public let weight: Parameter  // [out, in]
    public let bias: Parameter  // [out]
    public var inputSize: Int { weight.value.shape[1] }
    public var outputSize: Int { weight.value.shape[0] }

    /// Kaiming-uniform initialisation as PyTorch's default (bound 1/√in for weights and bias).
    public init(inputSize: Int, outputSize: Int, using rng: inout some RandomNumberGenerator) {
        let bound = 1 / Float(inputSize).squareRoot()
        weight = Parameter(.randomUniform([outputSize, inputSize], low: -bound, high: bound, using: &rng))
        bias = Parameter(.randomUniform([outputSize], low: -bound, high: bound, using: &rng))
    }

    /// A layer with given weights (an imported model's): weight [out, in], bias [out].
    public init(weight: Tensor, bias: Tensor) {
        precondition(weight.rank == 2 && bias.shape == [weight.shape[0]], "Linear weight \(weight.shape) and bias \(bias.shape) do not fit")
        self.weight = Parameter(weight)
        self.bias = Parameter(bias)
    }

    public var namedParameters: [(String, Parameter)] { [("weight", weight), ("bias", bias)] }

    // x: [N, in] -> [N, out]
    public func forward(_ x: Tensor, mode: ForwardMode) -> (Tensor, Pullback) {
        let weight = self.weight
        let bias = self.bias
        precondition(x.rank == 2 && x.shape[1] == inputSize, "Linear(\(inputSize)→\(outputSize)) got \(x.shape)")
        let n = x.shape[0]
        let input = inputSize
        let output = outputSize
        let w = weight.value
        // Bias first, then the product accumulates onto it (beta = 1).
        let y = overwrittenTensor([n, output]) { out in
            bias.value.scalars.withUnsafeBufferPointer { b in
                for row in 0..<n { (out + row * output).update(from: b.baseAddress!, count: output) }
            }
            x.scalars.withUnsafeBufferPointer { xs in
                w.scalars.withUnsafeBufferPointer { ws in
                    gemm(
                        transposeA: false, transposeB: true, m: n, n: output, k: input,
                        a: xs.baseAddress!, lda: input, b: ws.baseAddress!, ldb: input,
                        beta: 1, c: out, ldc: output)
                }
            }
        }
        return FLOPCounter.counted(
            (
                y,
                { dy in
                    // dx = dy · W;  dW += dyᵀ · x;  db += Σ_rows dy
                    var dx = skippedInputGradient
                    dy.scalars.withUnsafeBufferPointer { g in
                        if mode.inputGradient {
                            // output == 0 would leave the product's k at 0, which `gemm` fills with zeros.
                            dx = overwrittenTensor([n, input]) { d in
                                w.scalars.withUnsafeBufferPointer { ws in
                                    gemm(
                                        transposeA: false, transposeB: false, m: n, n: input, k: output,
                                        a: g.baseAddress!, lda: output, b: ws.baseAddress!, ldb: input,
                                        c: d, ldc: input)
                                }
                            }
                        }
                        if mode.parameterGradients {
                            x.scalars.withUnsafeBufferPointer { xs in
                                weight.gradient.scalars.withUnsafeMutableBufferPointer { dw in
                                    gemm(
                                        transposeA: true, transposeB: false, m: output, n: input, k: n,
                                        a: g.baseAddress!, lda: output, b: xs.baseAddress!, ldb: input,
                                        beta: 1, c: dw.baseAddress!, ldc: input)
                                }
                            }
                            bias.gradient.scalars.withUnsafeMutableBufferPointer { db in
                                accumulateChannelSums(g.baseAddress!, n: n, c: output, p: 1, into: db.baseAddress!)
                            }
                        }
                    }
                    return dx
                }
            ), forward: GEMM.flops(m: n, n: output, k: input), mode: mode)
    }
}
