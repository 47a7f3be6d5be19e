import AdvNN
import Foundation
import XCTest

/// The rest of issue 8's bad-input list, beside CheckpointErrorTests, DataErrorTests and
/// FlagErrorTests: malformed safetensors structures, IDX files of the wrong shape, checkpoints of
/// the wrong kind for `--resume`, flags out of range, and output folders that cannot be written.
/// Each: one line naming the file, field or flag, a non-zero exit, nothing written or changed.
final class BadInputTests: CLITestCase {
    /// Writes `bytes` to `root/name` and returns its path.
    func write(_ bytes: [UInt8], named name: String = "model.safetensors") throws -> String {
        let url = root.appendingPathComponent(name)
        try Data(bytes).write(to: url)
        return url.path
    }

    static let classifierMetadata = #""__metadata__":{"kind":"classifier","architecture":"mnist-challenge-cnn"}"#

    // MARK: Safetensors structure (through `advlab eval --model`, which reads the header first)

    func testHeaderLengthBeyondTheSaneBound() throws {
        // 200 MB of header in a 16-byte file: refused by the bound before the file size is consulted.
        let path = try write(SafetensorsFixture.lengthPrefix(200_000_000) + Array("{}      ".utf8))
        try assertOneLineError(["eval", "--model", path], mentions: [path, "header length 200000000", "limit"])
    }

    func testUnknownDType() throws {
        let path = try write(
            SafetensorsFixture.raw(
                json: "{\(Self.classifierMetadata),\"fc2.bias\":{\"dtype\":\"F7\",\"shape\":[10],\"data_offsets\":[0,40]}}",
                data: [UInt8](repeating: 0, count: 40)))
        try assertOneLineError(["eval", "--model", path], mentions: [path, "fc2.bias", "dtype", "F7"])
    }

    func testOverlappingOffsets() throws {
        let path = try write(
            SafetensorsFixture.raw(
                json: "{\(Self.classifierMetadata),\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]},"
                    + "\"b\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[8,24]}}",
                data: [UInt8](repeating: 0, count: 24)))
        try assertOneLineError(["eval", "--model", path], mentions: [path, "tensor b", "[8, 24]", "overlap", "tensor a"])
    }

    func testOffsetsPastTheEndOfTheData() throws {
        let path = try write(
            SafetensorsFixture.raw(
                json: "{\(Self.classifierMetadata),\"fc2.bias\":{\"dtype\":\"F32\",\"shape\":[10],\"data_offsets\":[0,40]}}",
                data: [UInt8](repeating: 0, count: 12)))
        try assertOneLineError(["eval", "--model", path], mentions: [path, "fc2.bias", "[0, 40]", "past the data section"])
    }

    func testShapeThatDoesNotMatchItsByteCount() throws {
        let path = try write(
            SafetensorsFixture.raw(
                json: "{\(Self.classifierMetadata),\"fc2.bias\":{\"dtype\":\"F32\",\"shape\":[10],\"data_offsets\":[0,36]}}",
                data: [UInt8](repeating: 0, count: 36)))
        try assertOneLineError(["eval", "--model", path], mentions: [path, "fc2.bias", "36 bytes", "[10]", "needs 40"])
    }

    func testMissingTensor() throws {
        // A well-formed classifier checkpoint holding only the last layer's bias.
        let path = try write(
            SafetensorsFixture.encode(
                [.init(name: "fc2.bias", shape: [10])],
                metadata: ["kind": "classifier", "architecture": "mnist-challenge-cnn"]))
        try assertOneLineError(["eval", "--model", path], mentions: [path, "missing tensor conv1.weight"])
    }

    func testSampleNamesAMalformedGenerator() throws {
        let path = try write(
            SafetensorsFixture.raw(
                json:
                    "{\"__metadata__\":{\"kind\":\"acgan\"},\"generator.project.bias\":{\"dtype\":\"F32\",\"shape\":[-4],\"data_offsets\":[0,16]}}",
                data: [UInt8](repeating: 0, count: 16)), named: "gan.safetensors")
        try assertOneLineError(
            ["sample", "--generator", path, "--out", work.appendingPathComponent("grid.png").path],
            mentions: [path, "generator.project.bias", "negative dimension -4"])
    }

    // MARK: IDX files of the wrong shape (through `advlab data verify`, which parses every file)

    func dataFolder(replacing name: String, with payload: [UInt8]) throws -> (folder: URL, file: String) {
        let folder = try makeFolder("data")
        try FakeMNIST.writeValid(to: folder)
        try FakeMNIST.write(payload, named: name, in: folder)
        return (folder, folder.appendingPathComponent(name).path)
    }

    func testLabelsFileGivenAsImages() throws {
        // An IDX file of one dimension (labels) where three (images) belong.
        let (data, file) = try dataFolder(replacing: "train-images-idx3-ubyte.gz", with: FakeMNIST.labelsIDX([1, 2, 3]))
        try assertOneLineError(["data", "verify", "--data", data.path], mentions: [file, "1 dimension instead of 3"])
    }

