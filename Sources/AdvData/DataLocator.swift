import Foundation

/// Finds the data directory the way every command does: `--data DIR`, else `ADVLAB_DATA`.
public enum DataLocator {
    /// The environment variable that names the MNIST directory.
    public static let environmentVariable = "ADVLAB_DATA"

    /// `dataFlag` when given, else `environment["ADVLAB_DATA"]` (empty values count as unset).
    ///
    /// Throws `DataError.noDataLocation` when neither is set, and `.notADirectory` naming
    /// `--data` or `ADVLAB_DATA` when the path is not an existing directory.
    public static func resolve(dataFlag: String?,
                               environment: [String: String] = ProcessInfo.processInfo.environment) throws -> String {
        let origin: String
        let path: String
        if let flag = dataFlag, !flag.isEmpty {
            (origin, path) = ("--data \(flag)", flag)
        } else if let variable = environment[environmentVariable], !variable.isEmpty {
            (origin, path) = ("\(environmentVariable)=\(variable)", variable)
        } else {
            throw DataError.noDataLocation
        }
        return try existingDirectory(path, origin: origin)
    }

    /// `path` when it is an existing folder, else `DataError.notADirectory(origin:)`.
    public static func existingDirectory(_ path: String, origin: String) throws -> String {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw DataError.notADirectory(origin: origin)
        }
        return path
    }
}
