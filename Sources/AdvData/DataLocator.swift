import Foundation

/// Where data folders are found. The lookup itself (`--data`, then the data set's variable,
/// then its default folder) is `DatasetEntry.directory(dataFlag:environment:)`.
public enum DataLocator {
    /// The environment variable that names the MNIST directory.
    public static let environmentVariable = "ADVLAB_DATA"

    /// `path` when it is an existing folder, else `DataError.notADirectory(origin:)`.
    public static func existingDirectory(_ path: String, origin: String) throws -> String {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw DataError.notADirectory(origin: origin)
        }
        return path
    }
}
