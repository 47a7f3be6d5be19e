import AdvTensor

/// Batch normalisation (Ioffe & Szegedy 2015) over the channel axis of `[N, C]` or
/// `[N, C, H, W]` input. Training mode normalises with the batch's statistics and updates the
/// running ones (momentum as in PyTorch, unbiased running variance); evaluation mode uses the
/// running statistics.
public final class BatchNorm: Layer {
    public let scale: Parameter  // γ [C]
    public let shift: Parameter  // β [C]
    public let runningMean: Parameter  // buffer [C]
    public let runningVariance: Parameter  // buffer [C]
    public let momentum: Float
    public let epsilon: Float

    public init(channels: Int, momentum: Float = 0.1, epsilon: Float = 1e-5) {
        scale = Parameter(Tensor(repeating: 1, shape: [channels]))
        shift = Parameter(Tensor.zeros([channels]))
        runningMean = Parameter(Tensor.zeros([channels]))
        runningVariance = Parameter(Tensor(repeating: 1, shape: [channels]))
        self.momentum = momentum
        self.epsilon = epsilon
    }

    public var channels: Int { scale.value.count }
    public var namedParameters: [(String, Parameter)] { [("weight", scale), ("bias", shift)] }
    public var namedBuffers: [(String, Parameter)] { [("running_mean", runningMean), ("running_var", runningVariance)] }

