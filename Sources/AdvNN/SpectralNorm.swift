import AdvTensor

/// A layer with one weight tensor and a bias, whose weight spectral normalisation can rescale.
public protocol WeightedLayer: Layer {
    var weight: Parameter { get }
    var bias: Parameter { get }
}

extension Conv2d: WeightedLayer {}
extension Linear: WeightedLayer {}

/// Spectral normalisation (Miyato, Kataoka, Koyama & Yoshida, ICLR 2018): the wrapped layer runs
/// with W̄ = W / σ(W), σ the largest singular value of W viewed as a matrix `[out, in·k·k]`,
/// estimated by power iteration with a persistent vector u (one iteration per training-mode
/// forward, as `torch.nn.utils.spectral_norm`; evaluation mode reuses the stored u and v).
///
/// The gradient treats u and v as constants, as PyTorch and the paper do:
/// σ = uᵀWv, so ∂L/∂W = (∂L/∂W̄ − ⟨∂L/∂W̄, W̄⟩ u vᵀ) / σ. The checkpoint names follow PyTorch
/// (`weight_orig`, `bias`, buffers `weight_u`, `weight_v`), so a PyTorch twin loads it as is.
public final class SpectralNorm<Inner: WeightedLayer>: Layer {
    public let inner: Inner
    /// W, the trainable weight before normalisation.
    public let weightOriginal: Parameter
    /// Power-iteration vectors (buffers): u [out], v [in·k·k].
    public let u: Parameter
    public let v: Parameter
    public let epsilon: Float = 1e-12

    public init(_ inner: Inner, using rng: inout some RandomNumberGenerator) {
        self.inner = inner
        weightOriginal = Parameter(inner.weight.value)
        let rows = inner.weight.value.shape[0]
        let columns = inner.weight.value.count / max(1, rows)
        u = Parameter(Self.normalized(Tensor.randomNormal([rows], using: &rng), epsilon: epsilon))
        v = Parameter(Tensor.zeros([columns]))
        // v from u, so that evaluation mode before any training step already has a consistent pair.
        v.value = Self.normalized(Self.product(weightOriginal.value, u.value, transposed: true), epsilon: epsilon)
    }

    public var namedParameters: [(String, Parameter)] { [("weight_orig", weightOriginal), ("bias", inner.bias)] }
    public var namedBuffers: [(String, Parameter)] { [("weight_u", u), ("weight_v", v)] }

    /// σ(W) as estimated by the stored u and v.
    public var sigma: Float { Self.dot(u.value, Self.product(weightOriginal.value, v.value, transposed: false)) }

    public func forward(_ x: Tensor, mode: ForwardMode) -> (Tensor, Pullback) {
        let w = weightOriginal.value
        if mode.training {
            v.value = Self.normalized(Self.product(w, u.value, transposed: true), epsilon: epsilon)
            u.value = Self.normalized(Self.product(w, v.value, transposed: false), epsilon: epsilon)
        }
        let uu = u.value
        let vv = v.value
        let sigma = Self.dot(uu, Self.product(w, vv, transposed: false))
        let normalized = w * (1 / sigma)
        inner.weight.value = normalized
        let (y, back) = inner.forward(x, mode: mode)
        let innerWeight = inner.weight
        let original = weightOriginal
        return (
            y,
            { dy in
                guard mode.parameterGradients else { return back(dy) }
                innerWeight.zeroGradient()
                let dx = back(dy)
                // ∂W = (∂W̄ − ⟨∂W̄, W̄⟩ u vᵀ) / σ
                let dNormalized = innerWeight.gradient
                let inner = Self.dot(dNormalized, normalized)
                let rows = uu.count
                let columns = vv.count
                original.gradient.scalars.withUnsafeMutableBufferPointer { g in
                    dNormalized.scalars.withUnsafeBufferPointer { d in
                        for r in 0..<rows {
                            let ur = uu.scalars[r] * inner
                            for c in 0..<columns { g[r * columns + c] += (d[r * columns + c] - ur * vv.scalars[c]) / sigma }
                        }
                    }
                }
                innerWeight.zeroGradient()
                return dx
            }
        )
    }

