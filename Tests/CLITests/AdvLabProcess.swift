import Foundation
import XCTest

/// What one run of the `advlab` binary did.
struct ProcessResult {
    var status: Int32
    var standardOutput: String
    var standardError: String

    /// Standard error split into lines (a final newline does not make an extra empty line).
    var errorLines: [String] {
        standardError.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
            .dropLast(standardError.hasSuffix("\n") ? 1 : 0).map { $0 }
    }
}

/// Runs the `advlab` binary built next to the test bundle as a subprocess.
enum AdvLabProcess {
    /// Where `swift build` put `advlab`: the folder of the test bundle (`…/debug/advlabPackageTests.xctest`
    /// on Linux, `…/debug/advlabPackageTests.xctest/Contents/MacOS/…` on macOS). `ADVLAB_BINARY`
    /// overrides the search. Throws `BinaryNotFound` (failing the test, naming the places looked
    /// at) when it is absent: the binary is built with the tests, so absence is a defect, not a skip.
    static func binaryURL() throws -> URL {
        if let override = ProcessInfo.processInfo.environment["ADVLAB_BINARY"], !override.isEmpty {
            return URL(fileURLWithPath: override)
        }
        var folders: [URL] = []
        let executable = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        folders.append(executable.deletingLastPathComponent())
        folders.append(Bundle.main.bundleURL)
        for bundle in Bundle.allBundles where bundle.bundleURL.pathExtension == "xctest" {
            folders.append(bundle.bundleURL.deletingLastPathComponent())
        }
        for folder in folders {
            // Walk up a few levels: on macOS the executable sits inside the .xctest bundle.
            var candidate = folder
            for _ in 0..<4 {
                let binary = candidate.appendingPathComponent("advlab")
                var isDirectory: ObjCBool = false
                if FileManager.default.fileExists(atPath: binary.path, isDirectory: &isDirectory), !isDirectory.boolValue,
                    FileManager.default.isExecutableFile(atPath: binary.path)
                {
                    return binary
                }
                candidate = candidate.deletingLastPathComponent()
            }
        }
        throw BinaryNotFound(
            "advlab binary not found next to the test bundle; looked in "
                + folders.map(\.path).joined(separator: ", ") + " (build with `swift build --build-tests`)")
    }

    /// `advlab args…` ready to run in `workingDirectory`, with the test's environment minus
    /// `ADVLAB_DATA` (so a developer's setting cannot change what a test sees) plus `environment`.
    static func makeProcess(_ arguments: [String], environment: [String: String], workingDirectory: URL) throws -> Process {
        let process = Process()
        process.executableURL = try binaryURL()
        process.arguments = arguments
        process.currentDirectoryURL = workingDirectory
        var fullEnvironment = ProcessInfo.processInfo.environment
        fullEnvironment["ADVLAB_DATA"] = nil
        fullEnvironment.merge(environment) { _, new in new }
        process.environment = fullEnvironment
        return process
    }

    /// Starts `advlab args…` in `workingDirectory` (environment as in `run`) and returns at once,
    /// its output discarded: for tests that kill the process while it works.
    static func start(_ arguments: [String], environment: [String: String] = [:], workingDirectory: URL) throws -> Process {
        let process = try makeProcess(arguments, environment: environment, workingDirectory: workingDirectory)
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        try process.run()
        return process
    }

    /// Runs `advlab args…` in `workingDirectory` (environment as in `makeProcess`) to its end.
    static func run(
        _ arguments: [String], environment: [String: String] = [:],
        workingDirectory: URL
    ) throws -> ProcessResult {
        let process = try makeProcess(arguments, environment: environment, workingDirectory: workingDirectory)

        // Files rather than pipes: no deadlock however much the child writes.
        // Outside the working directory, whose content the tests compare before and after.
        let temporary = FileManager.default.temporaryDirectory
        let outputURL = temporary.appendingPathComponent("advlab-stdout-\(UUID().uuidString).txt")
        let errorURL = temporary.appendingPathComponent("advlab-stderr-\(UUID().uuidString).txt")
        try Data().write(to: outputURL)
        try Data().write(to: errorURL)
        defer {
            try? FileManager.default.removeItem(at: outputURL)
            try? FileManager.default.removeItem(at: errorURL)
        }
        let outputHandle = try FileHandle(forWritingTo: outputURL)
        let errorHandle = try FileHandle(forWritingTo: errorURL)
        process.standardOutput = outputHandle
        process.standardError = errorHandle
        process.standardInput = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        try outputHandle.close()
        try errorHandle.close()
        return ProcessResult(
            status: process.terminationStatus,
            standardOutput: String(decoding: try Data(contentsOf: outputURL), as: UTF8.self),
            standardError: String(decoding: try Data(contentsOf: errorURL), as: UTF8.self))
    }
}

/// The `advlab` binary is not where `swift build --build-tests` puts it.
struct BinaryNotFound: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
