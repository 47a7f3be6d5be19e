import AdvTensor

/// Average pooling over `kernelHeight × kernelWidth` windows with per-axis strides and zero
/// padding `[top, left, bottom, right]`, as ONNX's `AveragePool` (and, with the window the
/// size of the image, `GlobalAveragePool`). With `countIncludePad` off (ONNX's and PyTorch's
/// default) a window that overlaps the padding divides by the number of real pixels it covers.
/// The pullback spreads each output gradient evenly over the real pixels of its window.
public struct AveragePool2d: Layer {
    public let kernelHeight: Int, kernelWidth: Int
    public let strideHeight: Int, strideWidth: Int
    public let top: Int, left: Int, bottom: Int, right: Int
    public let countIncludePad: Bool

    public init(
        kernelHeight: Int, kernelWidth: Int, strideHeight: Int, strideWidth: Int,
        top: Int = 0, left: Int = 0, bottom: Int = 0, right: Int = 0, countIncludePad: Bool = false
    ) {
        precondition(kernelHeight > 0 && kernelWidth > 0 && strideHeight > 0 && strideWidth > 0, "AveragePool2d needs positive sizes")
        precondition(min(top, left, bottom, right) >= 0, "AveragePool2d needs non-negative pads")
        (self.kernelHeight, self.kernelWidth, self.strideHeight, self.strideWidth) = (kernelHeight, kernelWidth, strideHeight, strideWidth)
        (self.top, self.left, self.bottom, self.right) = (top, left, bottom, right)
        self.countIncludePad = countIncludePad
    }

    /// The whole image in one window: `[N, C, H, W] -> [N, C, 1, 1]`.
    public static func global(height: Int, width: Int) -> AveragePool2d {
        AveragePool2d(kernelHeight: height, kernelWidth: width, strideHeight: 1, strideWidth: 1)
    }

    /// Output height and width for an `height × width` input (ONNX's floor rounding).
    public func outputSize(height: Int, width: Int) -> (height: Int, width: Int) {
        ((height + top + bottom - kernelHeight) / strideHeight + 1, (width + left + right - kernelWidth) / strideWidth + 1)
    }

    /// The input rows (or columns) that output position `o` covers, clipped to the image, and
    /// the divisor of its mean along that axis.
    @inline(__always)
    static func window(_ o: Int, stride: Int, pad: Int, kernel: Int, size: Int) -> Range<Int> {
        let start = o * stride - pad
        return max(start, 0)..<min(start + kernel, size)
    }

    // x: [N, C, H, W] -> [N, C, (H + top + bottom − KH)/SH + 1, (W + left + right − KW)/SW + 1]
    public func forward(_ x: Tensor, mode: ForwardMode) -> (Tensor, Pullback) {
        precondition(x.rank == 4, "AveragePool2d needs [N, C, H, W], got \(x.shape)")
        let (n, c, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let (oh, ow) = outputSize(height: h, width: w)
        precondition(oh > 0 && ow > 0, "AveragePool2d window larger than the padded input \(x.shape)")
        let pool = self
        // One divisor per output position, shared by every plane and by the pullback.
        var divisors = [Float](repeating: 0, count: oh * ow)
        for oy in 0..<oh {
            for ox in 0..<ow {
                let rows = Self.window(oy, stride: strideHeight, pad: top, kernel: kernelHeight, size: h)
                let columns = Self.window(ox, stride: strideWidth, pad: left, kernel: kernelWidth, size: w)
                divisors[oy * ow + ox] = countIncludePad ? Float(kernelHeight * kernelWidth) : Float(max(1, rows.count * columns.count))
            }
        }
        let y = overwrittenTensor([n, c, oh, ow]) { yb in
            x.scalars.withUnsafeBufferPointer { xs in
                guard let xb = xs.baseAddress else { return }
                Parallel.forEachChunk(n * c, minimumChunk: 16) { planes in
                    for plane in planes {
                        let source = xb + plane * h * w
                        let target = yb + plane * oh * ow
                        for oy in 0..<oh {
                            let rows = Self.window(oy, stride: pool.strideHeight, pad: pool.top, kernel: pool.kernelHeight, size: h)
                            for ox in 0..<ow {
                                let columns = Self.window(ox, stride: pool.strideWidth, pad: pool.left, kernel: pool.kernelWidth, size: w)
                                var total: Float = 0
                                for row in rows { for column in columns { total += source[row * w + column] } }
                                target[oy * ow + ox] = total / divisors[oy * ow + ox]
                            }
                        }
                    }
                }
            }
        }
        return (
            y,
            { dy in
                precondition(dy.shape == [n, c, oh, ow], "AveragePool2d pullback got \(dy.shape)")
                var dx = Tensor.zeros([n, c, h, w])
                dx.scalars.withUnsafeMutableBufferPointer { d in
                    dy.scalars.withUnsafeBufferPointer { g in
                        guard let db = d.baseAddress, let gb = g.baseAddress else { return }
                        Parallel.forEachChunk(n * c, minimumChunk: 16) { planes in
                            for plane in planes {
                                let target = db + plane * h * w
                                let source = gb + plane * oh * ow
                                for oy in 0..<oh {
                                    let rows = Self.window(oy, stride: pool.strideHeight, pad: pool.top, kernel: pool.kernelHeight, size: h)
                                    for ox in 0..<ow {
                                        let columns = Self.window(
                                            ox, stride: pool.strideWidth, pad: pool.left,
                                            kernel: pool.kernelWidth, size: w)
                                        let share = source[oy * ow + ox] / divisors[oy * ow + ox]
                                        for row in rows { for column in columns { target[row * w + column] += share } }
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

/// The plain loop the tests hold `AveragePool2d` to: every window summed in Double, padding
/// positions skipped and counted (or not) by `countIncludePad`.
/// images: [N, C, H, W] -> [N, C, OH, OW]
public func referenceAveragePool2d(
    _ images: Tensor, kernel: (Int, Int), stride: (Int, Int), pads: (Int, Int, Int, Int),
    countIncludePad: Bool
) -> Tensor {
    let (n, c, h, w) = (images.shape[0], images.shape[1], images.shape[2], images.shape[3])
    let (top, left, bottom, right) = pads
    let oh = (h + top + bottom - kernel.0) / stride.0 + 1
    let ow = (w + left + right - kernel.1) / stride.1 + 1
    var y = Tensor.zeros([n, c, oh, ow])
    for b in 0..<n {
        for ch in 0..<c {
            for oy in 0..<oh {
                for ox in 0..<ow {
                    var total = 0.0
                    var covered = 0
                    for i in 0..<kernel.0 {
                        for j in 0..<kernel.1 {
                            let row = oy * stride.0 - top + i
                            let column = ox * stride.1 - left + j
                            guard (0..<h).contains(row) && (0..<w).contains(column) else { continue }
                            total += Double(images.scalars[((b * c + ch) * h + row) * w + column])
                            covered += 1
                        }
                    }
                    let divisor = countIncludePad ? kernel.0 * kernel.1 : max(1, covered)
                    y.scalars[((b * c + ch) * oh + oy) * ow + ox] = Float(total / Double(divisor))
                }
            }
        }
    }
    return y
}
