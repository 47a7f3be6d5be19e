import AdvTensor
import Foundation

/// What was found about one file of a data set: its name, where it is, and its digest.
public struct FileCheck: Sendable, Codable, Equatable {
    /// The file name as found, e.g. `train-images-idx3-ubyte.gz`.
    public var name: String
    public var path: String
    /// SHA-256 (hex) of the decompressed contents.
    public var sha256: String
    /// The published SHA-256, when the data set has a table of them.
    public var expectedSHA256: String?
    /// True when there is no table, or the digest matches it.
    public var ok: Bool { expectedSHA256.map { $0 == sha256 } ?? true }
}

/// Loads one split of a data set stored as a pair of IDX files (`<prefix>-images-idx3-ubyte`
/// and `<prefix>-labels-idx1-ubyte`, each optionally `.gz`), as MNIST and Fashion-MNIST are.
enum IDXDatasetFiles {
    static let imageRows = 28
    static let imageColumns = 28

    /// The base names (without `.gz`) of a split's images and labels files.
    static func baseNames(_ split: Dataset.Split) -> (images: String, labels: String) {
        ("\(split.filePrefix)-images-idx3-ubyte", "\(split.filePrefix)-labels-idx1-ubyte")
    }

    /// `directory/name.gz` if it exists, else `directory/name` if it exists.
    /// Throws `DataError.missingFile` when neither does.
    static func locate(_ name: String, in directory: String) throws -> (name: String, path: String) {
        let base = directory.hasSuffix("/") ? directory : directory + "/"
        for candidate in [name + ".gz", name] where access(base + candidate, F_OK) == 0 {
            return (candidate, base + candidate)
        }
        throw DataError.missingFile(directory: directory, name: name)
    }

    /// Reads, hashes and parses one split. When `expectedHashes` (base name → hex digest) is
    /// given and `verifyHashes` is set, a digest that differs throws `DataError.hashMismatch`
    /// before anything is parsed. Also throws every `IDX`, `Gzip` and `FileBytes` error,
    /// `.wrongImageSize` unless the images are 28 × 28, and `.countMismatch`.
    static func load(
        name: String, split: Dataset.Split, directory: String,
        expectedHashes: [String: String]?, verifyHashes: Bool
    ) throws -> (Dataset, [FileCheck]) {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw DataError.notADirectory(origin: "data directory \(directory)")
        }
        let names = baseNames(split)
        let imagesFile = try locate(names.images, in: directory)
        let labelsFile = try locate(names.labels, in: directory)

        let imageBytes = try Gzip.readFile(imagesFile.path)
        let labelBytes = try Gzip.readFile(labelsFile.path)
        let checks = [
            FileCheck(
                name: imagesFile.name, path: imagesFile.path, sha256: try SHA256.hexDigest(imageBytes),
                expectedSHA256: expectedHashes?[names.images]),
            FileCheck(
                name: labelsFile.name, path: labelsFile.path, sha256: try SHA256.hexDigest(labelBytes),
                expectedSHA256: expectedHashes?[names.labels]),
        ]
        if verifyHashes {
            for check in checks where !check.ok {
                throw DataError.hashMismatch(file: check.path, expected: check.expectedSHA256 ?? "", actual: check.sha256)
            }
        }

        let images = try IDX.parseImages(imageBytes, file: imagesFile.path)
        guard images.rows == imageRows, images.columns == imageColumns else {
            throw DataError.wrongImageSize(
                file: imagesFile.path, rows: images.rows, columns: images.columns,
                expectedRows: imageRows, expectedColumns: imageColumns)
        }
        let labels = try IDX.parseLabels(labelBytes, file: labelsFile.path, classCount: 10)
        guard images.count == labels.count else {
            throw DataError.countMismatch(
                imagesFile: imagesFile.path, imageCount: images.count,
                labelsFile: labelsFile.path, labelCount: labels.count)
        }
        let pairHash = try SHA256.hexDigest(checks[0].sha256 + checks[1].sha256)
        let dataset = Dataset(
            images: images.images01, labels: labels, name: name, split: split,
            classCount: 10, datasetHash: pairHash)
        return (dataset, checks)
    }
}
