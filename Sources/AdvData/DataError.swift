/// Everything that can go wrong while locating, reading, decompressing, hashing or parsing a
/// data set. Each `description` is one line that starts with the file (or flag) at fault and
/// says what was expected, so a command can print it as is and exit non-zero.
public enum DataError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The file could not be opened or read; `reason` is the system's message.
    case unreadable(file: String, reason: String)
    /// Neither `name.gz` nor `name` exists in `directory`.
    case missingFile(directory: String, name: String)
    /// The gzip stream stops before its end marker (the file was cut short).
    case gzipTruncated(file: String)
    /// zlib rejected the gzip data; `reason` is zlib's message.
    case gzipCorrupt(file: String, reason: String)
    /// The first four bytes are not the IDX magic number of `kind` (2051 images, 2049 labels).
    case wrongMagic(file: String, found: UInt32, expected: UInt32, kind: String)
    /// The magic says unsigned bytes but with `found` dimensions instead of `expected`.
    case wrongDimensionCount(file: String, magic: UInt32, found: Int, expected: Int, expectedMagic: UInt32, kind: String)
    /// The file holds fewer bytes than its header announces (`expected` includes the header).
    case truncated(file: String, found: Int, expected: Int, layout: String)
    /// The file holds more bytes than its header announces (`expected` includes the header).
    case trailingBytes(file: String, found: Int, expected: Int, layout: String)
    /// Images are not the size the data set needs (28 × 28 for MNIST and Fashion-MNIST).
    case wrongImageSize(file: String, rows: Int, columns: Int, expectedRows: Int, expectedColumns: Int)
    /// A label is outside `0..<classCount`.
    case labelOutOfRange(file: String, index: Int, label: Int, classCount: Int)
    /// The images file and the labels file disagree on the number of examples.
    case countMismatch(imagesFile: String, imageCount: Int, labelsFile: String, labelCount: Int)
    /// The SHA-256 of the decompressed file is not the published one.
    case hashMismatch(file: String, expected: String, actual: String)
    /// OpenSSL failed to compute a digest (allocation failure; not caused by the data).
    case digestFailed(step: String)
    /// No folder was given for a data set, and it is not in its default place.
    case noDataFound(dataset: String, variable: String, howToGet: String)
    /// `--data DIR`, `ADVLAB_DATA=DIR` or a loader's directory is not an existing directory;
    /// `origin` is how the user gave it, e.g. `--data /tmp/x`.
    case notADirectory(origin: String)
    /// A mini-batch size below 1 was asked for.
    case invalidBatchSize(Int)

    public var description: String {
        switch self {
        case .unreadable(let file, let reason):
            return "\(file): cannot read: \(reason)"
        case .missingFile(let directory, let name):
            return "\(directory): no \(name).gz or \(name) in this directory"
        case .gzipTruncated(let file):
            return "\(file): gzip stream ends early (the file is cut short; fetch it again)"
        case .gzipCorrupt(let file, let reason):
            return "\(file): corrupt gzip data: \(reason)"
        case .wrongMagic(let file, let found, let expected, let kind):
            return "\(file): wrong magic number \(found), expected \(expected) (\(kind))"
        case .wrongDimensionCount(let file, let magic, let found, let expected, let expectedMagic, let kind):
            return "\(file): wrong magic number \(magic), expected \(expectedMagic) (\(kind)): "
                + "\(found) dimension\(found == 1 ? "" : "s") instead of \(expected)"
        case .truncated(let file, let found, let expected, let layout):
            return "\(file): truncated: \(found) bytes, expected \(expected) (\(layout))"
        case .trailingBytes(let file, let found, let expected, let layout):
            return "\(file): \(found - expected) unexpected trailing bytes: \(found) bytes, expected \(expected) (\(layout))"
        case .wrongImageSize(let file, let rows, let columns, let expectedRows, let expectedColumns):
            return "\(file): images are \(rows)×\(columns), expected \(expectedRows)×\(expectedColumns)"
        case .labelOutOfRange(let file, let index, let label, let classCount):
            return "\(file): label \(label) at index \(index) is outside 0...\(classCount - 1)"
        case .countMismatch(let imagesFile, let imageCount, let labelsFile, let labelCount):
            return "\(imagesFile): \(imageCount) images but \(labelsFile) has \(labelCount) labels; expected equal counts"
        case .hashMismatch(let file, let expected, let actual):
            return
                "\(file): SHA-256 of the decompressed data is \(actual), expected \(expected) (damaged or not the published file; Scripts/setup fetches it)"
        case .digestFailed(let step):
            return "SHA-256: OpenSSL \(step) failed"
        case .noDataFound(let dataset, let variable, let howToGet):
            return "no \(dataset) data: pass --data DIR or set \(variable) (\(howToGet))"
        case .notADirectory(let origin):
            return "\(origin): no such directory"
        case .invalidBatchSize(let size):
            return "batch size \(size): must be at least 1"
        }
    }
}
