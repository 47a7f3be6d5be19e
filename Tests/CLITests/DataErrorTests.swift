import Foundation
import XCTest

/// Damaged MNIST folders through `advlab data verify` (which parses every file without the
/// digest gate, so it names the structural problem) and `advlab train classifier` (which checks
/// the published SHA-256 before parsing): each must stop with one line naming the file, before
/// any checkpoint or log is written.
final class DataErrorTests: CLITestCase {
    static let trainImages = "train-images-idx3-ubyte.gz"
    static let trainLabels = "train-labels-idx1-ubyte.gz"

    /// A folder of valid fake MNIST files whose train images file is then replaced by `bytes`
    /// (written as they are, already gzip-compressed or not).
    func dataFolder(trainImagesFile bytes: [UInt8]) throws -> URL {
        let folder = try makeFolder("data")
        try FakeMNIST.writeValid(to: folder)
        try Data(bytes).write(to: folder.appendingPathComponent(Self.trainImages))
        return folder
    }

    func trainArguments(_ data: URL) -> [String] {
        ["train", "classifier", "--epochs", "1", "--data", data.path, "--out", work.appendingPathComponent("x.safetensors").path]
    }

    func imagesPath(_ data: URL) -> String { data.appendingPathComponent(Self.trainImages).path }

    func testWrongMagicNamesTheFile() throws {
        let data = try dataFolder(trainImagesFile: GzipStored.compress(FakeMNIST.imagesIDX(count: 3, magic: 0x1234_5678)))
        try assertOneLineError(["data", "verify", "--data", data.path], mentions: [imagesPath(data), "magic", "2051"])
        try assertOneLineError(trainArguments(data), mentions: [imagesPath(data), "SHA-256"])
    }

    func testTruncatedImagesNameTheFile() throws {
        let data = try dataFolder(trainImagesFile: GzipStored.compress(Array(FakeMNIST.imagesIDX(count: 3).dropLast(100))))
        try assertOneLineError(["data", "verify", "--data", data.path], mentions: [imagesPath(data), "truncated"])
        try assertOneLineError(trainArguments(data), mentions: [imagesPath(data), "SHA-256"])
    }

    func testTrailingGarbageNamesTheFile() throws {
        let data = try dataFolder(trainImagesFile: GzipStored.compress(FakeMNIST.imagesIDX(count: 3) + [1, 2, 3]))
        try assertOneLineError(["data", "verify", "--data", data.path], mentions: [imagesPath(data), "3 unexpected trailing bytes"])
        try assertOneLineError(trainArguments(data), mentions: [imagesPath(data), "SHA-256"])
    }

    func testGzipStreamCutShortNamesTheFile() throws {
        let complete = GzipStored.compress(FakeMNIST.imagesIDX(count: 3))
        let data = try dataFolder(trainImagesFile: Array(complete.prefix(complete.count / 2)))
        try assertOneLineError(["data", "verify", "--data", data.path], mentions: [imagesPath(data), "gzip"])
        try assertOneLineError(trainArguments(data), mentions: [imagesPath(data), "gzip"])
    }

    func testMissingFileNamesTheFolderAndFile() throws {
        let data = try makeFolder("data")
        try FakeMNIST.writeValid(to: data)
        try FileManager.default.removeItem(at: data.appendingPathComponent(Self.trainLabels))
        try assertOneLineError(["data", "verify", "--data", data.path], mentions: [data.path, "train-labels-idx1-ubyte"])
        try assertOneLineError(trainArguments(data), mentions: [data.path, "train-labels-idx1-ubyte"])
    }

    func testLabelOutOfRangeNamesTheFileAndIndex() throws {
        let data = try makeFolder("data")
        try FakeMNIST.writeValid(to: data)
        try FakeMNIST.write(FakeMNIST.labelsIDX([1, 12, 3]), named: Self.trainLabels, in: data)
        let labels = data.appendingPathComponent(Self.trainLabels).path
        try assertOneLineError(["data", "verify", "--data", data.path], mentions: [labels, "label 12 at index 1"])
    }

    func testMissingDataFolderNamesTheFlagAndVariable() throws {
        let missing = root.appendingPathComponent("no-such-folder").path
        try assertOneLineError(["data", "verify", "--data", missing], mentions: ["--data " + missing])
        try assertOneLineError(["data", "verify"], mentions: ["ADVLAB_DATA=" + missing], environment: ["ADVLAB_DATA": missing])
        try assertOneLineError(["data", "verify"], mentions: ["--data", "ADVLAB_DATA"])
    }

    /// Structurally valid files whose content is not the published MNIST: `train` refuses them
    /// naming the file and both digests; `data verify` reports every file as a mismatch (a
    /// report, not an error) and exits 2.
    func testDigestMismatchOfValidFiles() throws {
        let data = try makeFolder("data")
        try FakeMNIST.writeValid(to: data)
        try assertOneLineError(
            trainArguments(data),
            mentions: [imagesPath(data), "SHA-256", "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db"])

        let before = try DirectorySnapshot(of: root)
        let verify = try run(["data", "verify", "--data", data.path])
        XCTAssertEqual(verify.status, 2, verify.standardError)
        XCTAssertEqual(verify.standardError, "")
        for name in ["train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"] {
            XCTAssertTrue(verify.standardOutput.contains("MISMATCH \(name)"), verify.standardOutput)
        }
        XCTAssertEqual(try DirectorySnapshot(of: root), before)
    }

    /// The real MNIST with one label changed in the train labels file (still a valid IDX file,
    /// still a valid gzip stream): only that file is reported, and training refuses it.
    func testOneChangedLabelInRealMNIST() throws {
        let real = try mnistDirectory()
        let data = try makeFolder("data")
        for name in ["train-images-idx3-ubyte.gz", "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"] {
            try FileManager.default.createSymbolicLink(
                atPath: data.appendingPathComponent(name).path,
                withDestinationPath: real + "/" + name)
        }
        var labels = try gunzip(URL(fileURLWithPath: real + "/" + Self.trainLabels))
        XCTAssertEqual(labels.count, 8 + 60_000)
        labels[8] = (labels[8] + 1) % 10
        try FakeMNIST.write(labels, named: Self.trainLabels, in: data)
        let labelsPath = data.appendingPathComponent(Self.trainLabels).path

        try assertOneLineError(
            trainArguments(data),
            mentions: [labelsPath, "SHA-256", "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5"])
        let verify = try run(["data", "verify", "--data", data.path])
        XCTAssertEqual(verify.status, 2, verify.standardError)
        let reportLines = verify.standardOutput.split(separator: "\n").map(String.init)
        XCTAssertEqual(reportLines.filter { $0.contains("MISMATCH") }.count, 1, verify.standardOutput)
        XCTAssertTrue(reportLines.contains { $0.contains("MISMATCH \(Self.trainLabels)") }, verify.standardOutput)
        XCTAssertEqual(reportLines.filter { $0.hasPrefix("  ok ") }.count, 3, verify.standardOutput)
    }

    /// The system's `gzip -dc`, to get at a real file's payload (the test target has no zlib).
    func gunzip(_ file: URL) throws -> [UInt8] {
        guard let gzip = ["/bin/gzip", "/usr/bin/gzip"].first(where: FileManager.default.isExecutableFile(atPath:)) else {
            throw XCTSkip("no gzip executable to unpack \(file.path)")
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: gzip)
        process.arguments = ["-dc", file.path]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let bytes = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0, "gzip -dc \(file.path)")
        return [UInt8](bytes)
    }
}
