import Foundation
import XCTest

/// A test case that runs `advlab` in a fresh temporary folder (`root/work` is the working
/// directory) and checks the lab's error contract (docs/ARCHITECTURE.md, Commands): bad input gets ONE
/// line `advlab: error: …` on standard error naming the file, field or flag, a non-zero exit,
/// and nothing already written is damaged.
class CLITestCase: XCTestCase {
    /// Everything a test writes lives under this folder.
    var root: URL!
    /// The working directory of every run.
    var work: URL!

    override func setUpWithError() throws {
        try super.setUpWithError()
        root = FileManager.default.temporaryDirectory.appendingPathComponent("advlab-cli-\(UUID().uuidString)")
        work = root.appendingPathComponent("work")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        if let root { try? FileManager.default.removeItem(at: root) }
        try super.tearDownWithError()
    }

    /// A new empty folder under `root`.
    func makeFolder(_ name: String) throws -> URL {
        let folder = root.appendingPathComponent(name)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        return folder
    }

    /// The repository's `checkpoints/` folder (this file is Tests/CLITests/…).
    var checkpoints: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("checkpoints")
    }

    /// The path of a committed checkpoint, e.g. `checkpoint("acgan.safetensors")`.
    func checkpoint(_ name: String) -> String { checkpoints.appendingPathComponent(name).path }

    /// The real MNIST folder (`ADVLAB_DATA`, which CI always sets), or a skip without it.
    /// `--data DIR` for `report --verify` of a real report, whose fingerprint names the MNIST
    /// files (the subprocess does not inherit ADVLAB_DATA); empty when it is not set.
    var dataFlag: [String] {
        // Absolute: advlab runs in a temporary folder.
        ProcessInfo.processInfo.environment["ADVLAB_DATA"].map {
            $0.isEmpty ? [] : ["--data", URL(fileURLWithPath: $0).standardizedFileURL.path]
        } ?? []
    }

    func mnistDirectory() throws -> String {
        guard let directory = ProcessInfo.processInfo.environment["ADVLAB_DATA"], !directory.isEmpty else {
            throw XCTSkip("ADVLAB_DATA is not set (Scripts/setup fetches MNIST)")
        }
        return directory
    }

    /// Runs `advlab arguments…` in `work`.
    func run(_ arguments: [String], environment: [String: String] = [:]) throws -> ProcessResult {
        try AdvLabProcess.run(arguments, environment: environment, workingDirectory: work)
    }

    /// Runs `advlab arguments…` and asserts the error contract: non-zero exit, nothing on
    /// standard output, exactly one line on standard error that starts with `advlab: error:` and
    /// contains every string of `mentions` (the file, field or flag at fault), and no file under
    /// `root` created, changed or removed.
    @discardableResult
    func assertOneLineError(
        _ arguments: [String], mentions: [String], environment: [String: String] = [:],
        file: StaticString = #filePath, line: UInt = #line
    ) throws -> ProcessResult {
        let before = try DirectorySnapshot(of: root)
        let result = try run(arguments, environment: environment)
        let after = try DirectorySnapshot(of: root)
        let command = "advlab " + arguments.joined(separator: " ")
        XCTAssertNotEqual(result.status, 0, "\(command) exited 0", file: file, line: line)
        XCTAssertEqual(result.standardOutput, "", "\(command) wrote to standard output", file: file, line: line)
        let lines = result.errorLines
        XCTAssertEqual(
            lines.count, 1, "\(command): expected one line on standard error, got:\n\(result.standardError)",
            file: file, line: line)
        let message = lines.first ?? ""
        XCTAssertTrue(message.hasPrefix("advlab: error: "), "\(command): \(message)", file: file, line: line)
        for expected in mentions {
            XCTAssertTrue(
                message.contains(expected), "\(command): error line does not mention \"\(expected)\": \(message)",
                file: file, line: line)
        }
        XCTAssertEqual(before, after, "\(command) changed files: \(after.differences(from: before))", file: file, line: line)
        return result
    }
}
