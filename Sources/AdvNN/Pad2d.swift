import AdvTensor

/// Pads the two spatial axes of `[N, C, H, W]` with a constant, by possibly different amounts
/// on each side (ONNX's `pads = [top, left, bottom, right]`): what an imported convolution with
/// asymmetric padding runs first (`Conv2d` pads symmetrically), and with `value = −∞` what
/// ONNX's padded max-pooling runs first. The pullback crops ∂y back to the input's window.
public struct Pad2d: Layer {
    public let top: Int, left: Int, bottom: Int, right: Int
    public let value: Float

    public init(top: Int, left: Int, bottom: Int, right: Int, value: Float = 0) {
        precondition(min(top, left, bottom, right) >= 0, "Pad2d needs non-negative pads")
        (self.top, self.left, self.bottom, self.right) = (top, left, bottom, right)
        self.value = value
    }

    // x: [N, C, H, W] -> [N, C, H + top + bottom, W + left + right]
    public func forward(_ x: Tensor, mode: ForwardMode) -> (Tensor, Pullback) {
        precondition(x.rank == 4, "Pad2d needs [N, C, H, W], got \(x.shape)")
        let (n, c, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let oh = h + top + bottom
        let ow = w + left + right
        let (top, left) = (self.top, self.left)
        var y = Tensor(repeating: value, shape: [n, c, oh, ow])
        y.scalars.withUnsafeMutableBufferPointer { out in
            x.scalars.withUnsafeBufferPointer { xs in
                guard let source = xs.baseAddress, let target = out.baseAddress else { return }
                Parallel.forEachChunk(n * c, minimumChunk: 64) { planes in
                    for plane in planes {
                        for row in 0..<h {
                            (target + plane * oh * ow + (row + top) * ow + left).update(from: source + plane * h * w + row * w, count: w)
                        }
                    }
                }
            }
        }
        return (
            y,
            { dy in
                precondition(dy.shape == [n, c, oh, ow], "Pad2d pullback got \(dy.shape)")
                var dx = Tensor.zeros([n, c, h, w])
                dx.scalars.withUnsafeMutableBufferPointer { d in
                    dy.scalars.withUnsafeBufferPointer { g in
                        guard let target = d.baseAddress, let source = g.baseAddress else { return }
                        Parallel.forEachChunk(n * c, minimumChunk: 64) { planes in
                            for plane in planes {
                                for row in 0..<h {
                                    let padded = source + plane * oh * ow + (row + top) * ow + left
                                    (target + plane * h * w + row * w).update(from: padded, count: w)
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
