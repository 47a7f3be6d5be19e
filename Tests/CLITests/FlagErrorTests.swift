import Foundation
import XCTest

/// Bad flags: one error line naming the flag, exit status 64 (usage), nothing written. Runs in
/// an empty working directory, so defaults such as `checkpoints/…` do not exist: a flag error
/// must still be reported as itself, not as a missing default file.
final class FlagErrorTests: CLITestCase {
    var out: String { work.appendingPathComponent("x.safetensors").path }

    func assertUsageError(_ arguments: [String], mentions: [String], file: StaticString = #filePath, line: UInt = #line) throws {
        let result = try assertOneLineError(arguments, mentions: mentions, file: file, line: line)
        XCTAssertEqual(result.status, 64, "advlab \(arguments.joined(separator: " "))", file: file, line: line)
    }

    func testUnknownFlagIsNamed() throws {
        try assertUsageError(["train", "classifier", "--bogus"], mentions: ["--bogus"])
        try assertUsageError(["train", "acgan", "--epochs", "2", "--bogus", "3"], mentions: ["--bogus"])
        try assertUsageError(["eval", "--modle", "x.safetensors"], mentions: ["--modle", "--model"])
        try assertUsageError(["--bogus"], mentions: ["--bogus"])
    }

    func testEpochsZero() throws {
        try assertUsageError(["train", "classifier", "--epochs", "0", "--out", out], mentions: ["--epochs", "0"])
        try assertUsageError(["train", "acgan", "--epochs", "0", "--out", out], mentions: ["--epochs", "0"])
    }

    func testBatchZero() throws {
        try assertUsageError(["train", "classifier", "--batch", "0", "--out", out], mentions: ["--batch", "0"])
        try assertUsageError(["train", "acgan", "--batch", "0", "--out", out], mentions: ["--batch", "0"])
    }

    /// `-1` must be taken as the value of `--lr` (and rejected by its range), not as a flag.
    func testNegativeLearningRate() throws {
        try assertUsageError(["train", "classifier", "--lr", "-1", "--out", out], mentions: ["--lr", "-1"])
        try assertUsageError(["train", "acgan", "--lr", "-1", "--out", out], mentions: ["--lr", "-1"])
        try assertUsageError(["train", "classifier", "--lr", "nan", "--out", out], mentions: ["--lr"])
    }

    /// The weight average's β must lie strictly between 0 and 1 (1 would never move, 0 is no average).
    func testAverageGeneratorOutOfRange() throws {
        for value in ["1", "0", "-0.5", "nan"] {
            try assertUsageError(["train", "acgan", "--average-generator", value, "--out", out], mentions: ["--average-generator"])
        }
    }

    /// The generator's class-loss weight is a non-negative number.
    func testClassWeightOutOfRange() throws {
        for value in ["-0.1", "nan", "101"] {
            try assertUsageError(["train", "acgan", "--class-weight", value, "--out", out], mentions: ["--class-weight"])
        }
    }

    func testNonNumericValue() throws {
        try assertUsageError(["train", "classifier", "--epochs", "ten", "--out", out], mentions: ["--epochs", "ten"])
    }

    /// A missing output folder is created (`mkdir -p`), but not through a file in its way.
    func testOutputFolderMustBeCreatable() throws {
        let blocker = root.appendingPathComponent("blocker").path
        try Data([1]).write(to: URL(fileURLWithPath: blocker))
        let missing = blocker + "/dir/x.safetensors"
        try assertUsageError(
            ["train", "classifier", "--epochs", "1", "--out", missing], mentions: ["--out", missing, blocker, "not a folder"])
        try assertUsageError(["train", "acgan", "--epochs", "1", "--out", missing], mentions: ["--out", missing])
    }

    func testSampleClassOutOfRange() throws {
        try assertUsageError(
            ["sample", "--class", "11", "--out", work.appendingPathComponent("grid.png").path],
            mentions: ["--class", "11"])
    }

    func testBenchUnknownWorkload() throws {
        try assertUsageError(["bench", "--only", "nope"], mentions: ["--only", "nope", "classifier_train_step"])
    }

    func testHelpExitsZero() throws {
        for arguments in [["--help"], ["train", "acgan", "--help"], ["eval", "--help"]] {
            let before = try DirectorySnapshot(of: root)
            let result = try run(arguments)
            XCTAssertEqual(result.status, 0, "advlab \(arguments.joined(separator: " ")): \(result.standardError)")
            XCTAssertTrue(result.standardOutput.contains("USAGE: advlab"), result.standardOutput)
            XCTAssertEqual(result.standardError, "")
            XCTAssertEqual(try DirectorySnapshot(of: root), before)
        }
        XCTAssertTrue(try run(["train", "acgan", "--help"]).standardOutput.contains("--resume"))
    }
}
