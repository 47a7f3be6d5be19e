import Foundation
import XCTest

/// Bad checkpoints through `advlab eval --model` (and `sample --generator`): one line naming the
/// file and the field, the file itself untouched. The checkpoint is read before the data, so
/// these runs need no MNIST.
final class CheckpointErrorTests: CLITestCase {
    /// Writes `bytes` to `root/name` and returns its path.
    func writeModel(_ bytes: [UInt8], named name: String = "model.safetensors") throws -> String {
        let url = root.appendingPathComponent(name)
        try Data(bytes).write(to: url)
        return url.path
    }

    static let classifierMetadata = ["kind": "classifier", "architecture": "mnist-challenge-cnn"]

    func testNotASafetensorsFile() throws {
        let path = try writeModel(Array("This is a plain text file, not a checkpoint.\n".utf8))
        try assertOneLineError(["eval", "--model", path], mentions: [path, "header length"])
    }

    func testTruncatedFile() throws {
        let complete = SafetensorsFixture.encode(
            [.init(name: "conv1.weight", shape: [32, 1, 5, 5])],
            metadata: Self.classifierMetadata)
        let path = try writeModel(Array(complete.dropLast(100)))
        try assertOneLineError(["eval", "--model", path], mentions: [path, "conv1.weight"])
    }

    func testTooShortForTheLengthField() throws {
        let path = try writeModel([1, 2, 3])
        try assertOneLineError(["eval", "--model", path], mentions: [path, "3 bytes"])
    }

    func testHeaderLengthPastTheEndOfTheFile() throws {
        let path = try writeModel(SafetensorsFixture.lengthPrefix(4096) + Array("{}      ".utf8))
        try assertOneLineError(["eval", "--model", path], mentions: [path, "header length 4096"])
    }

    func testInvalidJSONHeader() throws {
        let header = Array("{\"kind\": not json}".utf8) + [UInt8](repeating: 0x20, count: 6)
        let path = try writeModel(SafetensorsFixture.lengthPrefix(header.count) + header)
        try assertOneLineError(["eval", "--model", path], mentions: [path, "JSON"])
    }

    func testTensorShapesThatDoNotFitTheModel() throws {
        let path = try writeModel(
            SafetensorsFixture.encode(
                [.init(name: "conv1.weight", shape: [32, 1, 3, 3])],
                metadata: Self.classifierMetadata))
        try assertOneLineError(["eval", "--model", path], mentions: [path, "conv1.weight", "[32,1,3,3]", "[32,1,5,5]"])
    }

    func testCheckpointOfAnotherKind() throws {
        let path = try writeModel(
            SafetensorsFixture.encode(
                [.init(name: "generator.project.bias", shape: [4])],
                metadata: ["kind": "acgan", "latent_size": "100"]))
        try assertOneLineError(["eval", "--model", path], mentions: [path, "acgan", "classifier"])

        let classifierPath = try writeModel(
            SafetensorsFixture.encode(
                [.init(name: "fc2.bias", shape: [10])],
                metadata: Self.classifierMetadata),
            named: "classifier.safetensors")
        try assertOneLineError(
            ["sample", "--generator", classifierPath, "--out", work.appendingPathComponent("grid.png").path],
            mentions: [classifierPath, "classifier", "acgan"])
    }

    func testMissingFile() throws {
        let path = root.appendingPathComponent("missing.safetensors").path
        try assertOneLineError(["eval", "--model", path], mentions: ["--model", path])
    }
}