    /// W·x (x [in·k·k] → [out]) or Wᵀ·x (x [out] → [in·k·k]) with W as `[out, in·k·k]`.
    static func product(_ w: Tensor, _ x: Tensor, transposed: Bool) -> Tensor {
        let rows = w.shape[0]
        let columns = w.count / max(1, rows)
        var out = [Float](repeating: 0, count: transposed ? columns : rows)
        w.scalars.withUnsafeBufferPointer { ws in
            for r in 0..<rows {
                if transposed {
                    let xr = x.scalars[r]
                    for c in 0..<columns { out[c] += ws[r * columns + c] * xr }
                } else {
                    var total: Float = 0
                    for c in 0..<columns { total += ws[r * columns + c] * x.scalars[c] }
                    out[r] = total
                }
            }
        }
        return Tensor(shape: [out.count], scalars: out)
    }

    static func dot(_ a: Tensor, _ b: Tensor) -> Float {
        var total: Double = 0
        for i in 0..<a.count { total += Double(a.scalars[i]) * Double(b.scalars[i]) }
        return Float(total)
    }

    /// x / max(‖x‖, ε), as `torch.nn.functional.normalize`.
    static func normalized(_ x: Tensor, epsilon: Float) -> Tensor {
        let norm = Float(dot(x, x).squareRoot())
        return x * (1 / max(norm, epsilon))
    }
}

/// Nearest-neighbour up-sampling by an integer factor: `[N, C, H, W] -> [N, C, f·H, f·W]`.
/// The pullback sums each f×f block of ∂y.
public struct Upsample2d: Layer {
    public let factor: Int

    public init(factor: Int = 2) {
        precondition(factor >= 1, "Upsample2d needs a positive factor")
        self.factor = factor
    }

