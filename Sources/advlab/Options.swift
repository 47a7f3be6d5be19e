import AdvAttacks
import AdvData
import AdvTensor
import ArgumentParser
import Foundation

// Options that name one of a fixed set of values are enums: `--help` lists every case and an
// unknown value is an error naming the flag and the cases (no silent fallback).
extension AttackMethod: ExpressibleByArgument {}
extension PerturbationNorm: ExpressibleByArgument {}
extension AutoAttackVersion: ExpressibleByArgument {}

extension DatasetEntry: ExpressibleByArgument {
    public init?(argument: String) {
        guard let entry = DatasetCatalog.named(argument) else { return nil }
        self = entry
    }
    public var defaultValueDescription: String { name }
    public static var allValueStrings: [String] { DatasetCatalog.all.map(\.name) }
}

/// `--dataset NAME` and `--data DIR`: which data set, and where its files are (else the
/// data set's environment variable, `ADVLAB_DATA` for MNIST, or its default folder).
struct DataOptions: ParsableArguments {
    @Option(help: "The data set.") var dataset = DatasetCatalog.mnist
    @Option(
        name: .long,
        help: ArgumentHelp(
            "Folder with the data set's IDX files (default: $ADVLAB_DATA for mnist, "
                + "$ADVLAB_FASHION_DATA or Debian's folder for fashion-mnist)."))
    var data: String?

    func directory() throws -> String { try dataset.directory(dataFlag: data) }

    /// One split of the chosen data set.
    func load(_ split: Dataset.Split) throws -> Dataset { try dataset.load(split, directory: try directory()) }

    /// Both splits, read from one folder.
    func loadBoth() throws -> (train: Dataset, test: Dataset) {
        let directory = try directory()
        return (try dataset.load(.train, directory: directory), try dataset.load(.test, directory: directory))
    }
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

/// The command line as typed, for `created_by` in checkpoints and outputs, without the paths of
/// the machine that ran it: an absolute path or one that climbs out (`../`) keeps only its file
/// name, so a committed checkpoint names no folder of its maker (paths inside the project, e.g.
/// `checkpoints/acgan.safetensors`, stay as typed).
var commandLineText: String { pathFreeCommandLine(Array(CommandLine.arguments.dropFirst())) }

/// `advlab` and `arguments`, each absolute or climbing path (also after `--flag=`) cut to its
/// last component.
func pathFreeCommandLine(_ arguments: [String]) -> String {
    func scrubbed(_ value: String) -> String {
        guard value.hasPrefix("/") || value.hasPrefix("~") || value.hasPrefix("../") || value.contains("/../") else { return value }
        return URL(fileURLWithPath: value).lastPathComponent
    }
    return
        (["advlab"]
        + arguments.map { argument in
            if argument.hasPrefix("--"), let equals = argument.firstIndex(of: "=") {
                return String(argument[...equals]) + scrubbed(String(argument[argument.index(after: equals)...]))
            }
            return scrubbed(argument)
        }).joined(separator: " ")
}

/// Whether `validateOutputFile`, `validateInputFile` and `validateOutputFolder` look at the file
/// system. `AdvLab.main` parses with them off, so that an unknown, malformed or out-of-range
/// flag is reported as itself even when a default path (e.g. `checkpoints/…`) does not exist
/// (ArgumentParser runs `validate()` before it rejects unknown flags), then validates the
/// chosen command again with them on.
enum FileChecks {
    static var enabled = true
}

/// Throws a `ValidationError` naming `flag` unless `path` can be written as a file: it is not a
/// folder, and its folder exists and is writable or can be created (see `checkCreatableFolder`).
/// A missing folder is created, with its missing parents, once the whole command line has been
/// validated (`OutputFolders.createPending`).
func validateOutputFile(_ path: String, flag: String) throws {
    guard FileChecks.enabled else { return }
    var isDirectory: ObjCBool = false
    if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
        throw ValidationError("\(flag) \(path): is a folder, not a file")
    }
    try checkCreatableFolder(URL(fileURLWithPath: path).deletingLastPathComponent().path, flag: flag, shownPath: path)
}

/// Output folders that validation found missing. A command creates them (`mkdir -p`) once its
/// inputs have loaded, just before it writes (a folder output's own `createFolder(out)` does the
/// same), so a command line refused by validation, or failing on an input, writes nothing.
enum OutputFolders {
    static var pending: [String] = []

    /// Creates every pending folder with its missing parents.
    static func createPending() throws {
        for folder in pending { try createFolder(folder) }
        pending = []
    }
}

/// Throws a `ValidationError` naming `flag` and `shownPath` unless `folder` is a writable folder
/// or can be created as `mkdir -p` would: its nearest existing ancestor must be a folder in which
/// a file can be created. A missing `folder` is queued in `OutputFolders.pending`.
func checkCreatableFolder(_ folder: String, flag: String, shownPath: String) throws {
    var existing = URL(fileURLWithPath: folder).standardizedFileURL
    var isDirectory: ObjCBool = false
    var missing = false
    while !FileManager.default.fileExists(atPath: existing.path, isDirectory: &isDirectory) {
        missing = true
        let parent = existing.deletingLastPathComponent()
        if parent.path == existing.path { break }
        existing = parent
    }
    guard isDirectory.boolValue else {
        throw ValidationError("\(flag) \(shownPath): \(existing.path) exists and is not a folder")
    }
    if let reason = unwritableReason(existing.path) {
        throw ValidationError("\(flag) \(shownPath): folder \(existing.path) is not writable (\(reason))")
    }
    if missing { OutputFolders.pending.append(folder) }
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

/// Throws a `ValidationError` naming `flag` unless `path` is an existing writable folder or can
/// be created with its missing parents (then it is queued in `OutputFolders.pending`).
func validateOutputFolder(_ path: String, flag: String) throws {
    guard FileChecks.enabled else { return }
    var isDirectory: ObjCBool = false
    if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) {
        guard isDirectory.boolValue else { throw ValidationError("\(flag) \(path): exists and is not a folder") }
        if let reason = unwritableReason(path) { throw ValidationError("\(flag) \(path): folder is not writable (\(reason))") }
        return
    }
    try checkCreatableFolder(path, flag: flag, shownPath: path)
}

/// Creates `path` and its missing parents, as `mkdir -p` does.
func createFolder(_ path: String) throws {
    var isDirectory: ObjCBool = false
    if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue { return }
    do { try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true) } catch {
        throw FileWriteError(path: path, reason: "cannot create folder (\((error as NSError).localizedDescription))")
    }
}
