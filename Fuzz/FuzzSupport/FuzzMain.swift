import CFuzzerDriver
import Foundation

/// The `main` of a fuzz target, for both ways it is built:
/// - with `-Xswiftc -sanitize=fuzzer,address` (`Scripts/fuzz`), libFuzzer is linked in and takes
///   the command line (`-runs=N`, corpus folders, `-artifact_prefix=…`);
/// - in the ordinary `swift build`, there is no libFuzzer and the binary replays the files (or the
///   files of the folders) named on the command line through the same check, one line per input:
///   how a crash file is reproduced without the sanitizer build, and how the seed corpus is
///   checked. `--write-seeds DIR` writes the target's seed corpus (`Fuzz/corpus/…`).
public enum FuzzMain {
    /// Runs libFuzzer (when linked), the replay, or `--write-seeds`; returns the exit status.
    /// `callback` is the target's `LLVMFuzzerTestOneInput`, which must return 0 and abort on a
    /// finding; `seeds` are the named inputs of the seed corpus.
    public static func run(callback: advlab_fuzz_callback, seeds: () throws -> [(name: String, bytes: [UInt8])]) -> Int32 {
        if advlab_fuzzer_is_linked() != 0 {
            var argc = CommandLine.argc
            var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
            return advlab_fuzzer_run_driver(&argc, &argv, callback)
        }
        let arguments = Array(CommandLine.arguments.dropFirst())
        if arguments.count == 2, arguments[0] == "--write-seeds" {
            return writeSeeds(seeds, to: arguments[1])
        }
        guard !arguments.isEmpty, !arguments.contains(where: { $0.hasPrefix("-") }) else {
            let name = (CommandLine.arguments.first as NSString?)?.lastPathComponent ?? "fuzz"
            FileHandle.standardError.write(Data("""
                usage: \(name) FILE-OR-FOLDER…   replay inputs through the check (this build has no libFuzzer)
                       \(name) --write-seeds DIR write the seed corpus
                Build with `swift build -c release --product \(name) -Xswiftc -sanitize=fuzzer,address` to fuzz (see Scripts/fuzz).

                """.utf8))
            return 64
        }
        var replayed = 0
        for path in inputFiles(arguments) {
            guard let data = FileManager.default.contents(atPath: path) else {
                FileHandle.standardError.write(Data("\(path): cannot read\n".utf8))
                return 1
            }
            let bytes = [UInt8](data)
            _ = bytes.withUnsafeBufferPointer { callback($0.baseAddress, $0.count) }
            print("ok \(path) (\(bytes.count) bytes)")
            replayed += 1
        }
        print("replayed \(replayed) input\(replayed == 1 ? "" : "s") without a finding")
        return 0
    }

    /// Writes every seed to `folder/name` (the folder must exist).
    static func writeSeeds(_ seeds: () throws -> [(name: String, bytes: [UInt8])], to folder: String) -> Int32 {
        do {
            for seed in try seeds() {
                try Data(seed.bytes).write(to: URL(fileURLWithPath: folder).appendingPathComponent(seed.name))
                print("wrote \(folder)/\(seed.name) (\(seed.bytes.count) bytes)")
            }
            return 0
        } catch {
            FileHandle.standardError.write(Data("--write-seeds \(folder): \(error)\n".utf8))
            return 1
        }
    }

    /// The files named, with folders expanded to their regular files (sorted, not recursive).
    static func inputFiles(_ arguments: [String]) -> [String] {
        arguments.flatMap { path -> [String] in
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue else { return [path] }
            let names = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
            return names.sorted().map { path + "/" + $0 }.filter { !$0.hasSuffix("/.gitkeep") }
        }
    }

    /// Runs `body`; an error for which `isExpected` is false, or whose description is not one
    /// line, is a finding: it is printed and the process aborts (libFuzzer then saves the input).
    public static func expectTypedError(_ what: String, isExpected: (any Error) -> Bool, _ body: () throws -> Void) {
        do {
            try body()
        } catch {
            guard isExpected(error) else { finding("\(what): unexpected error type \(type(of: error)): \(error)") }
            let text = String(describing: error)
            guard !text.isEmpty, !text.contains("\n"), !text.contains("\r") else {
                finding("\(what): error message is not one line: \(text.debugDescription)")
            }
        }
    }

    /// Reports a broken invariant and aborts.
    public static func finding(_ message: String) -> Never {
        FileHandle.standardError.write(Data("FINDING: \(message)\n".utf8))
        abort()
    }
}