    // x: [N, C] or [N, C, H, W] -> same shape
    public func forward(_ x: Tensor, mode: ForwardMode) -> (Tensor, Pullback) {
        precondition((x.rank == 2 || x.rank == 4) && x.shape[1] == channels, "BatchNorm(\(channels)) got \(x.shape)")
        let n = x.shape[0]
        let c = channels
        let p = x.rank == 4 ? x.shape[2] * x.shape[3] : 1
        let m = n * p
        var mean = [Float](repeating: 0, count: c)
        var inverseStd = [Float](repeating: 0, count: c)

        if mode.training {
            precondition(m > 1, "BatchNorm in training mode needs more than one value per channel, got \(x.shape)")
            x.scalars.withUnsafeBufferPointer { xs in
                let base = xs.baseAddress!
                mean.withUnsafeMutableBufferPointer { meanOut in
                    inverseStd.withUnsafeMutableBufferPointer { invOut in
                        let meanBase = meanOut.baseAddress!
                        let invBase = invOut.baseAddress!
                        Parallel.forEachChunk(c, minimumChunk: max(1, 16_384 / max(1, m))) { range in
                            for ch in range {
                                // Two passes in Double: exact enough for the gradient checks.
                                var sum = 0.0
                                for b in 0..<n { sum += doubleSums(base + (b * c + ch) * p, count: p).sum }
                                let mu = sum / Double(m)
                                var squares = 0.0
                                for b in 0..<n { squares += centeredSquareSum(base + (b * c + ch) * p, count: p, mean: mu) }
                                let variance = squares / Double(m)
                                meanBase[ch] = Float(mu)
                                invBase[ch] = Float(1 / (variance + Double(epsilon)).squareRoot())
                            }
                        }
                    }
                }
            }
            // Running statistics: unbiased variance, as PyTorch; the n-th pass of a cumulative
            // average weighs the batch 1/n (PyTorch's momentum=None).
            let momentum = mode.cumulativeStatisticsPass.map { 1 / Float($0) } ?? self.momentum
            for ch in 0..<c {
                let variance = 1 / (inverseStd[ch] * inverseStd[ch]) - epsilon
                runningMean.value.scalars[ch] = (1 - momentum) * runningMean.value.scalars[ch] + momentum * mean[ch]
                runningVariance.value.scalars[ch] =
                    (1 - momentum) * runningVariance.value.scalars[ch]
                    + momentum * variance * Float(m) / Float(m - 1)
            }
        } else {
            for ch in 0..<c {
                mean[ch] = runningMean.value.scalars[ch]
                inverseStd[ch] = 1 / (runningVariance.value.scalars[ch] + epsilon).squareRoot()
            }
        }

        // y = γ·x̂ + β with x̂ = (x − μ)·invstd. x̂ is kept for the pullback when it needs it: for
        // the batch-statistics gradient or for ∂γ; an evaluation-mode pullback is ∂y·γ·invstd alone.
        let keepsNormalized = mode.training || mode.parameterGradients
        let gamma = scale.value.scalars
        let beta = shift.value.scalars
        let count = x.count
        var normalizedScalars: [Float] = []
        let yScalars = [Float](unsafeUninitializedCapacity: count) { ys, initialized in
            normalizedScalars = [Float](unsafeUninitializedCapacity: keepsNormalized ? count : 0) { xh, normalizedCount in
                x.scalars.withUnsafeBufferPointer { xs in
                    guard count > 0 else { return }
                    let xb = xs.baseAddress!
                    let yb = ys.baseAddress!
                    let hb = keepsNormalized ? xh.baseAddress : nil
                    Parallel.forEachChunk(n * c, minimumChunk: max(1, 16_384 / max(1, p))) { range in
                        for plane in range {
                            let ch = plane % c
                            let mu = mean[ch]
                            let inv = inverseStd[ch]
                            let g = gamma[ch]
                            let bt = beta[ch]
                            if let hb {
                                for i in (plane * p)..<((plane + 1) * p) {
                                    let h = (xb[i] - mu) * inv
                                    hb[i] = h
                                    yb[i] = g * h + bt
                                }
                            } else {
                                for i in (plane * p)..<((plane + 1) * p) { yb[i] = g * ((xb[i] - mu) * inv) + bt }
                            }
                        }
                    }
                }
                normalizedCount = keepsNormalized ? count : 0
            }
            initialized = count
        }
        let y = Tensor(shape: x.shape, scalars: yScalars)
        let normalized = normalizedScalars

        let scale = self.scale
        let shift = self.shift
        let training = mode.training
        return (
            y,
            { dy in
                precondition(dy.shape == x.shape, "BatchNorm pullback got \(dy.shape)")
                // Per-channel Σ∂y and Σ∂y·x̂ serve both the parameter gradients and ∂x (in training
                // mode), one channel per task.
                var sumDy = [Double](repeating: 0, count: c)
                var sumDyXhat = [Double](repeating: 0, count: c)
                if keepsNormalized && x.count > 0 {
                    dy.scalars.withUnsafeBufferPointer { g in
                        normalized.withUnsafeBufferPointer { xh in
                            sumDy.withUnsafeMutableBufferPointer { sums in
                                sumDyXhat.withUnsafeMutableBufferPointer { crossSums in
                                    let gb = g.baseAddress!
                                    let hb = xh.baseAddress!
                                    let sb = sums.baseAddress!
                                    let cb = crossSums.baseAddress!
                                    Parallel.forEachChunk(c, minimumChunk: max(1, 16_384 / max(1, m))) { channels in
                                        for ch in channels {
                                            var total = 0.0
                                            var crossTotal = 0.0
                                            for b in 0..<n {
                                                let base = (b * c + ch) * p
                                                let (s, sx) = doubleSums(gb + base, times: hb + base, count: p)
                                                total += s
                                                crossTotal += sx
                                            }
                                            sb[ch] = total
                                            cb[ch] = crossTotal
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
                if mode.parameterGradients {
                    for ch in 0..<c {
                        scale.gradient.scalars[ch] += Float(sumDyXhat[ch])
                        shift.gradient.scalars[ch] += Float(sumDy[ch])
                    }
                }
                guard x.count > 0 else { return Tensor.zeros(x.shape) }
                let dxScalars = [Float](unsafeUninitializedCapacity: x.count) { d, initialized in
                    dy.scalars.withUnsafeBufferPointer { g in
                        normalized.withUnsafeBufferPointer { xh in
                            let gb = g.baseAddress!
                            let hb = keepsNormalized ? xh.baseAddress : nil
                            let db = d.baseAddress!
                            Parallel.forEachChunk(n * c, minimumChunk: max(1, 16_384 / max(1, p))) { range in
                                for plane in range {
                                    let ch = plane % c
                                    let factor = gamma[ch] * inverseStd[ch]
                                    if training, let hb {  // x̂ is always kept in training mode
                                        // ∂x = γ·invstd·(∂y − mean(∂y) − x̂·mean(∂y·x̂))
                                        let meanDy = Float(sumDy[ch] / Double(m))
                                        let meanDyXhat = Float(sumDyXhat[ch] / Double(m))
                                        for i in (plane * p)..<((plane + 1) * p) {
                                            db[i] = factor * (gb[i] - meanDy - hb[i] * meanDyXhat)
                                        }
                                    } else {
                                        for i in (plane * p)..<((plane + 1) * p) { db[i] = factor * gb[i] }
                                    }
                                }
                            }
                        }
                    }
                    initialized = x.count
                }
                return Tensor(shape: x.shape, scalars: dxScalars)
            }
        )
    }
}

// The statistics' sums in Double, eight scalars per step in two four-lane accumulators: one
// running Double sum waits on the latency of every add (about four cycles a scalar), which made
// these loops a twentieth of an AC-GAN step. Lanes change the order of the additions, not their
// precision.

/// `Σ a[i]` and, when `b` is given, `Σ a[i]·b[i]` over `count` scalars, accumulated in Double.
@inline(__always)
func doubleSums(_ a: UnsafePointer<Float>, times b: UnsafePointer<Float>? = nil, count: Int) -> (sum: Double, crossSum: Double) {
    var sum0 = SIMD4<Double>()
    var sum1 = SIMD4<Double>()
    var cross0 = SIMD4<Double>()
    var cross1 = SIMD4<Double>()
    var i = 0
    while i + 8 <= count {
        let low = SIMD4<Double>(Double(a[i]), Double(a[i + 1]), Double(a[i + 2]), Double(a[i + 3]))
        let high = SIMD4<Double>(Double(a[i + 4]), Double(a[i + 5]), Double(a[i + 6]), Double(a[i + 7]))
        sum0 += low
        sum1 += high
        if let b {
            cross0 += low * SIMD4<Double>(Double(b[i]), Double(b[i + 1]), Double(b[i + 2]), Double(b[i + 3]))
            cross1 += high * SIMD4<Double>(Double(b[i + 4]), Double(b[i + 5]), Double(b[i + 6]), Double(b[i + 7]))
        }
        i += 8
    }
    var sum = (sum0 + sum1).sum()
    var crossSum = (cross0 + cross1).sum()
    while i < count {
        sum += Double(a[i])
        if let b { crossSum += Double(a[i]) * Double(b[i]) }
        i += 1
    }
    return (sum, crossSum)
}

/// `Σ (a[i] − mean)²` over `count` scalars, in Double.
@inline(__always)
func centeredSquareSum(_ a: UnsafePointer<Float>, count: Int, mean: Double) -> Double {
    var total0 = SIMD4<Double>()
    var total1 = SIMD4<Double>()
    let center = SIMD4<Double>(repeating: mean)
    var i = 0
    while i + 8 <= count {
        let low = SIMD4<Double>(Double(a[i]), Double(a[i + 1]), Double(a[i + 2]), Double(a[i + 3])) - center
        let high = SIMD4<Double>(Double(a[i + 4]), Double(a[i + 5]), Double(a[i + 6]), Double(a[i + 7])) - center
        total0 += low * low
        total1 += high * high
        i += 8
    }
    var total = (total0 + total1).sum()
    while i < count {
        let d = Double(a[i]) - mean
        total += d * d
        i += 1
    }
    return total
}