    // x: [N, C, H, W] -> [N, C, f·H, f·W]
    public func forward(_ x: Tensor, mode: ForwardMode) -> (Tensor, Pullback) {
        precondition(x.rank == 4, "Upsample2d got \(x.shape)")
        let (n, c, h, w, f) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3], factor)
        let outShape = [n, c, h * f, w * f]
        let y = overwrittenTensor(outShape) { out in
            x.scalars.withUnsafeBufferPointer { xs in
                let xb = xs.baseAddress!
                Parallel.forEachChunk(n * c, minimumChunk: max(1, 16_384 / max(1, h * w * f * f))) { range in
                    for plane in range {
                        let source = xb + plane * h * w
                        let target = out + plane * h * w * f * f
                        for i in 0..<h {
                            let row = source + i * w
                            let first = target + i * f * w * f
                            if f == 2 {
                                for j in 0..<w {
                                    let value = row[j]
                                    first[2 * j] = value
                                    first[2 * j + 1] = value
                                }
                            } else {
                                for j in 0..<w { for b in 0..<f { first[j * f + b] = row[j] } }
                            }
                            // The other f − 1 output rows repeat the first.
                            for a in 1..<f { (first + a * w * f).update(from: first, count: w * f) }
                        }
                    }
                }
            }
        }
        return (
            y,
            { dy in
                precondition(dy.shape == outShape, "Upsample2d pullback got \(dy.shape)")
                return Tensor(shape: x.shape) { dx in
                    dy.scalars.withUnsafeBufferPointer { ds in
                        let db = ds.baseAddress!
                        let xb = dx.baseAddress!
                        Parallel.forEachChunk(n * c, minimumChunk: max(1, 16_384 / max(1, h * w * f * f))) { range in
                            for plane in range {
                                let source = db + plane * h * w * f * f
                                let target = xb + plane * h * w
                                for i in 0..<h {
                                    let outRow = target + i * w
                                    for a in 0..<f {
                                        let row = source + (i * f + a) * w * f
                                        if f == 2 {
                                            for j in 0..<w { outRow[j] += row[2 * j] + row[2 * j + 1] }
                                        } else {
                                            for j in 0..<w { for b in 0..<f { outRow[j] += row[j * f + b] } }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        )
    }
}

/// Class-conditional batch normalisation (de Vries et al. 2017; Miyato & Koyama 2018): batch
/// statistics as `BatchNorm`, then a scale and shift per class and channel, `[K, C]` each
/// (initialised to 1 and 0). The scale and shift replace `BatchNorm`'s own affine, which stays
/// at the identity and is not trained.
public final class ConditionalBatchNorm: ParameterContainer {
    public let norm: BatchNorm
    public let scale: Parameter  // γ [K, C]
    public let shift: Parameter  // β [K, C]

    public init(channels: Int, classCount: Int) {
        norm = BatchNorm(channels: channels)
        scale = Parameter(Tensor(repeating: 1, shape: [classCount, channels]))
        shift = Parameter(Tensor.zeros([classCount, channels]))
    }

    public var channels: Int { norm.channels }
    public var classCount: Int { scale.value.shape[0] }
    public var namedParameters: [(String, Parameter)] { [("weight", scale), ("bias", shift)] }
    public var namedBuffers: [(String, Parameter)] { norm.namedBuffers }

    // x: [N, C, H, W], classes: N values in 0..<K -> [N, C, H, W]
    public func forward(_ x: Tensor, classes: [Int], mode: ForwardMode) -> (Tensor, Pullback) {
        precondition(
            x.rank == 4 && x.shape[0] == classes.count && x.shape[1] == channels,
            "ConditionalBatchNorm(\(channels)) got \(x.shape) for \(classes.count) classes")
        precondition(classes.allSatisfy { (0..<classCount).contains($0) }, "ConditionalBatchNorm class out of 0..<\(classCount)")
        var normMode = mode
        normMode.parameterGradients = false
        normMode.inputGradient = true
        let (h, hBack) = norm.forward(x, mode: normMode)
        let (n, c, p) = (x.shape[0], channels, x.shape[2] * x.shape[3])
        let gamma = scale.value.scalars
        let beta = shift.value.scalars
        let y = overwrittenTensor(x.shape) { out in
            h.scalars.withUnsafeBufferPointer { hs in
                guard let hb = hs.baseAddress else { return }
                Parallel.forEachChunk(n * c, minimumChunk: max(1, 16_384 / max(1, p))) { planes in
                    for plane in planes {
                        let row = classes[plane / c] * c + plane % c
                        let g = gamma[row]
                        let s = beta[row]
                        for i in (plane * p)..<((plane + 1) * p) { out[i] = g * hb[i] + s }
                    }
                }
            }
        }
        let scale = self.scale
        let shift = self.shift
        return (
            y,
            { dy in
                precondition(dy.shape == x.shape, "ConditionalBatchNorm pullback got \(dy.shape)")
                if mode.parameterGradients {
                    // Per-plane sums in parallel, then added into the class rows in order.
                    var sums = [Float](repeating: 0, count: 2 * n * c)
                    dy.scalars.withUnsafeBufferPointer { ds in
                        h.scalars.withUnsafeBufferPointer { hs in
                            sums.withUnsafeMutableBufferPointer { out in
                                guard let db = ds.baseAddress, let hb = hs.baseAddress, let ob = out.baseAddress else { return }
                                Parallel.forEachChunk(n * c, minimumChunk: max(1, 16_384 / max(1, p))) { planes in
                                    for plane in planes {
                                        var sumDy: Float = 0
                                        var sumDyH: Float = 0
                                        for i in (plane * p)..<((plane + 1) * p) {
                                            sumDy += db[i]
                                            sumDyH += db[i] * hb[i]
                                        }
                                        ob[2 * plane] = sumDy
                                        ob[2 * plane + 1] = sumDyH
                                    }
                                }
                            }
                        }
                    }
                    for plane in 0..<(n * c) {
                        let row = classes[plane / c] * c + plane % c
                        shift.gradient.scalars[row] += sums[2 * plane]
                        scale.gradient.scalars[row] += sums[2 * plane + 1]
                    }
                }
                let dh = overwrittenTensor(x.shape) { out in
                    dy.scalars.withUnsafeBufferPointer { ds in
                        guard let db = ds.baseAddress else { return }
                        Parallel.forEachChunk(n * c, minimumChunk: max(1, 16_384 / max(1, p))) { planes in
                            for plane in planes {
                                let g = gamma[classes[plane / c] * c + plane % c]
                                for i in (plane * p)..<((plane + 1) * p) { out[i] = g * db[i] }
                            }
                        }
                    }
                }
                return hBack(dh)
            }
        )
    }
}
