/// Geometry of a 2-D convolution window over `[N, C, H, W]` images.
public struct ConvGeometry: Equatable, Sendable {
    public var channels: Int, height: Int, width: Int
    public var kernelHeight: Int, kernelWidth: Int
    public var stride: Int, padding: Int

    public init(channels: Int, height: Int, width: Int, kernelHeight: Int, kernelWidth: Int, stride: Int = 1, padding: Int = 0) {
        self.channels = channels
        self.height = height
        self.width = width
        self.kernelHeight = kernelHeight
        self.kernelWidth = kernelWidth
        self.stride = stride
        self.padding = padding
    }

    public var outputHeight: Int { (height + 2 * padding - kernelHeight) / stride + 1 }
    public var outputWidth: Int { (width + 2 * padding - kernelWidth) / stride + 1 }
    /// Rows of the column matrix: one per (channel, kernel row, kernel column).
    public var patchSize: Int { channels * kernelHeight * kernelWidth }
}

/// im2col over a batch: `images [N, C, H, W] -> columns [C·KH·KW, N·OH·OW]`, column index
/// `n·OH·OW + oh·OW + ow`, so that one GEMM with the `[OC, C·KH·KW]` weights convolves the whole
/// batch. Out-of-image taps read 0.
public func im2col(
    _ images: UnsafePointer<Float>, batch: Int, geometry g: ConvGeometry,
    columns: UnsafeMutablePointer<Float>
) {
    let oh = g.outputHeight
    let ow = g.outputWidth
    let plane = oh * ow
    let rowLength = batch * plane
    let imagePlane = g.height * g.width
    let imageSize = g.channels * imagePlane
    Parallel.forEachChunk(g.patchSize, minimumChunk: max(1, 32_768 / max(1, rowLength))) { rows in
        for row in rows {
            let kw = row % g.kernelWidth
            let kh = (row / g.kernelWidth) % g.kernelHeight
            let c = row / (g.kernelWidth * g.kernelHeight)
            let out = columns + row * rowLength
            for n in 0..<batch {
                let src = images + n * imageSize + c * imagePlane
                let dst = out + n * plane
                for y in 0..<oh {
                    let iy = y * g.stride - g.padding + kh
                    let line = dst + y * ow
                    if iy < 0 || iy >= g.height {
                        line.update(repeating: 0, count: ow)
                        continue
                    }
                    let srcLine = src + iy * g.width
                    if g.stride == 1 {
                        // Contiguous taps: zero the padded ends, copy the middle in one go.
                        let shift = kw - g.padding
                        let first = min(ow, max(0, -shift))
                        let last = min(ow, g.width - shift)
                        if first > 0 { line.update(repeating: 0, count: first) }
                        if last > first { (line + first).update(from: srcLine + first + shift, count: last - first) }
                        if last < ow { (line + max(last, first)).update(repeating: 0, count: ow - max(last, first)) }
                    } else {
                        for x in 0..<ow {
                            let ix = x * g.stride - g.padding + kw
                            line[x] = (ix >= 0 && ix < g.width) ? srcLine[ix] : 0
                        }
                    }
                }
            }
        }
    }
}

/// col2im, the adjoint of `im2col`: accumulates `columns [C·KH·KW, N·OH·OW]` into
/// `images [N, C, H, W]` (which it zeroes first).
public func col2im(
    _ columns: UnsafePointer<Float>, batch: Int, geometry g: ConvGeometry,
    images: UnsafeMutablePointer<Float>
) {
    let oh = g.outputHeight
    let ow = g.outputWidth
    let plane = oh * ow
    let rowLength = batch * plane
    let imagePlane = g.height * g.width
    let imageSize = g.channels * imagePlane
    images.update(repeating: 0, count: batch * imageSize)
    // Parallel over channels: rows of different channels write disjoint image planes.
    let kernelArea = g.kernelHeight * g.kernelWidth
    Parallel.forEachChunk(g.channels, minimumChunk: max(1, 32_768 / max(1, rowLength * kernelArea))) { channels in
        for c in channels {
            for k in 0..<kernelArea {
                let kh = k / g.kernelWidth
                let kw = k % g.kernelWidth
                let src = columns + (c * kernelArea + k) * rowLength
                for n in 0..<batch {
                    let dst = images + n * imageSize + c * imagePlane
                    let col = src + n * plane
                    for y in 0..<oh {
                        let iy = y * g.stride - g.padding + kh
                        if iy < 0 || iy >= g.height { continue }
                        let dstLine = dst + iy * g.width
                        let line = col + y * ow
                        for x in 0..<ow {
                            let ix = x * g.stride - g.padding + kw
                            if ix >= 0 && ix < g.width { dstLine[ix] += line[x] }
                        }
                    }
                }
            }
        }
    }
}

/// Plain direct convolution, the reference that the im2col + GEMM path is tested against.
/// `images [N, C, H, W]`, `weight [OC, C, KH, KW]`, `bias [OC]` -> `[N, OC, OH, OW]`.
public func referenceConv2d(_ images: Tensor, weight: Tensor, bias: Tensor?, stride: Int, padding: Int) -> Tensor {
    let (n, c, h, w) = (images.shape[0], images.shape[1], images.shape[2], images.shape[3])
    let (oc, kh, kw) = (weight.shape[0], weight.shape[2], weight.shape[3])
    let g = ConvGeometry(channels: c, height: h, width: w, kernelHeight: kh, kernelWidth: kw, stride: stride, padding: padding)
    var out = Tensor.zeros([n, oc, g.outputHeight, g.outputWidth])
    for b in 0..<n {
        for o in 0..<oc {
            for y in 0..<g.outputHeight {
                for x in 0..<g.outputWidth {
                    var sum = Double(bias?.scalars[o] ?? 0)
                    for ci in 0..<c {
                        for i in 0..<kh {
                            for j in 0..<kw {
                                let iy = y * stride - padding + i
                                let ix = x * stride - padding + j
                                if iy >= 0 && iy < h && ix >= 0 && ix < w {
                                    sum += Double(images[b, ci, iy, ix]) * Double(weight[o, ci, i, j])
                                }
                            }
                        }
                    }
                    out[b, o, y, x] = Float(sum)
                }
            }
        }
    }
    return out
}
