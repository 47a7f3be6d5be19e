import AdvTensor

/// A labelled image set held in memory: MNIST or Fashion-MNIST, one split.
public struct Dataset: Sendable {
    /// Which half of a data set: the 60 000 training or the 10 000 test examples.
    public enum Split: String, Sendable, Codable, CaseIterable {
        case train
        case test

        /// The prefix of the split's IDX file names (`train-…`, `t10k-…`).
        public var filePrefix: String {
            switch self {
            case .train: return "train"
            case .test: return "t10k"
            }
        }
    }

    /// `[N, 1, 28, 28]`, pixels in [0, 1].
    public var images: Tensor
    /// `N` labels in `0..<classCount`.
    public var labels: [Int]
    /// The data set's name, e.g. `mnist` or `fashion-mnist`.
    public var name: String
    public var split: Split
    public var classCount: Int
    /// By label, e.g. "T-shirt/top" (the catalog entry's; "0"…"9" unless set).
    public var classNames: [String]
    /// SHA-256 (hex) of the decompressed images file's digest followed by the labels file's
    /// digest (both as lowercase hex): identifies exactly this data, for checkpoint metadata.
    public var datasetHash: String

    /// `images` must be `[N, …]` with `N == labels.count`.
    public init(images: Tensor, labels: [Int], name: String, split: Split, classCount: Int = 10, datasetHash: String) {
        precondition(images.batchCount == labels.count, "\(images.batchCount) images but \(labels.count) labels")
        self.images = images
        self.labels = labels
        self.name = name
        self.split = split
        self.classCount = classCount
        self.classNames = (0..<classCount).map(String.init)
        self.datasetHash = datasetHash
    }

    /// The shape of one image, [channels, height, width].
    public var shape: ImageShape { ImageShape(channels: images.shape[1], height: images.shape[2], width: images.shape[3]) }

    /// Number of examples `N`.
    public var count: Int { labels.count }

    /// The first `limit` examples (all of them when `limit` is nil or at least `count`); same
    /// name, split and hash. For quick runs (`advlab train … --limit N`).
    public func prefix(_ limit: Int?) -> Dataset {
        guard let limit, limit < count else { return self }
        return subset(Array(0..<max(0, limit)))
    }

    /// The examples at `indices` (each in `0..<count`), in that order; same name, split and hash.
    public func subset(_ indices: [Int]) -> Dataset {
        var result = Dataset(
            images: images.gather(indices), labels: indices.map { labels[$0] },
            name: name, split: split, classCount: classCount, datasetHash: datasetHash)
        result.classNames = classNames
        return result
    }
}
