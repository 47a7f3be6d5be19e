import AdvTensor

/// Max pooling over `kernelSize × kernelSize` windows with `stride` (no padding).
/// The pullback routes each output gradient to the arg-max of its window (first on ties).
public struct MaxPool2d: Layer {
    public let kernelSize: Int
    public let stride: Int

    public init(kernelSize: Int = 2, stride: Int? = nil) {
        self.kernelSize = kernelSize
        self.stride = stride ?? kernelSize
    }

    // x: [N, C, H, W] -> [N, C, (H − K)/S + 1, (W − K)/S + 1]
    public func forward(_ x: Tensor, mode: ForwardMode) -> (Tensor, Pullback) {
        precondition(x.rank == 4, "MaxPool2d needs [N, C, H, W], got \(x.shape)")
        let (n, c, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let oh = (h - kernelSize) / stride + 1
        let ow = (w - kernelSize) / stride + 1
        let k = kernelSize
        let s = stride
        var argmax = [Int32](repeating: 0, count: n * c * oh * ow)  // index within the input plane
        // Every output is written (each plane in full), so the output skips its zero fill.
        let y = overwrittenTensor([n, c, oh, ow]) { yb in
            x.scalars.withUnsafeBufferPointer { xs in
                argmax.withUnsafeMutableBufferPointer { am in
                    let xb = xs.baseAddress!
                    let ab = am.baseAddress!
                    Parallel.forEachChunk(n * c, minimumChunk: 64) { planes in
                        for plane in planes {
                            let src = xb + plane * h * w
                            if k == 2 && s == 2 {
                                // The models' 2×2 pooling, unrolled: the same comparisons in the
                                // same order as the general loop below, without its loop overhead.
                                let outputs = yb + plane * oh * ow
                                let indices = ab + plane * oh * ow
                                for oy in 0..<oh {
                                    for ox in 0..<ow {
                                        let top = 2 * oy * w + 2 * ox
                                        let bottom = top + w
                                        var best = -Float.infinity
                                        var bestIndex = top
                                        if src[top] > best { best = src[top] }
                                        if src[top + 1] > best {
                                            best = src[top + 1]
                                            bestIndex = top + 1
                                        }
                                        if src[bottom] > best {
                                            best = src[bottom]
                                            bestIndex = bottom
                                        }
                                        if src[bottom + 1] > best {
                                            best = src[bottom + 1]
                                            bestIndex = bottom + 1
                                        }
                                        outputs[oy * ow + ox] = best
                                        indices[oy * ow + ox] = Int32(bestIndex)
                                    }
                                }
                                continue
                            }
                            for oy in 0..<oh {
                                for ox in 0..<ow {
                                    var best = -Float.infinity
                                    var bestIndex = (oy * s) * w + ox * s
                                    for i in 0..<k {
                                        for j in 0..<k {
                                            let index = (oy * s + i) * w + ox * s + j
                                            if src[index] > best {
                                                best = src[index]
                                                bestIndex = index
                                            }
                                        }
                                    }
                                    let o = plane * oh * ow + oy * ow + ox
                                    yb[o] = best
                                    ab[o] = Int32(bestIndex)
                                }
                            }
                        }
                    }
                }
            }
        }
        return (
            y,
            { dy in
                precondition(dy.shape == [n, c, oh, ow], "MaxPool2d pullback got \(dy.shape)")
                var dx = Tensor.zeros([n, c, h, w])
                dy.scalars.withUnsafeBufferPointer { g in
                    argmax.withUnsafeBufferPointer { am in
                        dx.scalars.withUnsafeMutableBufferPointer { d in
                            let gb = g.baseAddress!
                            let ab = am.baseAddress!
                            let db = d.baseAddress!
                            Parallel.forEachChunk(n * c, minimumChunk: 64) { planes in
                                for plane in planes {
                                    for o in (plane * oh * ow)..<((plane + 1) * oh * ow) {
                                        db[plane * h * w + Int(ab[o])] += gb[o]
                                    }
                                }
                            }
                        }
                    }
                }
                return dx
            }
        )
    }
}