    func testImagesThatAreNot28By28() throws {
        let (data, file) = try dataFolder(replacing: "t10k-images-idx3-ubyte.gz", with: FakeMNIST.imagesIDX(count: 3, rows: 4, columns: 5))
        try assertOneLineError(["data", "verify", "--data", data.path], mentions: [file, "4×5", "28×28"])
    }

    func testImageAndLabelCountsDisagree() throws {
        let (data, file) = try dataFolder(replacing: "train-labels-idx1-ubyte.gz", with: FakeMNIST.labelsIDX([1, 2]))
        try assertOneLineError(
            ["data", "verify", "--data", data.path], mentions: ["train-images-idx3-ubyte.gz", "3 images", file, "2 labels"])
    }

    // MARK: Flags out of range

    func testTrainingFlagRanges() throws {
        let out = work.appendingPathComponent("x.safetensors").path
        func train(_ kind: String, _ extra: [String]) -> [String] { ["train", kind, "--out", out] + extra }
        try assertOneLineError(train("classifier", ["--batch", "32", "--limit", "16"]), mentions: ["--limit", "16"])
        try assertOneLineError(train("classifier", ["--limit", "70000"]), mentions: ["--limit", "70000"])
        try assertOneLineError(train("classifier", ["--adversarial", "cw"]), mentions: ["--adversarial", "cw"])
        try assertOneLineError(train("classifier", ["--adversarial", "pgd", "--eps", "2"]), mentions: ["--eps", "2"])
        try assertOneLineError(train("classifier", ["--attack-steps", "0"]), mentions: ["--attack-steps", "0"])
        try assertOneLineError(train("classifier", ["--epochs", "2", "--eps-warmup", "3"]), mentions: ["--eps-warmup", "3"])
        try assertOneLineError(train("acgan", ["--latent", "0"]), mentions: ["--latent", "0"])
        try assertOneLineError(train("acgan", ["--batch", "1"]), mentions: ["--batch", "1"])
        try assertOneLineError(train("acgan", ["--limit", "10"]), mentions: ["--limit", "10"])
        try assertOneLineError(train("triplet", ["--dim", "1"]), mentions: ["--dim", "1"])
        try assertOneLineError(train("triplet", ["--margin", "0"]), mentions: ["--margin", "0"])
        try assertOneLineError(train("triplet", ["--per-class", "1"]), mentions: ["--per-class", "1"])
        try assertOneLineError(train("triplet", ["--per-class", "8", "--limit", "79"]), mentions: ["--limit", "79", "80"])
        let generator = try write([], named: "gan.safetensors")  // validation does not open it
        try assertOneLineError(
            ["sample", "--generator", generator, "--per-class", "0", "--out", work.appendingPathComponent("g.png").path],
            mentions: ["--per-class", "0"])
    }

    // MARK: Output folders

