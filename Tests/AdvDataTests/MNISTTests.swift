import AdvData
import TestSupport
import XCTest

final class MNISTTests: XCTestCase {
    func testSmallSplitLoadsFromGzipAndPlainFiles() throws {
        for compressed in [true, false] {
            let directory = try Fixtures.temporaryDirectory(for: self)
            try Fixtures.writeSplit(.test, count: 12, in: directory, compressed: compressed)
            let dataset = try MNIST.load(split: .test, directory: directory, verifyHashes: false)
            XCTAssertEqual(dataset.images.shape, [12, 1, 28, 28])
            XCTAssertEqual(dataset.labels, (0..<12).map { $0 % 10 })
            XCTAssertEqual(dataset.name, "mnist")
            XCTAssertEqual(dataset.split, .test)
            XCTAssertEqual(dataset.images[3, 0, 0, 5], Float(UInt8(truncatingIfNeeded: (3 * 784 + 5) * 7)) / 255)
            XCTAssertEqual(dataset.classCounts(), [2, 2, 1, 1, 1, 1, 1, 1, 1, 1])
            XCTAssertEqual(dataset.datasetHash.count, 64)
        }
    }

    func testHashMismatchNamesFileExpectedAndActual() throws {
        let directory = try Fixtures.temporaryDirectory(for: self)
        try Fixtures.writeSplit(.train, count: 3, in: directory)
        let actual = try SHA256.hexDigest(Fixtures.imagesFile(count: 3))
        assertDataError(
            try MNIST.load(split: .train, directory: directory),
            mentions: ["train-images-idx3-ubyte.gz", MNIST.expectedSHA256["train-images-idx3-ubyte"] ?? "?", actual])
    }

    func testVerifyReportsMismatchesWithoutThrowing() throws {
        let directory = try Fixtures.temporaryDirectory(for: self)
        try Fixtures.writeSplit(.train, count: 20, in: directory)
        try Fixtures.writeSplit(.test, count: 10, in: directory, compressed: false)
        let report = try MNIST.verify(directory: directory)
        XCTAssertFalse(report.allOK)
        XCTAssertEqual(
            report.files.map(\.name),
            [
                "train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
                "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte",
            ])
        XCTAssertEqual(report.files.map(\.ok), [false, false, false, false])
        XCTAssertEqual(report.splits.map(\.imageCount), [20, 10])
        XCTAssertEqual(report.splits[0].classCounts, [Int](repeating: 2, count: 10))
        XCTAssertTrue(report.description.contains("MISMATCH train-images-idx3-ubyte.gz"), report.description)
    }

    func testMissingFileAndDirectoryAreNamed() throws {
        let directory = try Fixtures.temporaryDirectory(for: self)
        assertDataError(
            try MNIST.load(split: .train, directory: directory),
            mentions: [directory, "train-images-idx3-ubyte.gz or train-images-idx3-ubyte"])
        assertDataError(
            try MNIST.load(split: .train, directory: directory + "/nowhere"),
            mentions: [directory + "/nowhere", "no such directory"])
    }

    func testMismatchedCountsAndImageSizeAreRejected() throws {
        let directory = try Fixtures.temporaryDirectory(for: self)
        try Fixtures.write(Fixtures.imagesFile(count: 3), named: "t10k-images-idx3-ubyte", in: directory)
        try Fixtures.write(Fixtures.labelsFile([1, 2]), named: "t10k-labels-idx1-ubyte", in: directory)
        assertDataError(
            try MNIST.load(split: .test, directory: directory, verifyHashes: false),
            mentions: ["t10k-images-idx3-ubyte", "3 images", "t10k-labels-idx1-ubyte", "2 labels"])

        try Fixtures.write(Fixtures.imagesFile(count: 2, rows: 32, columns: 32), named: "t10k-images-idx3-ubyte", in: directory)
        assertDataError(
            try MNIST.load(split: .test, directory: directory, verifyHashes: false),
            mentions: ["t10k-images-idx3-ubyte", "32×32", "expected 28×28"])
    }

    func testBadFilesInsideTheDataDirectoryAreNamed() throws {
        let directory = try Fixtures.temporaryDirectory(for: self)
        try Fixtures.writeSplit(.test, count: 4, in: directory)
        let labelsPath = directory + "/t10k-labels-idx1-ubyte.gz"

        try Fixtures.write(Fixtures.gzip(Fixtures.labelsFile([1, 2, 12, 3])), named: "t10k-labels-idx1-ubyte.gz", in: directory)
        assertDataError(
            try MNIST.load(split: .test, directory: directory, verifyHashes: false),
            mentions: [labelsPath, "label 12 at index 2"])

        let cut = Array(try Fixtures.gzip(Fixtures.labelsFile([1, 2, 3, 4])).dropLast(9))
        try Fixtures.write(cut, named: "t10k-labels-idx1-ubyte.gz", in: directory)
        assertDataError(
            try MNIST.load(split: .test, directory: directory, verifyHashes: false),
            mentions: [labelsPath, "gzip stream ends early"])

        try Fixtures.write(Fixtures.gzip(Fixtures.labelsFile([1, 2, 3, 4]) + [7]), named: "t10k-labels-idx1-ubyte.gz", in: directory)
        assertDataError(
            try MNIST.load(split: .test, directory: directory, verifyHashes: false),
            mentions: [labelsPath, "trailing"])
    }

    func testLocatorPrefersFlagThenEnvironment() throws {
        let flagDirectory = try Fixtures.temporaryDirectory(for: self)
        let environmentDirectory = try Fixtures.temporaryDirectory(for: self)
        let environment = ["ADVLAB_DATA": environmentDirectory]
        XCTAssertEqual(try DatasetCatalog.mnist.directory(dataFlag: flagDirectory, environment: environment), flagDirectory)
        XCTAssertEqual(try DatasetCatalog.mnist.directory(dataFlag: nil, environment: environment), environmentDirectory)
        XCTAssertEqual(try DatasetCatalog.mnist.directory(dataFlag: "", environment: environment), environmentDirectory)
        XCTAssertThrowsError(try DatasetCatalog.mnist.directory(dataFlag: nil, environment: ["ADVLAB_DATA": ""])) { error in
            XCTAssertEqual(
                (error as? DataError)?.description,
                "no MNIST data: pass --data DIR or set ADVLAB_DATA (Scripts/setup fetches it)")
        }
        assertDataError(
            try DatasetCatalog.mnist.directory(dataFlag: "/no/such/dir", environment: environment),
            mentions: ["--data /no/such/dir: no such directory"])
        assertDataError(
            try DatasetCatalog.mnist.directory(dataFlag: nil, environment: ["ADVLAB_DATA": "/no/such/dir"]),
            mentions: ["ADVLAB_DATA=/no/such/dir: no such directory"])
    }
}
