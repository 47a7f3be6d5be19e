import AdvData
import XCTest

/// Checks against the real files; skipped unless `ADVLAB_DATA` (MNIST) or Debian's
/// `dataset-fashion-mnist` is present. `Scripts/test` sets `ADVLAB_DATA`.
final class RealDataTests: XCTestCase {
    func mnistDirectory() throws -> String {
        guard let directory = ProcessInfo.processInfo.environment["ADVLAB_DATA"], !directory.isEmpty else {
            throw XCTSkip("ADVLAB_DATA is not set (Scripts/setup fetches MNIST)")
        }
        return directory
    }

    func testRealMNISTVerifiesWithPublishedCounts() throws {
        let report = try MNIST.verify(directory: try mnistDirectory())
        XCTAssertTrue(report.allOK, report.description)
        XCTAssertEqual(report.files.count, 4)
        XCTAssertEqual(report.splits.map(\.imageCount), [60_000, 10_000])
        XCTAssertEqual(report.splits.map(\.labelCount), [60_000, 10_000])
        XCTAssertEqual(report.splits[0].classCounts, [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949])
        XCTAssertEqual(report.splits[1].classCounts, [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009])
        for split in report.splits { XCTAssertEqual(split.classCounts.reduce(0, +), split.labelCount) }
    }

    func testRealMNISTLoadsInUnitRange() throws {
        let test = try MNIST.load(split: .test, directory: try mnistDirectory())
        XCTAssertEqual(test.images.shape, [10_000, 1, 28, 28])
        XCTAssertEqual(test.count, MNIST.expectedCount(.test))
        XCTAssertEqual(test.images.scalars.min(), 0)
        XCTAssertEqual(test.images.scalars.max(), 1)
        XCTAssertEqual(Array(test.labels.prefix(10)), [7, 2, 1, 0, 4, 1, 4, 9, 5, 9])
        XCTAssertEqual(
            test.datasetHash,
            try SHA256.hexDigest(
                (MNIST.expectedSHA256["t10k-images-idx3-ubyte"] ?? "") + (MNIST.expectedSHA256["t10k-labels-idx1-ubyte"] ?? "")))
    }

    func testFashionMNISTFromDebianPackage() throws {
        let directory = ProcessInfo.processInfo.environment["ADVLAB_FASHION_DATA"] ?? FashionMNIST.defaultDirectory
        guard FileManager.default.fileExists(atPath: directory) else {
            throw XCTSkip("\(directory) absent (Debian package dataset-fashion-mnist)")
        }
        let report = try FashionMNIST.verify(directory: directory)
        XCTAssertEqual(report.splits.map(\.imageCount), [60_000, 10_000])
        XCTAssertEqual(report.splits[0].classCounts, [Int](repeating: 6000, count: 10))
        XCTAssertEqual(report.splits[1].classCounts, [Int](repeating: 1000, count: 10))
    }
}
