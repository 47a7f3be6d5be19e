import Foundation
import XCTest

/// `Scripts/check-gradient-masking`'s verdicts, on figures planted by a stub `advlab` (the real
/// runs take most of an hour; `GradientAttackTests` runs the same checks on a real fixture).
final class MaskingScriptTests: XCTestCase {
    /// Prints, per run (the --out folder's name), a planted figure: the environment's value or a
    /// default under which every check holds.
    static let stub = """
        #!/usr/bin/env bash
        while [ $# -gt 0 ]; do case $1 in --out) out=$2; shift;; esac; shift; done
        case $(basename "$out") in
          pgd40) echo "{ \\"robust_accuracy\\" : ${A:-0.93} }";;
          pgd40-restarts5) echo "{ \\"robust_accuracy\\" : ${R:-0.925} }";;
          pgd200) echo "{ \\"robust_accuracy\\" : ${S:-0.922} }";;
          grid) for value in 0.99 0.98 ${G:-0.96} 0.93 0.5 0; do echo "{ \\"robust_accuracy\\" : $value }"; done;;
          eps1-from-clean) echo "{ \\"robust_accuracy\\" : ${ONE:-0} }";;
          cw-unbounded) echo "{ \\"success_rate\\" : ${CW:-1} }";;
        esac

        """

    func run(planted: [String: String]) throws -> (status: Int32, output: String) {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("masking-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let stub = folder.appendingPathComponent("advlab")
        try Self.stub.write(to: stub, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: stub.path)
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Scripts/check-gradient-masking")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = [script.path, "model.safetensors", folder.appendingPathComponent("out").path, "10"]
        process.environment = ProcessInfo.processInfo.environment.merging(planted.merging(["ADVLAB": stub.path]) { $1 }) { $1 }
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return (process.terminationStatus, output)
    }

    /// Each planted defect fails its check, and only that one; the defaults pass.
    func testEachCheckFailsOnItsPlantedDefect() throws {
        let clean = try run(planted: [:])
        XCTAssertEqual(clean.status, 0, clean.output)
        XCTAssertTrue(clean.output.contains("all gradient-masking checks hold"), clean.output)
        let cases: [([String: String], String)] = [
            (["ONE": "0.2"], "FAIL: ε = 1 from the clean image leaves robust accuracy 0.2"),
            (["G": "0.999"], "FAIL: robust accuracy rose along the ε grid"),
            (["CW": "0.97"], "FAIL: unbounded C&W succeeded on 0.97 only"),
            (["R": "0.91"], "FAIL: PGD-40 not converged: 5 restarts lower robust accuracy by 0.0200"),
            (["S": "0.90"], "FAIL: PGD-40 not converged: 200 steps lower robust accuracy by 0.0300"),
            (["S": "0.95"], "FAIL (noise or bookkeeping; little information): 200 steps raise robust accuracy by 0.0200"),
        ]
        for (planted, message) in cases {
            let result = try run(planted: planted)
            XCTAssertEqual(result.status, 1, "\(planted): \(result.output)")
            XCTAssertEqual(result.output.split(separator: "\n").filter { $0.hasPrefix("FAIL") }, [Substring(message)], "\(planted)")
        }
    }
}
