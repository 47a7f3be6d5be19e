import AdvData
import TestSupport
import XCTest

final class IDXTests: XCTestCase {
    func testValidImagesDecodeToUnitRangeInOrder() throws {
        let pixels: [UInt8] = [0, 255, 51, 102, 1, 2]  // 2 images of 1 × 3
        let images = try IDX.parseImages(Fixtures.imagesFile(count: 2, rows: 1, columns: 3, pixels: pixels), file: "x")
        XCTAssertEqual([images.count, images.rows, images.columns], [2, 1, 3])
        XCTAssertEqual(images.images01.shape, [2, 1, 1, 3])
        assertClose(images.images01.scalars, pixels.map { Float($0) / 255 }, rtol: 0, atol: 0)
    }

    func testValidLabelsParse() throws {
        XCTAssertEqual(try IDX.parseLabels(Fixtures.labelsFile([3, 0, 9, 9]), file: "x"), [3, 0, 9, 9])
        XCTAssertEqual(try IDX.parseLabels(Fixtures.labelsFile([]), file: "x"), [])
    }

    func testWrongMagicNamesFileAndBothNumbers() {
        let bytes = Fixtures.imagesFile(count: 1, magic: 0x1234_5678)
        assertDataError(
            try IDX.parseImages(bytes, file: "t10k-images-idx3-ubyte.gz"),
            mentions: ["t10k-images-idx3-ubyte.gz", "wrong magic number 305419896", "expected 2051"])
        assertDataError(
            try IDX.parseLabels(Fixtures.imagesFile(count: 0), file: "train-labels-idx1-ubyte"),
            mentions: ["train-labels-idx1-ubyte", "2051", "expected 2049"])
    }

    func testLabelsGivenAsImagesReportsMagicAndDimensions() {
        assertDataError(
            try IDX.parseImages(Fixtures.labelsFile([1, 2]), file: "t10k-images-idx3-ubyte.gz"),
            mentions: [
                "t10k-images-idx3-ubyte.gz: wrong magic number 2049, expected 2051 (IDX images)",
                "1 dimension instead of 3",
            ])
    }

    func testWrongDimensionCount() {
        // Magic 0x00000802: unsigned bytes with 2 dimensions.
        var bytes = Fixtures.imagesFile(count: 1)
        bytes[3] = 2
        assertDataError(try IDX.parseImages(bytes, file: "images.idx"), mentions: ["images.idx", "2 dimensions instead of 3"])
    }

    func testTruncatedDataIsRejected() {
        let bytes = Fixtures.imagesFile(count: 2, rows: 2, columns: 2)
        assertDataError(
            try IDX.parseImages(Array(bytes.dropLast()), file: "images.idx"),
            mentions: ["images.idx", "truncated", "23 bytes, expected 24"])
        assertDataError(
            try IDX.parseImages(Array(bytes.prefix(10)), file: "images.idx"),
            mentions: ["images.idx", "truncated", "10 bytes, expected 16"])
        assertDataError(try IDX.parseLabels([0, 0, 8], file: "labels.idx"), mentions: ["labels.idx", "truncated"])
        assertDataError(
            try IDX.parseLabels(Array(Fixtures.labelsFile([1, 2, 3]).dropLast()), file: "labels.idx"),
            mentions: ["labels.idx", "truncated", "10 bytes, expected 11"])
    }

    func testTrailingGarbageIsRejected() {
        let images = Fixtures.imagesFile(count: 2, rows: 2, columns: 2) + [0xAB]
        assertDataError(try IDX.parseImages(images, file: "images.idx"), mentions: ["images.idx", "1 unexpected trailing bytes"])
        let labels = Fixtures.labelsFile([1, 2]) + [0, 0]
        assertDataError(try IDX.parseLabels(labels, file: "labels.idx"), mentions: ["labels.idx", "2 unexpected trailing bytes"])
    }

    func testHugeHeaderCountsDoNotOverflow() {
        let bytes = Fixtures.bigEndian(2051) + Fixtures.bigEndian(.max) + Fixtures.bigEndian(.max) + Fixtures.bigEndian(.max)
        assertDataError(try IDX.parseImages(bytes, file: "images.idx"), mentions: ["images.idx", "truncated"])
    }

    func testLabelOutOfRangeIsRejected() {
        assertDataError(
            try IDX.parseLabels(Fixtures.labelsFile([0, 9, 10, 3]), file: "train-labels-idx1-ubyte.gz"),
            mentions: ["train-labels-idx1-ubyte.gz", "label 10 at index 2", "0...9"])
        XCTAssertEqual(try IDX.parseLabels(Fixtures.labelsFile([0, 2]), file: "x", classCount: 3), [0, 2])
        assertDataError(try IDX.parseLabels(Fixtures.labelsFile([0, 3]), file: "x", classCount: 3), mentions: ["label 3"])
    }
}
