import AdvTensor

/// Transposed 2-D convolution (the adjoint of `Conv2d`, as PyTorch's `ConvTranspose2d`),
/// weights `[C_in, C_out, KH, KW]`. Output size `(H − 1)·stride − 2·padding + K + outputPadding`.
///
/// Two implementations with one contract, chosen by `backend`. With oneDNN (`.dnnl`, the
/// default) the forward pass is the backward-data primitive of the adjoint convolution (whose
/// `[OC, C, KH, KW]` weights are exactly these `[C_in, C_out, KH, KW]` weights), ∂x is that
/// convolution's forward primitive and ∂W its backward-weights primitive with the roles of x and
/// ∂y swapped. The reference path (`.reference`) is one GEMM `Wᵀ[C_out·K·K, C_in] · x[C_in, N·H·W]`
/// followed by col2im; its pullback is im2col of ∂y and two GEMMs.
public final class ConvTranspose2d: Layer {
    public let weight: Parameter  // [C_in, C_out, KH, KW]
    public let bias: Parameter  // [C_out]
    public let stride: Int
    public let padding: Int
    public let outputPadding: Int
    /// Which kernels run; `ConvolutionBackend.default` (`ADVLAB_CONV`) unless set.
    public var backend: ConvolutionBackend = .default

    public init(
        inputChannels: Int, outputChannels: Int, kernelSize: Int, stride: Int = 1, padding: Int = 0,
        outputPadding: Int = 0, using rng: inout some RandomNumberGenerator
    ) {
        // PyTorch's default: bound from fan-in computed on weight.shape[1] · K · K.
        let bound = 1 / Float(outputChannels * kernelSize * kernelSize).squareRoot()
        weight = Parameter(.randomUniform([inputChannels, outputChannels, kernelSize, kernelSize], low: -bound, high: bound, using: &rng))
        bias = Parameter(.randomUniform([outputChannels], low: -bound, high: bound, using: &rng))
        self.stride = stride
        self.padding = padding
        self.outputPadding = outputPadding
    }

    /// A transposed convolution with given weights (an imported model's): weight [C_in, C_out, KH, KW],
    /// bias [C_out]; the kernel may be non-square.
    public init(weight: Tensor, bias: Tensor, stride: Int = 1, padding: Int = 0, outputPadding: Int = 0) {
        precondition(
            weight.rank == 4 && bias.shape == [weight.shape[1]], "ConvTranspose2d weight \(weight.shape) and bias \(bias.shape) do not fit")
        self.weight = Parameter(weight)
        self.bias = Parameter(bias)
        self.stride = stride
        self.padding = padding
        self.outputPadding = outputPadding
    }

    public var namedParameters: [(String, Parameter)] { [("weight", weight), ("bias", bias)] }
    public var inputChannels: Int { weight.value.shape[0] }
    public var outputChannels: Int { weight.value.shape[1] }

    /// The geometry of the *adjoint* convolution: from the output image back to the input grid.
    func outputGeometry(height: Int, width: Int) -> ConvGeometry {
        let kh = weight.value.shape[2]
        let kw = weight.value.shape[3]
        return ConvGeometry(
            channels: outputChannels,
            height: (height - 1) * stride - 2 * padding + kh + outputPadding,
            width: (width - 1) * stride - 2 * padding + kw + outputPadding,
            kernelHeight: kh, kernelWidth: kw, stride: stride, padding: padding)
    }

    // x: [N, C_in, H, W] -> [N, C_out, OH, OW]
    public func forward(_ x: Tensor, mode: ForwardMode) -> (Tensor, Pullback) {
        precondition(x.rank == 4 && x.shape[1] == inputChannels, "ConvTranspose2d(\(inputChannels)→\(outputChannels)) got \(x.shape)")
        // The adjoint convolution's product: [C_out·KH·KW, C_in] · [C_in, N·H·W].
        let flops = GEMM.flops(m: weight.value.count / inputChannels, n: x.shape[0] * x.shape[2] * x.shape[3], k: inputChannels)
        switch backend {
        case .dnnl where x.count > 0: return FLOPCounter.counted(forwardDNNL(x, mode: mode), forward: flops, mode: mode)
        default: return FLOPCounter.counted(forwardIm2col(x, mode: mode), forward: flops, mode: mode)
        }
    }

