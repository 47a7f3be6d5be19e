/// The shape of one image, [channels, height, width]: what a data set's images are and what
/// the models built for it take. MNIST and Fashion-MNIST are 1 × 28 × 28.
public struct ImageShape: Codable, Sendable, Hashable, CustomStringConvertible {
    public var channels: Int
    public var height: Int
    public var width: Int

    public init(channels: Int, height: Int, width: Int) {
        precondition(channels > 0 && height > 0 && width > 0, "image shape \(channels)×\(height)×\(width)")
        self.channels = channels
        self.height = height
        self.width = width
    }

    /// Values per image (784 for 1 × 28 × 28).
    public var featureCount: Int { channels * height * width }
    /// [channels, height, width], the trailing dimensions of a batch tensor.
    public var dimensions: [Int] { [channels, height, width] }
    /// The batch tensor's shape for `count` images.
    public func batch(_ count: Int) -> [Int] { [count, channels, height, width] }
    public var description: String { "\(channels)×\(height)×\(width)" }
}
