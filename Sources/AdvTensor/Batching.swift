/// Splitting work on many examples into batches of bounded size (memory of the im2col and
/// activation buffers grows with the batch).

/// Consecutive ranges of at most `size` indices covering `0..<count` (none when count is 0).
public func batchRanges(count: Int, size: Int) -> [Range<Int>] {
    precondition(size > 0, "batch size must be positive, got \(size)")
    return stride(from: 0, to: count, by: size).map { $0..<min(count, $0 + size) }
}

extension Tensor {
    /// `body` applied to consecutive slices of at most `batchSize` examples of a `[N, …]`
    /// tensor, the outputs concatenated along the batch dimension (N must be at least 1).
    public func mapBatches(_ batchSize: Int, _ body: (Tensor) -> Tensor) -> Tensor {
        Tensor.concatenate(batchRanges(count: batchCount, size: batchSize).map { body(slice($0)) })
    }
}