    /// oneDNN primitives of the adjoint convolution `y -> x` (see the type's comment).
    // x: [N, C_in, H, W] -> [N, C_out, OH, OW]
    func forwardDNNL(_ x: Tensor, mode: ForwardMode) -> (Tensor, Pullback) {
        let weight = self.weight
        let bias = self.bias
        let g = outputGeometry(height: x.shape[2], width: x.shape[3])
        precondition(g.outputHeight == x.shape[2] && g.outputWidth == x.shape[3], "ConvTranspose2d geometry mismatch")
        let n = x.shape[0]
        let cout = outputChannels
        let adjoint = ConvolutionProblem(batch: n, outputChannels: inputChannels, geometry: g)
        let outputShape = [n, cout, g.height, g.width]
        let outputPlane = g.height * g.width
        let w = weight.value
        let y = overwrittenTensor(outputShape) { out in
            x.scalars.withUnsafeBufferPointer { xs in
                w.scalars.withUnsafeBufferPointer { ws in
                    DNNLConvolution.backwardData(adjoint, outputGradient: xs.baseAddress!, weight: ws.baseAddress!, inputGradient: out)
                }
            }
            bias.value.scalars.withUnsafeBufferPointer { b in addChannelBias(b.baseAddress!, to: out, n: n, c: cout, p: outputPlane) }
        }
        return (
            y,
            { dy in
                precondition(dy.shape == outputShape, "ConvTranspose2d pullback got \(dy.shape), expected \(outputShape)")
                if mode.parameterGradients {
                    dy.scalars.withUnsafeBufferPointer { d in
                        x.scalars.withUnsafeBufferPointer { xs in
                            weight.gradient.scalars.withUnsafeMutableBufferPointer { dw in
                                DNNLConvolution.backwardWeights(
                                    adjoint, input: d.baseAddress!, outputGradient: xs.baseAddress!,
                                    weightGradient: dw.baseAddress!, biasGradient: nil)
                            }
                        }
                        bias.gradient.scalars.withUnsafeMutableBufferPointer { db in
                            accumulateChannelSums(d.baseAddress!, n: n, c: cout, p: outputPlane, into: db.baseAddress!)
                        }
                    }
                }
                guard mode.inputGradient else { return skippedInputGradient }
                return overwrittenTensor(x.shape) { dx in
                    dy.scalars.withUnsafeBufferPointer { d in
                        w.scalars.withUnsafeBufferPointer { ws in
                            DNNLConvolution.forward(adjoint, input: d.baseAddress!, weight: ws.baseAddress!, bias: nil, output: dx)
                        }
                    }
                }
            }
        )
    }

