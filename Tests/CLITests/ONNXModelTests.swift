import Foundation
import XCTest

/// `--model FILE.onnx` through the commands (issue 20): an imported classifier evaluates like the
/// checkpoint it was exported from, and a file the importer rejects is one error line naming the
/// file and the operator, with nothing written.
final class ONNXModelTests: CLITestCase {
    /// The repository root (this file is Tests/CLITests/…).
    var repository: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }
    var exportedNatural: String { repository.appendingPathComponent("Tests/AdvONNXTests/Fixtures/challenge-cnn.onnx").path }

    func testUnsupportedOperatorIsOneLineAndNothingIsWritten() throws {
        let path = repository.appendingPathComponent("Fuzz/corpus/onnx/unsupported-upsample.onnx").path
        try assertOneLineError(["eval", "--model", path], mentions: [path + ": operator Upsample (node 0) is not supported"])
        let out = root.appendingPathComponent("attack").path
        try assertOneLineError(
            ["attack", "--model", path, "--method", "fgsm", "--eps", "0.1", "--count", "10", "--out", out],
            mentions: [path, "Upsample"])
        XCTAssertFalse(FileManager.default.fileExists(atPath: out))
    }

    func testMalformedONNXFile() throws {
        let bytes = try Data(contentsOf: URL(fileURLWithPath: exportedNatural)).prefix(3000)
        let path = root.appendingPathComponent("cut.onnx").path
        try bytes.write(to: URL(fileURLWithPath: path))
        try assertOneLineError(["eval", "--model", path], mentions: [path + ": is not an ONNX model"])
    }

    /// The natural checkpoint exported to ONNX by PyTorch gives the native model's accuracy on
    /// the 10,000 test images (to the last digit: the logits agree within 1e-5).
    func testExportedNaturalModelEvaluatesLikeTheCheckpoint() throws {
        let data = try mnistDirectory()
        let native = repository.appendingPathComponent("checkpoints/classifier-natural.safetensors").path
        var accuracies: [Double] = []
        for model in [native, exportedNatural] {
            let result = try run(["eval", "--model", model, "--data", data, "--json"])
            XCTAssertEqual(result.status, 0, result.standardError)
            let summary = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(result.standardOutput.utf8)) as? [String: Any])
            accuracies.append(try XCTUnwrap(summary["accuracy"] as? Double))
        }
        XCTAssertEqual(accuracies[0], accuracies[1])
        XCTAssertGreaterThan(accuracies[1], 0.98)
    }
}
