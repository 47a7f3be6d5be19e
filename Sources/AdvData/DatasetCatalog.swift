import AdvTensor
import Foundation

/// One data set the lab can run on: its name (`--dataset`), image shape, class names, where its
/// files are found and how they load. Adding a data set adds an entry to `DatasetCatalog.all`
/// (and its loader file); the commands, the models and the report take everything else from here.
public struct DatasetEntry: Sendable {
    /// `--dataset` and the `dataset` metadata of checkpoints, e.g. `mnist`.
    public let name: String
    /// The name in prose, e.g. `MNIST`.
    public let title: String
    public let shape: ImageShape
    /// By label; the report's tables and grids show these.
    public let classNames: [String]
    /// What one image shows, in prose ("digit", "garment"): "not a digit" on the judge page.
    public let itemNoun: String
    /// The environment variable that names the folder of the files when `--data` is not given.
    public let environmentVariable: String
    /// Where the files are when neither `--data` nor the variable says (a Debian package's folder).
    public let defaultDirectory: String?
    /// How to get the files, for the error when none are found.
    public let howToGet: String
    /// The folder of the committed checkpoints trained on it (the commands' defaults).
    public let checkpointsFolder: String
    /// The L∞ budget the field quotes for it (MNIST 0.3, Madry et al. 2018; Fashion-MNIST 0.1),
    /// the report's headline ε.
    public let usualLinfEps: Double
    /// The L2 budget of the report's headline: MNIST 4.5 (the post's), Fashion-MNIST 1.5 (the
    /// same ratio to the L∞ budget).
    public let usualL2Eps: Double
    let loader: @Sendable (Dataset.Split, String) throws -> Dataset
    let verifier: @Sendable (String) throws -> DataReport

    public var classCount: Int { classNames.count }

    /// One split from `directory`, with the entry's class names.
    public func load(_ split: Dataset.Split, directory: String) throws -> Dataset {
        var dataset = try loader(split, directory)
        dataset.classNames = classNames
        return dataset
    }

    /// Both splits' digests (against the published ones, where there are any) and counts.
    public func verify(directory: String) throws -> DataReport { try verifier(directory) }

    /// The folder of the files: `dataFlag` when given, else the environment variable, else the
    /// default folder. Throws `DataError` naming how the folder was given when it is not one.
    public func directory(dataFlag: String?, environment: [String: String] = ProcessInfo.processInfo.environment) throws -> String {
        if let dataFlag, !dataFlag.isEmpty { return try DataLocator.existingDirectory(dataFlag, origin: "--data \(dataFlag)") }
        if let variable = environment[environmentVariable], !variable.isEmpty {
            return try DataLocator.existingDirectory(variable, origin: "\(environmentVariable)=\(variable)")
        }
        if let defaultDirectory, FileManager.default.fileExists(atPath: defaultDirectory) { return defaultDirectory }
        throw DataError.noDataFound(dataset: title, variable: environmentVariable, howToGet: howToGet)
    }
}

/// The data sets, by name.
public enum DatasetCatalog {
    public static let mnist = DatasetEntry(
        name: "mnist", title: "MNIST", shape: ImageShape(channels: 1, height: 28, width: 28),
        classNames: (0..<10).map(String.init), itemNoun: "digit", environmentVariable: DataLocator.environmentVariable,
        defaultDirectory: nil, howToGet: "Scripts/setup fetches it", checkpointsFolder: "checkpoints", usualLinfEps: 0.3,
        usualL2Eps: 4.5,
        loader: { split, directory in try MNIST.load(split: split, directory: directory) },
        verifier: { directory in try MNIST.verify(directory: directory) })

    public static let fashionMNIST = DatasetEntry(
        name: "fashion-mnist", title: "Fashion-MNIST", shape: ImageShape(channels: 1, height: 28, width: 28),
        classNames: FashionMNIST.classNames, itemNoun: "garment", environmentVariable: "ADVLAB_FASHION_DATA",
        defaultDirectory: FashionMNIST.defaultDirectory, howToGet: "apt-get install dataset-fashion-mnist",
        checkpointsFolder: "checkpoints/fashion-mnist", usualLinfEps: 0.1, usualL2Eps: 1.5,
        loader: { split, directory in try FashionMNIST.load(split: split, directory: directory) },
        verifier: { directory in try FashionMNIST.verify(directory: directory) })

    public static let all = [mnist, fashionMNIST]

    public static func named(_ name: String) -> DatasetEntry? { all.first { $0.name == name } }
}
