import AdvTensor

/// One epoch of mini-batches over a data set, in an order fixed when the epoch is made.
///
/// Shuffled epochs draw their permutation from the caller's generator with `seededShuffle`,
/// so the same generator state gives the same epoch: to resume mid-epoch, rebuild the epoch
/// from the generator state saved at its start and continue from the saved batch index.
/// A collection of `(images, labels)` pairs: `for (images, labels) in batches { … }`.
public struct MiniBatches: RandomAccessCollection, Sendable {
    public typealias Element = (images: Tensor, labels: [Int])

    public let dataset: Dataset
    public let batchSize: Int
    /// The epoch's order: a permutation of `0..<dataset.count`.
    public let order: [Int]
    /// Whether a last batch smaller than `batchSize` is left out.
    public let dropsLastPartialBatch: Bool

    /// The epoch of `dataset` in a random order drawn from `rng`, in batches of `batchSize`.
    /// Throws `DataError.invalidBatchSize` when `batchSize < 1`.
    public init(
        shuffling dataset: Dataset, batchSize: Int, dropLastPartialBatch: Bool = false,
        using rng: inout some RandomNumberGenerator
    ) throws {
        var order = Array(0..<dataset.count)
        order.seededShuffle(using: &rng)
        try self.init(dataset, batchSize: batchSize, order: order, dropLastPartialBatch: dropLastPartialBatch)
    }

    /// The epoch of `dataset` in its stored order (for evaluation), in batches of `batchSize`.
    /// Throws `DataError.invalidBatchSize` when `batchSize < 1`.
    public init(inOrder dataset: Dataset, batchSize: Int, dropLastPartialBatch: Bool = false) throws {
        try self.init(
            dataset, batchSize: batchSize, order: Array(0..<dataset.count),
            dropLastPartialBatch: dropLastPartialBatch)
    }

    private init(_ dataset: Dataset, batchSize: Int, order: [Int], dropLastPartialBatch: Bool) throws {
        guard batchSize >= 1 else { throw DataError.invalidBatchSize(batchSize) }
        self.dataset = dataset
        self.batchSize = batchSize
        self.order = order
        self.dropsLastPartialBatch = dropLastPartialBatch
    }

    public var startIndex: Int { 0 }

    /// Number of batches: `⌈N / batchSize⌉`, or `⌊N / batchSize⌋` when dropping the last partial one.
    public var endIndex: Int {
        dropsLastPartialBatch ? order.count / batchSize : (order.count + batchSize - 1) / batchSize
    }

    /// Positions in the dataset of batch `index`'s examples (`batchSize` of them, fewer only
    /// for a last partial batch). `index` must be in `0..<count`.
    public func exampleIndices(at index: Int) -> ArraySlice<Int> {
        precondition(index >= 0 && index < endIndex, "batch \(index) out of 0..<\(endIndex)")
        let lower = index * batchSize
        return order[lower..<Swift.min(order.count, lower + batchSize)]
    }

    /// Batch `index`: images `[B, 1, 28, 28]` in [0, 1] and their `B` labels.
    public func batch(at index: Int) -> Element {
        let indices = Array(exampleIndices(at: index))
        return (dataset.images.gather(indices), indices.map { dataset.labels[$0] })
    }

    public subscript(position: Int) -> Element { batch(at: position) }
}
