import AdvTensor
import XCTest

@testable import AdvImaging

final class PNGTests: XCTestCase {
    private var folder = ""

    override func setUpWithError() throws { folder = try makeTemporaryFolder() }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: folder) }

    private func pseudoRandomBytes(_ count: Int, seed: UInt64) -> [UInt8] {
        var generator = SeededGenerator(seed: seed)
        return (0..<count).map { _ in UInt8.random(in: 0...255, using: &generator) }
    }

    func testGrayRoundTripIsExact() throws {
        let bitmap = Bitmap(width: 13, height: 7, channels: 1, pixels: pseudoRandomBytes(13 * 7, seed: 1))
        let path = folder + "/gray.png"
        try bitmap.writePNG(to: path)
        let back = try Bitmap(pngAt: path)
        XCTAssertEqual(back, bitmap)
    }

    func testRGBRoundTripIsExact() throws {
        let bitmap = Bitmap(width: 9, height: 11, channels: 3, pixels: pseudoRandomBytes(9 * 11 * 3, seed: 2))
        let path = folder + "/rgb.png"
        try PNG.write(bitmap, to: path)
        let back = try PNG.read(from: path)
        XCTAssertEqual(back.channels, 3)
        XCTAssertEqual(back, bitmap)
    }

    func testWrittenFileStartsWithSignatureAndLeavesNoTemporaryFiles() throws {
        let path = folder + "/signature.png"
        try PNG.write(Bitmap(width: 3, height: 2, channels: 1, color: .white), to: path)
        let bytes = try XCTUnwrap(FileManager.default.contents(atPath: path))
        XCTAssertEqual(Array(bytes.prefix(8)), PNG.signature)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: folder), ["signature.png"])
    }

    func testPaletteBecomesRGB() throws {
        let bytes = PNGFixtures.make(
            width: 2, height: 2, bitDepth: 8, colorType: 3, rows: [[0, 1], [1, 0]],
            extraChunks: [("PLTE", [255, 0, 0, 0, 0, 255])])
        let bitmap = try PNG.decode(bytes, name: "palette")
        XCTAssertEqual(bitmap.channels, 3)
        XCTAssertEqual(
            bitmap.pixels,
            [
                255, 0, 0, 0, 0, 255,
                0, 0, 255, 255, 0, 0,
            ])
    }

    func testGrayAlphaIsCompositedOnWhite() throws {
        // (gray, alpha) pairs: opaque black, transparent black, opaque 200, transparent 77.
        let bytes = PNGFixtures.make(width: 2, height: 2, bitDepth: 8, colorType: 4, rows: [[0, 255, 0, 0], [200, 255, 77, 0]])
        let bitmap = try PNG.decode(bytes, name: "gray-alpha")
        XCTAssertEqual(bitmap.channels, 1)
        XCTAssertEqual(bitmap.pixels, [0, 255, 200, 255])
    }

    func testRGBAIsCompositedOnWhite() throws {
        let bytes = PNGFixtures.make(width: 2, height: 1, bitDepth: 8, colorType: 6, rows: [[10, 20, 30, 255, 1, 2, 3, 0]])
        let bitmap = try PNG.decode(bytes, name: "rgba")
        XCTAssertEqual(bitmap.channels, 3)
        XCTAssertEqual(bitmap.pixels, [10, 20, 30, 255, 255, 255])
    }

    func testSixteenBitGrayIsScaledNotGammaCorrected() throws {
        let bytes = PNGFixtures.make(
            width: 2, height: 2, bitDepth: 16, colorType: 0,
            rows: [[0x00, 0x00, 0x12, 0x12], [0x80, 0x80, 0xFF, 0xFF]])
        let bitmap = try PNG.decode(bytes, name: "gray16")
        XCTAssertEqual(bitmap.channels, 1)
        XCTAssertEqual(bitmap.pixels, [0, 0x12, 0x80, 0xFF])
    }

    func testOneBitGrayIsExpanded() throws {
        let bytes = PNGFixtures.make(width: 8, height: 1, bitDepth: 1, colorType: 0, rows: [[0b1010_0000]])
        let bitmap = try PNG.decode(bytes, name: "gray1")
        XCTAssertEqual(bitmap.pixels, [255, 0, 255, 0, 0, 0, 0, 0])
    }

    func testNonPNGFileThrowsErrorNamingFile() throws {
        let path = folder + "/notes.png"
        try AtomicFile.write("hello, this is text", to: path)
        XCTAssertThrowsError(try PNG.read(from: path)) { error in
            let imagingError = error as? ImagingError
            XCTAssertEqual(imagingError?.path, path)
            XCTAssertEqual(imagingError?.operation, "read")
            XCTAssertTrue("\(error)".contains(path), "\(error)")
            XCTAssertTrue("\(error)".contains("not a PNG"), "\(error)")
        }
    }

    func testTruncatedPNGThrowsErrorNamingFile() throws {
        let bitmap = Bitmap(width: 40, height: 30, channels: 3, pixels: pseudoRandomBytes(40 * 30 * 3, seed: 3))
        let bytes = try PNG.encode(bitmap)
        for keep in [12, 40, bytes.count / 2, bytes.count - 20] {
            let path = folder + "/truncated-\(keep).png"
            try AtomicFile.write(Array(bytes.prefix(keep)), to: path)
            XCTAssertThrowsError(try PNG.read(from: path), "keeping \(keep) of \(bytes.count) bytes") { error in
                XCTAssertEqual((error as? ImagingError)?.path, path)
                XCTAssertTrue("\(error)".contains(path), "\(error)")
            }
        }
    }

    func testCorruptedDataThrows() throws {
        var bytes = PNGFixtures.make(width: 2, height: 2, bitDepth: 8, colorType: 0, rows: [[1, 2], [3, 4]])
        bytes[bytes.count - 20] ^= 0xFF  // inside IDAT: the chunk CRC no longer matches
        XCTAssertThrowsError(try PNG.decode(bytes, name: "corrupt.png")) { error in
            XCTAssertTrue("\(error)".contains("corrupt.png"), "\(error)")
        }
    }

    func testMissingFileAndEmptyFileThrow() throws {
        let missing = folder + "/missing.png"
        XCTAssertThrowsError(try PNG.read(from: missing)) { error in
            XCTAssertTrue("\(error)".contains(missing), "\(error)")
        }
        let empty = folder + "/empty.png"
        try AtomicFile.write([UInt8](), to: empty)
        XCTAssertThrowsError(try PNG.read(from: empty)) { error in
            XCTAssertEqual("\(error)", "cannot read PNG \(empty): file is empty")
        }
    }

    func testWritingEmptyBitmapOrIntoMissingFolderThrows() {
        XCTAssertThrowsError(try PNG.write(Bitmap(width: 0, height: 5, channels: 1, pixels: []), to: folder + "/empty.png")) { error in
            XCTAssertTrue(error is ImagingError)
        }
        let path = folder + "/no-such-folder/x.png"
        XCTAssertThrowsError(try PNG.write(Bitmap(width: 2, height: 2, channels: 1, color: .black), to: path)) { error in
            XCTAssertTrue("\(error)".contains(path), "\(error)")
        }
    }
}