    /// The reference path: GEMM + col2im, im2col + two GEMMs in the pullback.
    // x: [N, C_in, H, W] -> [N, C_out, OH, OW]
    func forwardIm2col(_ x: Tensor, mode: ForwardMode) -> (Tensor, Pullback) {
        let weight = self.weight
        let bias = self.bias
        let n = x.shape[0]
        let cin = inputChannels
        let cout = outputChannels
        let g = outputGeometry(height: x.shape[2], width: x.shape[3])
        precondition(g.outputHeight == x.shape[2] && g.outputWidth == x.shape[3], "ConvTranspose2d geometry mismatch")
        let inputPositions = x.shape[2] * x.shape[3]
        let columnCount = n * inputPositions
        let outputPlane = g.height * g.width

        var xT = [Float](repeating: 0, count: cin * columnCount)  // [C_in, N·H·W]
        x.scalars.withUnsafeBufferPointer { xs in
            xT.withUnsafeMutableBufferPointer { t in swapLeadingAxes(xs.baseAddress!, n, cin, inputPositions, into: t.baseAddress!) }
        }
        var columns = [Float](repeating: 0, count: g.patchSize * columnCount)
        weight.value.scalars.withUnsafeBufferPointer { ws in
            xT.withUnsafeBufferPointer { t in
                columns.withUnsafeMutableBufferPointer { col in
                    gemm(
                        transposeA: true, transposeB: false, m: g.patchSize, n: columnCount, k: cin,
                        a: ws.baseAddress!, lda: g.patchSize, b: t.baseAddress!, ldb: columnCount,
                        c: col.baseAddress!, ldc: columnCount)
                }
            }
        }
        var y = Tensor.zeros([n, cout, g.height, g.width])
        y.scalars.withUnsafeMutableBufferPointer { out in
            columns.withUnsafeBufferPointer { col in col2im(col.baseAddress!, batch: n, geometry: g, images: out.baseAddress!) }
            bias.value.scalars.withUnsafeBufferPointer { b in
                addChannelBias(b.baseAddress!, to: out.baseAddress!, n: n, c: cout, p: outputPlane)
            }
        }

        let w = weight.value
        return (
            y,
            { dy in
                precondition(dy.shape == [n, cout, g.height, g.width], "ConvTranspose2d pullback got \(dy.shape)")
                var dColumns = [Float](repeating: 0, count: g.patchSize * columnCount)
                dy.scalars.withUnsafeBufferPointer { d in
                    dColumns.withUnsafeMutableBufferPointer { dc in im2col(d.baseAddress!, batch: n, geometry: g, columns: dc.baseAddress!)
                    }
                    if mode.parameterGradients {
                        bias.gradient.scalars.withUnsafeMutableBufferPointer { db in
                            accumulateChannelSums(d.baseAddress!, n: n, c: cout, p: outputPlane, into: db.baseAddress!)
                        }
                    }
                }
                if mode.parameterGradients {
                    // ∂W[C_in, C_out·K·K] += x[C_in, N·H·W] · ∂columnsᵀ
                    xT.withUnsafeBufferPointer { t in
                        dColumns.withUnsafeBufferPointer { dc in
                            weight.gradient.scalars.withUnsafeMutableBufferPointer { dw in
                                gemm(
                                    transposeA: false, transposeB: true, m: cin, n: g.patchSize, k: columnCount,
                                    a: t.baseAddress!, lda: columnCount, b: dc.baseAddress!, ldb: columnCount,
                                    beta: 1, c: dw.baseAddress!, ldc: g.patchSize)
                            }
                        }
                    }
                }
                guard mode.inputGradient else { return skippedInputGradient }
                // ∂x[C_in, N·H·W] = W[C_in, C_out·K·K] · ∂columns
                var dxT = [Float](repeating: 0, count: cin * columnCount)
                w.scalars.withUnsafeBufferPointer { ws in
                    dColumns.withUnsafeBufferPointer { dc in
                        dxT.withUnsafeMutableBufferPointer { t in
                            gemm(
                                transposeA: false, transposeB: false, m: cin, n: columnCount, k: g.patchSize,
                                a: ws.baseAddress!, lda: g.patchSize, b: dc.baseAddress!, ldb: columnCount,
                                c: t.baseAddress!, ldc: columnCount)
                        }
                    }
                }
                var dx = Tensor.zeros(x.shape)
                dxT.withUnsafeBufferPointer { t in
                    dx.scalars.withUnsafeMutableBufferPointer { d in
                        swapLeadingAxes(t.baseAddress!, cin, n, inputPositions, into: d.baseAddress!)
                    }
                }
                return dx
            }
        )
    }
}

/// `data[n, c, p] += bias[c]` over a `[N, C, P]` block, split over the cores.
func addChannelBias(_ bias: UnsafePointer<Float>, to data: UnsafeMutablePointer<Float>, n: Int, c: Int, p: Int) {
    Parallel.forEachChunk(n * c, minimumChunk: max(1, 16_384 / max(1, p))) { range in
        for plane in range {
            let value = bias[plane % c]
            let row = data + plane * p
            for i in 0..<p { row[i] += value }
        }
    }
}
