/// What `advlab data verify` shows: every file's digest against the published one, and each
/// split's counts. Codable so that the command can write it as JSON too.
public struct DataReport: Sendable, Codable {
    /// Counts found in one split.
    public struct SplitSummary: Sendable, Codable, Equatable {
        public var split: Dataset.Split
        public var imageCount: Int
        public var labelCount: Int
        /// Examples per class, `classCount` entries summing to `labelCount`.
        public var classCounts: [Int]
    }

    /// `mnist` or `fashion-mnist`.
    public var name: String
    public var directory: String
    /// Images then labels file, train split first.
    public var files: [FileCheck]
    /// Train then test.
    public var splits: [SplitSummary]
    /// Per split, the `Dataset.datasetHash` of the files as found.
    public var datasetHashes: [String: String]

    /// True when every file matches its published digest (or there is no table). Structural
    /// problems never reach a report: building it throws instead.
    public var allOK: Bool { files.allSatisfy(\.ok) }

    /// Loads both splits of `directory` without stopping at a digest mismatch (so that every
    /// file gets reported); structural errors (missing, unreadable, truncated, malformed IDX)
    /// still throw the `DataError` that names the file.
    static func build(name: String, directory: String, expectedHashes: [String: String]?) throws -> DataReport {
        var files: [FileCheck] = []
        var splits: [SplitSummary] = []
        var hashes: [String: String] = [:]
        for split in Dataset.Split.allCases {
            let (dataset, checks) = try IDXDatasetFiles.load(
                name: name, split: split, directory: directory,
                expectedHashes: expectedHashes, verifyHashes: false)
            files += checks
            splits.append(
                SplitSummary(
                    split: split, imageCount: dataset.images.batchCount,
                    labelCount: dataset.count, classCounts: dataset.classCounts()))
            hashes[split.rawValue] = dataset.datasetHash
        }
        return DataReport(name: name, directory: directory, files: files, splits: splits, datasetHashes: hashes)
    }
}

extension DataReport: CustomStringConvertible {
    /// One line per file (`ok`/`MISMATCH`, name, digest) and per split (counts per class).
    public var description: String {
        var lines = ["\(name) in \(directory)"]
        for file in files {
            var line = "  \(file.ok ? "ok      " : "MISMATCH") \(file.name)  sha256 \(file.sha256)"
            if !file.ok, let expected = file.expectedSHA256 { line += " (expected \(expected))" }
            lines.append(line)
        }
        for split in splits {
            let perClass = split.classCounts.enumerated().map { "\($0.offset):\($0.element)" }.joined(separator: " ")
            lines.append("  \(split.split.rawValue): \(split.imageCount) images, \(split.labelCount) labels; per class \(perClass)")
        }
        return lines.joined(separator: "\n")
    }
}
