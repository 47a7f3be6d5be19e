/// LeCun, Cortes & Burges' MNIST handwritten digits, in the IDX files of the original
/// distribution (`train-images-idx3-ubyte.gz`, `train-labels-idx1-ubyte.gz`,
/// `t10k-images-idx3-ubyte.gz`, `t10k-labels-idx1-ubyte.gz`; unpacked files work too).
public enum MNIST {
    /// SHA-256 of each decompressed file, as published with MNIST (and checked by Scripts/setup).
    public static let expectedSHA256: [String: String] = [
        "train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
        "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
        "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
        "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
    ]

    /// SHA-256 of the four digests above concatenated as hex, in the order train images, train
    /// labels, test images, test labels: one string that names the whole verified data set.
    public static let datasetHash = "c65580678af93f1ea48c2c0d01d543ec89307c6b8a0eb7ca542d7c18c5f4c681"

    /// The examples per split: 60 000 train, 10 000 test.
    public static func expectedCount(_ split: Dataset.Split) -> Int { split == .train ? 60_000 : 10_000 }

    /// Loads one split from `directory` as `[N, 1, 28, 28]` images in [0, 1] and labels 0…9.
    ///
    /// With `verifyHashes` (the default) the SHA-256 of each decompressed file must match
    /// `expectedSHA256`, else `DataError.hashMismatch` names the file and both digests. Also
    /// throws `DataError` naming the file for a missing or unreadable file, a gzip stream
    /// cut short, a wrong IDX magic or dimension count, a length that differs from the
    /// header, labels outside 0…9, images not 28 × 28, or differing image and label counts.
    public static func load(split: Dataset.Split, directory: String, verifyHashes: Bool = true) throws -> Dataset {
        try IDXDatasetFiles.load(
            name: "mnist", split: split, directory: directory,
            expectedHashes: expectedSHA256, verifyHashes: verifyHashes
        ).0
    }

    /// Checks both splits in `directory`: every file's digest against `expectedSHA256`, and
    /// the counts per split and class. A digest mismatch is reported (`ok == false`), not
    /// thrown; structural errors throw as in `load`.
    public static func verify(directory: String) throws -> DataReport {
        try DataReport.build(name: "mnist", directory: directory, expectedHashes: expectedSHA256)
    }
}
