import Foundation
import XCTest

/// `advlab report` and `advlab judge` on bad input: one line naming the file or flag, non-zero
/// exit, nothing written.
final class ReportCommandTests: CLITestCase {
    func testReportNamesAMissingCheckpoint() throws {
        // The natural checkpoint exists (its contents are read only after every flag is checked).
        try Data("x".utf8).write(to: work.appendingPathComponent("natural.safetensors"))
        _ = try assertOneLineError(
            ["report", "--quick", "--natural", "natural.safetensors", "--robust", "missing-robust.safetensors", "--out", "report"],
            mentions: ["--robust", "missing-robust.safetensors"])
    }

    /// A study on Fashion-MNIST with a checkpoint trained on MNIST measures nothing: refused,
    /// naming the flag; and without model flags the data set's own checkpoints folder is used.
    func testReportRefusesACheckpointOfAnotherDataSet() throws {
        _ = try assertOneLineError(
            [
                "report", "--quick", "--dataset", "fashion-mnist", "--natural", checkpoint("classifier-natural.safetensors"), "--out",
                "report",
            ],
            mentions: ["--natural", "MNIST", "fashion-mnist"])
        _ = try assertOneLineError(
            ["report", "--quick", "--dataset", "fashion-mnist", "--out", "report"], mentions: ["checkpoints/fashion-mnist/"])
    }

    func testVerifyNamesTheMissingResults() throws {
        let folder = try makeFolder("empty-report")
        _ = try assertOneLineError(["report", "--verify", folder.path], mentions: ["--verify", "results.json: missing"])
    }

    func testVerifyFindsANumberThatIsNotAResult() throws {
        let folder = try makeFolder("report")
        try #"{"seed": 3}"#.write(to: folder.appendingPathComponent("results.json"), atomically: true, encoding: .utf8)
        try "# report\n".write(to: folder.appendingPathComponent("report.md"), atomically: true, encoding: .utf8)
        try "<p>x</p>".write(to: folder.appendingPathComponent("index.html"), atomically: true, encoding: .utf8)
        _ = try assertOneLineError(["report", "--verify", folder.path], mentions: ["results.json: does not parse"])
    }

    func testJudgeNamesAFolderWithoutAJudgeSet() throws {
        let folder = try makeFolder("not-a-report")
        _ = try assertOneLineError(["judge", "--from", folder.path, "--out", "judge.html"], mentions: ["judge-set.json", "missing"])
    }

    func testJudgeRejectsAMalformedItem() throws {
        let folder = try makeFolder("report")
        let set = #"{"seed": 1, "items": [{"id": "a", "kind": "real", "intended": 3, "setting": "s", "pixels": [0, 1, 2]}]}"#
        try set.write(to: folder.appendingPathComponent("judge-set.json"), atomically: true, encoding: .utf8)
        _ = try assertOneLineError(["judge", "--from", folder.path, "--out", "judge.html"], mentions: ["items[0].pixels", "784"])
    }

    func testJudgeWritesAPageWithEveryItem() throws {
        let folder = try makeFolder("report")
        let pixels = "[" + Array(repeating: "0", count: 784).joined(separator: ",") + "]"
        let items = ["real", "plain-gan", "unrestricted", "perturbation"].enumerated().map { index, kind in
            #"{"id": "\#(kind)-\#(index)", "kind": "\#(kind)", "intended": \#(index), "setting": "s", "pixels": \#(pixels)}"#
        }
        try #"{"seed": 1, "items": [\#(items.joined(separator: ","))]}"#.write(
            to: folder.appendingPathComponent("judge-set.json"),
            atomically: true, encoding: .utf8)
        let result = try run(["judge", "--from", folder.path, "--out", "judge.html", "--seed", "5"])
        XCTAssertEqual(result.status, 0, result.standardError)
        let page = try String(contentsOf: work.appendingPathComponent("judge.html"), encoding: .utf8)
        XCTAssertEqual(page.components(separatedBy: "data:image/png;base64,").count - 1, 4)
        for kind in ["real", "plain-gan", "unrestricted", "perturbation"] { XCTAssertTrue(page.contains("\"kind\":\"\(kind)\"")) }
        XCTAssertTrue(page.contains("const pageSeed = 5;"))
    }
}
