import AdvTensor

/// 2-D convolution (cross-correlation as in PyTorch), weights `[OC, C, KH, KW]`.
///
/// Two implementations with one contract, chosen by `backend`: oneDNN's convolution primitives
/// (`.dnnl`, the default) and the reference path (`.reference`), im2col + one GEMM over the whole
/// batch, `[OC, C·KH·KW] · [C·KH·KW, N·OH·OW]`, whose pullback reuses the saved columns for ∂W
/// and maps ∂columns back with col2im. `referenceConv2d` in AdvTensor is the plain loop the
/// tests compare both against.
public final class Conv2d: Layer {
    public let weight: Parameter  // [OC, C, KH, KW]
    public let bias: Parameter  // [OC]
    public let stride: Int
    public let padding: Int
    /// Which kernels run; `ConvolutionBackend.default` (`ADVLAB_CONV`) unless set.
    public var backend: ConvolutionBackend = .default

    public init(
        inputChannels: Int, outputChannels: Int, kernelSize: Int, stride: Int = 1, padding: Int = 0,
        using rng: inout some RandomNumberGenerator
    ) {
        let fanIn = inputChannels * kernelSize * kernelSize
        let bound = 1 / Float(fanIn).squareRoot()
        weight = Parameter(.randomUniform([outputChannels, inputChannels, kernelSize, kernelSize], low: -bound, high: bound, using: &rng))
        bias = Parameter(.randomUniform([outputChannels], low: -bound, high: bound, using: &rng))
        self.stride = stride
        self.padding = padding
    }

    /// A convolution with given weights (an imported model's): weight [OC, C, KH, KW], bias [OC];
    /// the kernel may be non-square.
    public init(weight: Tensor, bias: Tensor, stride: Int = 1, padding: Int = 0) {
        precondition(weight.rank == 4 && bias.shape == [weight.shape[0]], "Conv2d weight \(weight.shape) and bias \(bias.shape) do not fit")
        self.weight = Parameter(weight)
        self.bias = Parameter(bias)
        self.stride = stride
        self.padding = padding
    }

    public var namedParameters: [(String, Parameter)] { [("weight", weight), ("bias", bias)] }

    public var outputChannels: Int { weight.value.shape[0] }
    public var inputChannels: Int { weight.value.shape[1] }

    func geometry(for x: Tensor) -> ConvGeometry {
        ConvGeometry(
            channels: x.shape[1], height: x.shape[2], width: x.shape[3],
            kernelHeight: weight.value.shape[2], kernelWidth: weight.value.shape[3],
            stride: stride, padding: padding)
    }

    // x: [N, C, H, W] -> [N, OC, OH, OW]
    public func forward(_ x: Tensor, mode: ForwardMode) -> (Tensor, Pullback) {
        precondition(x.rank == 4 && x.shape[1] == inputChannels, "Conv2d(\(inputChannels)→\(outputChannels)) got \(x.shape)")
        let g = geometry(for: x)
        let flops = GEMM.flops(m: outputChannels, n: x.shape[0] * g.outputHeight * g.outputWidth, k: g.patchSize)
        switch backend {
        case .dnnl where x.count > 0: return FLOPCounter.counted(forwardDNNL(x, mode: mode), forward: flops, mode: mode)
        default: return FLOPCounter.counted(forwardIm2col(x, mode: mode), forward: flops, mode: mode)
        }
    }

    /// oneDNN primitives: forward with bias; the pullback runs backward-data and backward-weights.
    // x: [N, C, H, W] -> [N, OC, OH, OW]
    func forwardDNNL(_ x: Tensor, mode: ForwardMode) -> (Tensor, Pullback) {
        let weight = self.weight
        let bias = self.bias
        let problem = ConvolutionProblem(batch: x.shape[0], outputChannels: outputChannels, geometry: geometry(for: x))
        let outputShape = [problem.batch, problem.outputChannels, problem.geometry.outputHeight, problem.geometry.outputWidth]
        let w = weight.value
        let y = overwrittenTensor(outputShape) { out in
            x.scalars.withUnsafeBufferPointer { xs in
                w.scalars.withUnsafeBufferPointer { ws in
                    bias.value.scalars.withUnsafeBufferPointer { b in
                        DNNLConvolution.forward(problem, input: xs.baseAddress!, weight: ws.baseAddress!, bias: b.baseAddress!, output: out)
                    }
                }
            }
        }
        return (
            y,
            { dy in
                precondition(dy.shape == outputShape, "Conv2d pullback got \(dy.shape), expected \(outputShape)")
                dy.scalars.withUnsafeBufferPointer { d in
                    if mode.parameterGradients {
                        x.scalars.withUnsafeBufferPointer { xs in
                            weight.gradient.scalars.withUnsafeMutableBufferPointer { dw in
                                bias.gradient.scalars.withUnsafeMutableBufferPointer { db in
                                    DNNLConvolution.backwardWeights(
                                        problem, input: xs.baseAddress!, outputGradient: d.baseAddress!,
                                        weightGradient: dw.baseAddress!, biasGradient: db.baseAddress!)
                                }
                            }
                        }
                    }
                }
                guard mode.inputGradient else { return skippedInputGradient }
                return overwrittenTensor(x.shape) { dx in
                    dy.scalars.withUnsafeBufferPointer { d in
                        w.scalars.withUnsafeBufferPointer { ws in
                            DNNLConvolution.backwardData(
                                problem, outputGradient: d.baseAddress!, weight: ws.baseAddress!, inputGradient: dx)
                        }
                    }
                }
            }
        )
    }

