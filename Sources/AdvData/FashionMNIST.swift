/// Xiao, Rasul & Vollgraf's Fashion-MNIST (2017): ten clothing classes in MNIST's format and
/// sizes, shipped by Debian's `dataset-fashion-mnist` package. There is no digest table: the
/// files are checked for structure only (and `Dataset.datasetHash` still records them).
public enum FashionMNIST {
    /// Where Debian's `dataset-fashion-mnist` installs the files.
    public static let defaultDirectory = "/usr/share/datasets/fashion-mnist"

    /// The class names, by label.
    public static let classNames = [
        "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
        "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
    ]

    /// Loads one split as `[N, 1, 28, 28]` images in [0, 1] and labels 0…9. Throws the same
    /// `DataError`s as `MNIST.load`, except that there is no digest to mismatch.
    public static func load(split: Dataset.Split, directory: String = defaultDirectory) throws -> Dataset {
        try IDXDatasetFiles.load(
            name: "fashion-mnist", split: split, directory: directory,
            expectedHashes: nil, verifyHashes: false
        ).0
    }

    /// Both splits' digests and counts (every file is `ok` when it parses).
    public static func verify(directory: String = defaultDirectory) throws -> DataReport {
        try DataReport.build(name: "fashion-mnist", directory: directory, expectedHashes: nil)
    }
}
