import AdvTensor

/// The IDX format of LeCun's MNIST files: a big-endian header (magic `0x0000 08 D`, where
/// `08` means unsigned bytes and `D` is the number of dimensions, then `D` big-endian UInt32
/// sizes) followed by exactly the announced number of bytes.
public enum IDX {
    /// Magic number of an image file: unsigned bytes, 3 dimensions (count, rows, columns).
    public static let imagesMagic: UInt32 = 2051
    /// Magic number of a label file: unsigned bytes, 1 dimension (count).
    public static let labelsMagic: UInt32 = 2049

    /// Images decoded from an IDX image file.
    public struct Images: Sendable {
        public let count: Int
        public let rows: Int
        public let columns: Int
        /// `[count, 1, rows, columns]`, pixel bytes divided by 255, so in [0, 1].
        public let images01: Tensor
    }

    /// Parses an IDX image file (magic 2051) and decodes its pixels to [0, 1].
    ///
    /// `file` only names the source in errors. Throws `DataError.wrongMagic`,
    /// `.wrongDimensionCount`, `.truncated` (fewer bytes than the header announces, or no
    /// complete header) or `.trailingBytes` (more bytes than announced).
    public static func parseImages(_ bytes: [UInt8], file: String) throws -> Images {
        let sizes = try header(bytes, file: file, magic: imagesMagic, dimensionCount: 3, kind: "IDX images")
        let (count, rows, columns) = (sizes[0], sizes[1], sizes[2])
        let layout = "16-byte header + \(count) images × \(rows) × \(columns)"
        let headerLength = 16
        try checkLength(bytes.count, header: headerLength, elements: [count, rows, columns], file: file, layout: layout)

        let pixelCount = count * rows * columns
        let scalars = [Float](unsafeUninitializedCapacity: pixelCount) { out, initialized in
            bytes.withUnsafeBufferPointer { source in
                let pixels = source.baseAddress! + headerLength
                // Chunks over the cores: the cost is mostly first-touch page faults of the output.
                Parallel.forEachChunk(pixelCount, minimumChunk: 1 << 20) { range in
                    for i in range { out[i] = Float(pixels[i]) / 255 }
                }
            }
            initialized = pixelCount
        }
        return Images(
            count: count, rows: rows, columns: columns,
            images01: Tensor(shape: [count, 1, rows, columns], scalars: scalars))
    }

    /// Parses an IDX label file (magic 2049) whose labels must lie in `0..<classCount`.
    ///
    /// Throws like `parseImages`, and `DataError.labelOutOfRange` naming the first bad label.
    public static func parseLabels(_ bytes: [UInt8], file: String, classCount: Int = 10) throws -> [Int] {
        let sizes = try header(bytes, file: file, magic: labelsMagic, dimensionCount: 1, kind: "IDX labels")
        let count = sizes[0]
        let headerLength = 8
        try checkLength(
            bytes.count, header: headerLength, elements: [count], file: file,
            layout: "8-byte header + \(count) labels")

        var labels = [Int](repeating: 0, count: count)
        for index in 0..<count {
            let label = Int(bytes[headerLength + index])
            guard label < classCount else {
                throw DataError.labelOutOfRange(file: file, index: index, label: label, classCount: classCount)
            }
            labels[index] = label
        }
        return labels
    }

    /// Reads the magic and the `dimensionCount` sizes; returns the sizes.
    private static func header(
        _ bytes: [UInt8], file: String, magic expected: UInt32,
        dimensionCount: Int, kind: String
    ) throws -> [Int] {
        let headerLength = 4 + 4 * dimensionCount
        guard bytes.count >= 4 else {
            throw DataError.truncated(file: file, found: bytes.count, expected: headerLength, layout: "\(kind) header")
        }
        let magic = bigEndianUInt32(bytes, at: 0)
        // A valid IDX magic of unsigned bytes with the wrong number of dimensions gets its own
        // message: it is usually the other kind of file (labels given for images, or back).
        let isUnsignedByteIDX = bytes[0] == 0 && bytes[1] == 0 && bytes[2] == 0x08
        if magic != expected {
            if isUnsignedByteIDX {
                throw DataError.wrongDimensionCount(
                    file: file, magic: magic, found: Int(bytes[3]),
                    expected: dimensionCount, expectedMagic: expected, kind: kind)
            }
            throw DataError.wrongMagic(file: file, found: magic, expected: expected, kind: kind)
        }
        guard bytes.count >= headerLength else {
            throw DataError.truncated(file: file, found: bytes.count, expected: headerLength, layout: "\(kind) header")
        }
        return (0..<dimensionCount).map { Int(bigEndianUInt32(bytes, at: 4 + 4 * $0)) }
    }

    /// Checks that the file is exactly `header + product(elements)` bytes long.
    private static func checkLength(_ length: Int, header: Int, elements: [Int], file: String, layout: String) throws {
        var expected = header
        var payload = 1
        var overflow = false
        for size in elements {
            (payload, overflow) = payload.multipliedReportingOverflow(by: size)
            if overflow { break }
        }
        if !overflow { (expected, overflow) = header.addingReportingOverflow(payload) }
        guard !overflow, length >= expected else {
            throw DataError.truncated(file: file, found: length, expected: overflow ? Int.max : expected, layout: layout)
        }
        guard length == expected else {
            throw DataError.trailingBytes(file: file, found: length, expected: expected, layout: layout)
        }
    }

    private static func bigEndianUInt32(_ bytes: [UInt8], at offset: Int) -> UInt32 {
        UInt32(bytes[offset]) << 24 | UInt32(bytes[offset + 1]) << 16 | UInt32(bytes[offset + 2]) << 8 | UInt32(bytes[offset + 3])
    }
}
