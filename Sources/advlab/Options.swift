import AdvData
import AdvTensor
import ArgumentParser
import Foundation

/// `--data DIR`: where the MNIST files are (else `ADVLAB_DATA`).
struct DataOptions: ParsableArguments {
    @Option(name: .long, help: "Folder with the MNIST IDX files (default: $ADVLAB_DATA).")
    var data: String?

    func directory() throws -> String { try DataLocator.resolve(dataFlag: data) }
}

/// `--seed S`: the one seed of the command's generator; it is written into every output.
struct SeedOption: ParsableArguments {
    @Option(name: .long, help: "Seed of the random generator (written into every output).")
    var seed: UInt64 = 0
}

/// `--json`: machine-readable result on standard output.
struct JSONOption: ParsableArguments {
    @Flag(name: .long, help: "Print the result as JSON on standard output.")
    var json = false
}

/// The command line as typed, for `created_by` in checkpoints and outputs.
var commandLineText: String { (["advlab"] + CommandLine.arguments.dropFirst()).joined(separator: " ") }

/// Whether `validateOutputFile`, `validateInputFile` and `validateOutputFolder` look at the file
/// system. `AdvLab.main` parses with them off, so that an unknown, malformed or out-of-range
/// flag is reported as itself even when a default path (e.g. `checkpoints/…`) does not exist
/// (ArgumentParser runs `validate()` before it rejects unknown flags), then validates the
/// chosen command again with them on.
enum FileChecks {
    static var enabled = true
}

/// Throws a `ValidationError` naming `flag` unless its folder exists and is writable.
func validateOutputFile(_ path: String, flag: String) throws {
    guard FileChecks.enabled else { return }
    let folder = URL(fileURLWithPath: path).deletingLastPathComponent().path
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: folder, isDirectory: &isDirectory), isDirectory.boolValue else {
        throw ValidationError("\(flag) \(path): folder \(folder) does not exist")
    }
    if let reason = unwritableReason(folder) {
        throw ValidationError("\(flag) \(path): folder \(folder) is not writable (\(reason))")
    }
}

/// Why no file can be created in `folder`, or nil when one can. Tries it (a hidden file, removed
/// at once) rather than asking `access(2)`: for root, `access` says yes to every folder, even
/// where creating a file then fails (sysfs, read-only mounts, network file systems), and that
/// failure would otherwise only come when the command writes its result, after all its work.
func unwritableReason(_ folder: String) -> String? {
    let probe = folder + "/.advlab-write-check.\(getpid()).tmp"
    let descriptor = open(probe, O_WRONLY | O_CREAT | O_EXCL, 0o600)
    guard descriptor >= 0 else { return String(cString: strerror(errno)) }
    close(descriptor)
    unlink(probe)
    return nil
}

/// Throws a `ValidationError` naming `flag` unless `path` is an existing readable file.
func validateInputFile(_ path: String, flag: String) throws {
    guard FileChecks.enabled else { return }
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue else {
        throw ValidationError("\(flag) \(path): no such file")
    }
}

/// Encodes `value` as pretty, key-sorted JSON text.
func jsonText(_ value: some Encodable) throws -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    return String(decoding: try encoder.encode(value), as: UTF8.self)
}

/// Throws a `ValidationError` naming `flag` unless `path` is an existing folder or can be
/// created (its parent exists and is writable).
func validateOutputFolder(_ path: String, flag: String) throws {
    guard FileChecks.enabled else { return }
    var isDirectory: ObjCBool = false
    if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) {
        guard isDirectory.boolValue else { throw ValidationError("\(flag) \(path): exists and is not a folder") }
        if let reason = unwritableReason(path) { throw ValidationError("\(flag) \(path): folder is not writable (\(reason))") }
        return
    }
    try validateOutputFile(path, flag: flag)
}

/// Creates `path` (one level) when missing.
func createFolder(_ path: String) throws {
    var isDirectory: ObjCBool = false
    if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue { return }
    do { try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false) } catch {
        throw FileWriteError(path: path, reason: "cannot create folder")
    }
}
