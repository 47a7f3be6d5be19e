import Foundation
import XCTest

/// Every Swift file of `Sources/` and `Tests/` (but generated code) is as `swift format` with the
/// repository's `.swift-format` leaves it: `swift format lint --strict` reports nothing. Fix a
/// failure with `swift format --in-place --recursive Sources Tests Package.swift`.
final class FormatLintTests: XCTestCase {
    /// The repository's root, found from this file's path.
    var root: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }

    /// The Swift files the formatter owns: all of Sources and Tests but `Generated/` folders.
    func formattedFiles() -> [String] {
        var files = ["Package.swift"]
        for folder in ["Sources", "Tests"] {
            let enumerator = FileManager.default.enumerator(atPath: root.appendingPathComponent(folder).path)
            while let path = enumerator?.nextObject() as? String {
                if path.hasSuffix(".swift") && !path.contains("/Generated/") { files.append("\(folder)/\(path)") }
            }
        }
        return files.sorted()
    }

    /// `swift format lint --strict` on files; its exit status and what it printed.
    func lint(_ files: [String], configuration: URL) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["swift", "format", "lint", "--strict", "--parallel", "--configuration", configuration.path] + files
        process.currentDirectoryURL = root
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return (process.terminationStatus, output)
    }

    func testSourcesAreFormatted() throws {
        let files = formattedFiles()
        XCTAssertGreaterThan(files.count, 100, "the file walk found too few Swift files")
        let result = try lint(files, configuration: root.appendingPathComponent(".swift-format"))
        XCTAssertEqual(result.status, 0, "swift format lint --strict:\n\(result.output.prefix(4000))")
        XCTAssertEqual(result.output.trimmingCharacters(in: .whitespacesAndNewlines), "")
    }

    /// The check can fail: a badly formatted file makes the same call exit non-zero.
    func testTheFormatLintRejectsABadlyFormattedFile() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("format-lint-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let bad = folder.appendingPathComponent("Bad.swift")
        try "func f( ) -> Int {\n  let x=1;return x }\n".write(to: bad, atomically: true, encoding: .utf8)
        let result = try lint([bad.path], configuration: root.appendingPathComponent(".swift-format"))
        XCTAssertNotEqual(result.status, 0)
    }
}
