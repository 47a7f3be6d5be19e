import Foundation
import XCTest

/// `advlab masking` and `Scripts/check-gradient-masking`: bad flags, a small real run whose exit
/// status follows its checks, and the script's wiring. The checks themselves, each with its
/// planted defect, are tested in `GradientAttackTests` on `maskingChecks`, the one implementation.
final class MaskingScriptTests: CLITestCase {
    func testMaskingFlags() throws {
        let base = ["masking", "--model", "m.safetensors", "--out", work.appendingPathComponent("m").path]
        try assertOneLineError(base + ["--count", "0"], mentions: ["--count", "0"])
        try assertOneLineError(base + ["--eps", "1.5"], mentions: ["--eps", "1.5"])
        try assertOneLineError(base + ["--tolerance=-0.1"], mentions: ["--tolerance", "-0.1"])
        try assertOneLineError(base + ["--square-queries", "0"], mentions: ["--square-queries", "0"])
        try assertOneLineError(base + ["--cw-count", "0"], mentions: ["--cw-count", "0"])
        try assertOneLineError(base, mentions: ["--model", "m.safetensors"])
    }

    /// The natural model on 6 images at small budgets: seven checks, the seed recorded, and the
    /// exit status 0 exactly when every check holds.
    func testMaskingRunsAndItsExitFollowsTheChecks() throws {
        let out = work.appendingPathComponent("masking/new")
        let result = try run(
            [
                "masking", "--model", checkpoint("classifier-natural.safetensors"), "--count", "6", "--cw-count", "2",
                "--square-queries", "40", "--seed", "4", "--out", out.path,
            ] + dataFlag)
        XCTAssertTrue(result.status == 0 || result.status == 1, result.standardError)
        let data = try Data(contentsOf: out.appendingPathComponent("masking.json"))
        let json = try XCTUnwrap(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let report = try XCTUnwrap(json["report"] as? [String: Any])
        let checks = try XCTUnwrap(report["checks"] as? [[String: Any]])
        XCTAssertEqual(checks.count, 7)
        XCTAssertEqual(json["seed"] as? Int, 4)
        let allHold = try XCTUnwrap(json["all_hold"] as? Bool)
        XCTAssertEqual(allHold, checks.allSatisfy { $0["holds"] as? Bool == true })
        XCTAssertEqual(result.status, allHold ? 0 : 1, result.standardError)
        XCTAssertEqual(result.standardOutput.split(separator: "\n").filter { $0.hasPrefix("FAILS") || $0.hasPrefix("holds") }.count, 7)
    }

    /// The script hands its arguments to `advlab masking` (a stub prints what it got).
    func testScriptCallsAdvlabMasking() throws {
        let stub = work.appendingPathComponent("advlab")
        try "#!/usr/bin/env bash\necho \"$@\"\n".write(to: stub, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: stub.path)
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Scripts/check-gradient-masking")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = [script.path, "model.safetensors", "outdir", "10", "--square-count", "100"]
        process.environment = ProcessInfo.processInfo.environment.merging(["ADVLAB": stub.path, "TOLERANCE": "0.02"]) { $1 }
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0)
        XCTAssertEqual(
            output.trimmingCharacters(in: .whitespacesAndNewlines),
            "masking --model model.safetensors --out outdir --count 10 --tolerance 0.02 --square-count 100")
    }
}