    /// A folder in which no file can be created, or nil: a read-only folder for a normal user;
    /// for root, which may write anywhere `chmod` forbids, sysfs (creating a file there fails).
    func unwritableFolder() throws -> String? {
        if getuid() != 0 {
            let folder = try makeFolder("read-only")
            try FileManager.default.setAttributes([.posixPermissions: 0o555], ofItemAtPath: folder.path)
            addTeardownBlock { try? FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: folder.path) }
            return folder.path
        }
        let probe = "/sys/.advlab-probe-\(getpid())"
        let descriptor = open(probe, O_WRONLY | O_CREAT | O_EXCL, 0o600)
        guard descriptor < 0 else {
            close(descriptor)
            unlink(probe)
            return nil
        }
        return "/sys"
    }

    /// Commands that write a file or a folder refuse, before any work, an output in a folder where
    /// no file can be created (the check tries it: `access(2)` says yes to root everywhere).
    func testOutputFolderThatIsNotWritable() throws {
        guard let folder = try unwritableFolder() else { throw XCTSkip("no folder here refuses new files") }
        let file = folder + "/x.safetensors"
        for command in [["train", "classifier"], ["train", "acgan"], ["train", "triplet"]] {
            try assertOneLineError(command + ["--epochs", "1", "--out", file], mentions: ["--out", file, "not writable"])
        }
        // Input files only need to exist: validation does not open them.
        let model = try write([], named: "any.safetensors")
        try assertOneLineError(["sample", "--generator", model, "--out", folder + "/grid.png"], mentions: ["--out", "not writable"])
        try assertOneLineError(["attack", "--model", model, "--out", folder + "/attack"], mentions: ["--out", "not writable"])
        try assertOneLineError(
            [
                "report", "--quick", "--natural", model, "--robust", model, "--generator", model, "--embedding", model,
                "--out", folder,
            ], mentions: ["--out", folder, "not writable"])
    }

    /// An output path under a missing folder is refused when a file stands in its way or when the
    /// nearest existing folder refuses new files (sysfs, procfs), and nothing is created.
    func testOutputPathThatCannotBeCreated() throws {
        let model = try write([], named: "any.safetensors")
        let blocker = try write([1, 2, 3], named: "blocker")
        try assertOneLineError(
            ["sample", "--generator", model, "--out", blocker + "/a/grid.png"],
            mentions: ["--out", blocker + "/a/grid.png", blocker, "exists and is not a folder"])
        try assertOneLineError(
            ["attack", "--model", model, "--out", blocker + "/a/b"],
            mentions: ["--out", blocker + "/a/b", "exists and is not a folder"])
        try assertOneLineError(["attack", "--model", model, "--out", blocker], mentions: ["--out", blocker, "exists and is not a folder"])
        try assertOneLineError(
            ["sample", "--generator", model, "--out", root.path], mentions: ["--out", root.path, "is a folder, not a file"])
        for pseudo in ["/proc", "/sys"] {
            let probe = pseudo + "/.advlab-probe-\(getpid())"
            let descriptor = open(probe, O_WRONLY | O_CREAT | O_EXCL, 0o600)
            guard descriptor < 0 else {
                close(descriptor)
                unlink(probe)
                continue
            }
            let path = pseudo + "/advlab-\(getpid())/a/b"
            try assertOneLineError(
                ["attack", "--model", model, "--out", path], mentions: ["--out", path, "folder \(pseudo) is not writable"])
            try assertOneLineError(
                ["train", "classifier", "--epochs", "1", "--out", path + "/x.safetensors"],
                mentions: ["--out", path, "not writable"])
            XCTAssertFalse(FileManager.default.fileExists(atPath: pseudo + "/advlab-\(getpid())"))
        }
    }

    /// Outputs under folders two levels deep that do not exist yet are written, their folders
    /// created as `mkdir -p` would: a file output (`sample --out a/b/grid.png`, relative to the
    /// working directory) and a folder output (`craft combination --out c/d/e`).
    func testMissingOutputFoldersAreCreated() throws {
        let sample = try run([
            "sample", "--generator", checkpoints.appendingPathComponent("acgan.safetensors").path,
            "--out", "a/b/grid.png",
        ])
        XCTAssertEqual(sample.status, 0, sample.standardError)
        XCTAssertTrue(FileManager.default.fileExists(atPath: work.appendingPathComponent("a/b/grid.png").path))

        let data = try mnistDirectory()
        let folder = root.appendingPathComponent("c/d/e")
        let craft = try run([
            "craft", "combination", "--source-class", "0", "--with-class", "1", "--count", "2", "--data", data,
            "--model", checkpoints.appendingPathComponent("classifier-natural.safetensors").path,
            "--out", folder.path,
        ])
        XCTAssertEqual(craft.status, 0, craft.standardError)
        for name in ["combination.png", "combination.json"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: folder.appendingPathComponent(name).path), name)
        }
    }

    // MARK: Checkpoints of the wrong kind or settings for --resume (these load real MNIST first)

    func testResumeRefusesACheckpointOfAnotherKind() throws {
        let data = try mnistDirectory()
        let path = try write(
            SafetensorsFixture.encode(
                [.init(name: "fc2.bias", shape: [10])],
                metadata: ["kind": "acgan", "latent_size": "100"]), named: "run.safetensors")
        try assertOneLineError(
            ["train", "classifier", "--resume", "--data", data, "--out", path], mentions: [path, "acgan", "classifier"])
        try assertOneLineError(["train", "triplet", "--resume", "--data", data, "--out", path], mentions: [path, "acgan", "triplet"])
    }

    func testResumeRefusesAnotherLimit() throws {
        let data = try mnistDirectory()
        let path = root.appendingPathComponent("run.safetensors").path
        let first = try run(
            ["train", "classifier", "--limit", "32", "--batch", "16", "--epochs", "1", "--data", data, "--out", path],
            environment: ["ADVLAB_THREADS": "1", "OMP_NUM_THREADS": "1"])
        XCTAssertEqual(first.status, 0, first.standardError)
        // The checkpoint's command line names no folder of this machine, only the file names.
        let createdBy = try XCTUnwrap(try Checkpoint.readMetadata(path: path)[Checkpoint.MetadataKey.createdBy])
        XCTAssertFalse(createdBy.contains(root.path) || createdBy.contains(data), createdBy)
        XCTAssertTrue(createdBy.hasSuffix("--data \(URL(fileURLWithPath: data).lastPathComponent) --out run.safetensors"), createdBy)
        try assertOneLineError(
            ["train", "classifier", "--limit", "48", "--batch", "16", "--epochs", "2", "--resume", "--data", data, "--out", path],
            mentions: ["--resume", path, "--limit 32", "not 48"])
    }

    func testTripletResumeRefusesAnotherMargin() throws {
        let data = try mnistDirectory()
        let path = root.appendingPathComponent("triplet.safetensors").path
        let first = try run(
            ["train", "triplet", "--limit", "40", "--per-class", "2", "--dim", "4", "--epochs", "1", "--data", data, "--out", path],
            environment: ["ADVLAB_THREADS": "1", "OMP_NUM_THREADS": "1"])
        XCTAssertEqual(first.status, 0, first.standardError)
        try assertOneLineError(
            [
                "train", "triplet", "--limit", "40", "--per-class", "2", "--dim", "4", "--margin", "0.5", "--epochs", "2",
                "--resume", "--data", data, "--out", path,
            ],
            mentions: ["--resume", path, "--margin 0.2", "not 0.5"])
    }
}
