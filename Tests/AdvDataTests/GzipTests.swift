import AdvData
import XCTest

final class GzipTests: XCTestCase {
    /// `printf 'hello\n' | gzip -n`: a fixed stream made by the gzip tool, not by zlib here.
    let helloGzip: [UInt8] = [
        0x1F, 0x8B, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0xCB, 0x48, 0xCD, 0xC9,
        0xC9, 0xE7, 0x02, 0x00, 0x20, 0x30, 0x3A, 0x36, 0x06, 0x00, 0x00, 0x00,
    ]

    func testDecompressesKnownStream() throws {
        XCTAssertEqual(try Gzip.decompress(helloGzip, file: "hello.gz"), Array("hello\n".utf8))
    }

    func testRoundTripOfLargeInputWithWrongSizeHint() throws {
        let original = (0..<300_000).map { UInt8(truncatingIfNeeded: $0 &* 2_654_435_761 >> 13) }
        var compressed = try Fixtures.gzip(original)
        XCTAssertEqual(try Gzip.decompress(compressed, file: "big.gz"), original)
        // A damaged ISIZE trailer changes the buffer guess but must not change the result;
        // zlib then reports the length mismatch as corrupt data.
        compressed[compressed.count - 1] ^= 0x01
        assertDataError(try Gzip.decompress(compressed, file: "big.gz"), mentions: ["big.gz", "corrupt"])
    }

    func testConcatenatedMembersAreJoined() throws {
        XCTAssertEqual(try Gzip.decompress(helloGzip + helloGzip, file: "two.gz"), Array("hello\nhello\n".utf8))
    }

    func testStreamCutShortNamesTheFile() throws {
        let compressed = try Fixtures.gzip(Fixtures.imagesFile(count: 5))
        for keep in [2, 10, compressed.count / 2, compressed.count - 1] {
            assertDataError(
                try Gzip.decompress(Array(compressed.prefix(keep)), file: "train-images-idx3-ubyte.gz"),
                mentions: ["train-images-idx3-ubyte.gz", "gzip stream ends early"])
        }
    }

    func testCorruptDataAndTrailingBytesAreRejected() throws {
        var corrupt = helloGzip
        corrupt[12] ^= 0xFF
        assertDataError(try Gzip.decompress(corrupt, file: "bad.gz"), mentions: ["bad.gz", "corrupt gzip data"])
        assertDataError(
            try Gzip.decompress(helloGzip + [0x00, 0x01], file: "tail.gz"),
            mentions: ["tail.gz", "2 bytes of trailing data"])
    }

    func testReadFileAcceptsCompressedAndPlainFiles() throws {
        let directory = try Fixtures.temporaryDirectory(for: self)
        let payload = Fixtures.labelsFile([1, 2, 3])
        let compressedPath = try Fixtures.write(try Fixtures.gzip(payload), named: "labels.gz", in: directory)
        let plainPath = try Fixtures.write(payload, named: "labels", in: directory)
        let misnamedPath = try Fixtures.write(payload, named: "plain-but-named.gz", in: directory)
        XCTAssertEqual(try Gzip.readFile(compressedPath), payload)
        XCTAssertEqual(try Gzip.readFile(plainPath), payload)
        XCTAssertEqual(try Gzip.readFile(misnamedPath), payload)
        assertDataError(try Gzip.readFile(directory + "/absent.gz"), mentions: ["absent.gz", "cannot read", "No such file"])
        assertDataError(try Gzip.readFile(directory), mentions: [directory, "not a regular file"])
    }
}