    /// The reference path: im2col + GEMM, col2im in the pullback.
    // x: [N, C, H, W] -> [N, OC, OH, OW]
    func forwardIm2col(_ x: Tensor, mode: ForwardMode) -> (Tensor, Pullback) {
        let weight = self.weight
        let bias = self.bias
        let g = geometry(for: x)
        let n = x.shape[0]
        let oc = outputChannels
        let positions = g.outputHeight * g.outputWidth
        let columnCount = n * positions

        var columns = [Float](repeating: 0, count: g.patchSize * columnCount)
        var product = [Float](repeating: 0, count: oc * columnCount)  // [OC, N·P]
        x.scalars.withUnsafeBufferPointer { xs in
            columns.withUnsafeMutableBufferPointer { col in
                im2col(xs.baseAddress!, batch: n, geometry: g, columns: col.baseAddress!)
            }
        }
        weight.value.scalars.withUnsafeBufferPointer { ws in
            columns.withUnsafeBufferPointer { col in
                product.withUnsafeMutableBufferPointer { out in
                    gemm(
                        transposeA: false, transposeB: false, m: oc, n: columnCount, k: g.patchSize,
                        a: ws.baseAddress!, lda: g.patchSize, b: col.baseAddress!, ldb: columnCount,
                        c: out.baseAddress!, ldc: columnCount)
                }
            }
        }
        var y = Tensor.zeros([n, oc, g.outputHeight, g.outputWidth])
        y.scalars.withUnsafeMutableBufferPointer { out in
            product.withUnsafeBufferPointer { p in swapLeadingAxes(p.baseAddress!, oc, n, positions, into: out.baseAddress!) }
            bias.value.scalars.withUnsafeBufferPointer { b in
                let o = out.baseAddress!
                Parallel.forEachChunk(n * oc, minimumChunk: max(1, 16_384 / max(1, positions))) { range in
                    for plane in range {
                        let value = b[plane % oc]
                        let row = o + plane * positions
                        for i in 0..<positions { row[i] += value }
                    }
                }
            }
        }

        let w = weight.value
        return (
            y,
            { dy in
                precondition(dy.shape == [n, oc, g.outputHeight, g.outputWidth], "Conv2d pullback got \(dy.shape)")
                // ∂ in the GEMM layout: [OC, N·P]
                var dyT = [Float](repeating: 0, count: oc * columnCount)
                dy.scalars.withUnsafeBufferPointer { d in
                    dyT.withUnsafeMutableBufferPointer { t in swapLeadingAxes(d.baseAddress!, n, oc, positions, into: t.baseAddress!) }
                    if mode.parameterGradients {
                        bias.gradient.scalars.withUnsafeMutableBufferPointer { db in
                            accumulateChannelSums(d.baseAddress!, n: n, c: oc, p: positions, into: db.baseAddress!)
                        }
                    }
                }
                if mode.parameterGradients {
                    // ∂W[OC, C·KH·KW] += ∂Y[OC, N·P] · columnsᵀ
                    dyT.withUnsafeBufferPointer { t in
                        columns.withUnsafeBufferPointer { col in
                            weight.gradient.scalars.withUnsafeMutableBufferPointer { dw in
                                gemm(
                                    transposeA: false, transposeB: true, m: oc, n: g.patchSize, k: columnCount,
                                    a: t.baseAddress!, lda: columnCount, b: col.baseAddress!, ldb: columnCount,
                                    beta: 1, c: dw.baseAddress!, ldc: g.patchSize)
                            }
                        }
                    }
                }
                guard mode.inputGradient else { return skippedInputGradient }
                // ∂columns = Wᵀ · ∂Y, then col2im back to the image layout.
                var dColumns = [Float](repeating: 0, count: g.patchSize * columnCount)
                w.scalars.withUnsafeBufferPointer { ws in
                    dyT.withUnsafeBufferPointer { t in
                        dColumns.withUnsafeMutableBufferPointer { dc in
                            gemm(
                                transposeA: true, transposeB: false, m: g.patchSize, n: columnCount, k: oc,
                                a: ws.baseAddress!, lda: g.patchSize, b: t.baseAddress!, ldb: columnCount,
                                c: dc.baseAddress!, ldc: columnCount)
                        }
                    }
                }
                var dx = Tensor.zeros(x.shape)
                dColumns.withUnsafeBufferPointer { dc in
                    dx.scalars.withUnsafeMutableBufferPointer { d in col2im(dc.baseAddress!, batch: n, geometry: g, images: d.baseAddress!)
                    }
                }
                return dx
            }
        )
    }
}

/// A tensor of `shape` whose every scalar `body` overwrites, as oneDNN's primitives and
/// `beta = 0` products do with their outputs; skips the zero fill that `Tensor(shape:_:)` does
/// first. `body` is not called for an empty shape.
func overwrittenTensor(_ shape: [Int], _ body: (UnsafeMutablePointer<Float>) -> Void) -> Tensor {
    let count = shape.reduce(1, *)
    let scalars = [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
        if count > 0 { body(buffer.baseAddress!) }
        initialized = count
    }
    return Tensor(shape: shape, scalars: scalars)
}
