/// Layout changes between the NCHW tensors of the models and the `[C, N·H·W]` matrices of the
/// im2col GEMMs.

/// Swaps the two leading axes of a `[A, B, P]` block: `source[a][b][p] -> destination[b][a][p]`.
public func swapLeadingAxes(
    _ source: UnsafePointer<Float>, _ a: Int, _ b: Int, _ p: Int,
    into destination: UnsafeMutablePointer<Float>
) {
    Parallel.forEachChunk(a * b, minimumChunk: max(1, 16_384 / max(1, p))) { range in
        for ab in range {
            let i = ab / b
            let j = ab % b
            (destination + (j * a + i) * p).update(from: source + (i * b + j) * p, count: p)
        }
    }
}

extension Tensor {
    /// `[A, B, …] -> [B, A, …]`.
    public func swappingLeadingAxes() -> Tensor {
        precondition(rank >= 2, "swappingLeadingAxes needs rank ≥ 2, got \(shape)")
        let a = shape[0]
        let b = shape[1]
        let p = shape.dropFirst(2).reduce(1, *)
        var newShape = shape
        newShape.swapAt(0, 1)
        var result = Tensor.zeros(newShape)
        if count == 0 { return result }
        scalars.withUnsafeBufferPointer { src in
            result.scalars.withUnsafeMutableBufferPointer { dst in
                swapLeadingAxes(src.baseAddress!, a, b, p, into: dst.baseAddress!)
            }
        }
        return result
    }
}
