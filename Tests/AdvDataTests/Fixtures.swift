import AdvData
import Foundation
import XCTest

/// Builds small IDX files in memory and writes them into a fresh temporary folder.
enum Fixtures {
    /// An IDX image file: magic, then count/rows/columns, then `pixels` (count·rows·columns bytes).
    static func imagesFile(
        count: Int, rows: Int = 28, columns: Int = 28, magic: UInt32 = 2051,
        pixels: [UInt8]? = nil
    ) -> [UInt8] {
        let pixels = pixels ?? (0..<(count * rows * columns)).map { UInt8(truncatingIfNeeded: $0 * 7) }
        return bigEndian(magic) + bigEndian(UInt32(count)) + bigEndian(UInt32(rows)) + bigEndian(UInt32(columns)) + pixels
    }

    /// An IDX label file: magic, count, then one byte per label.
    static func labelsFile(_ labels: [UInt8], magic: UInt32 = 2049) -> [UInt8] {
        bigEndian(magic) + bigEndian(UInt32(labels.count)) + labels
    }

    static func bigEndian(_ value: UInt32) -> [UInt8] {
        [UInt8(value >> 24), UInt8((value >> 16) & 0xFF), UInt8((value >> 8) & 0xFF), UInt8(value & 0xFF)]
    }

    /// gzip (RFC 1952) of `bytes` made with zlib's deflate, independently of `Gzip.decompress`.
    static func gzip(_ bytes: [UInt8]) throws -> [UInt8] { try Gzip.compress(bytes) }

    /// A new empty folder under the system's temporary directory, removed by the test case.
    static func temporaryDirectory(for testCase: XCTestCase) throws -> String {
        let url = FileManager.default.temporaryDirectory
            .appendingPathComponent("advlab-data-tests-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        testCase.addTeardownBlock { try? FileManager.default.removeItem(at: url) }
        return url.path
    }

    /// Writes `bytes` to `directory/name` and returns the path.
    @discardableResult
    static func write(_ bytes: [UInt8], named name: String, in directory: String) throws -> String {
        let path = directory + "/" + name
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    /// Writes a complete small MNIST-shaped split (`count` 28×28 images, labels `i % 10`)
    /// under the official names, gzip-compressed when `compressed`.
    static func writeSplit(_ split: Dataset.Split, count: Int, in directory: String, compressed: Bool = true) throws {
        let labels = (0..<count).map { UInt8($0 % 10) }
        let images = imagesFile(count: count)
        let labelBytes = labelsFile(labels)
        let suffix = compressed ? ".gz" : ""
        try write(compressed ? gzip(images) : images, named: "\(split.filePrefix)-images-idx3-ubyte\(suffix)", in: directory)
        try write(compressed ? gzip(labelBytes) : labelBytes, named: "\(split.filePrefix)-labels-idx1-ubyte\(suffix)", in: directory)
    }
}

/// Asserts that `body` throws a `DataError` whose one-line description contains every
/// string of `fragments` (the file name first of all).
func assertDataError<T>(
    _ body: @autoclosure () throws -> T, mentions fragments: [String],
    file: StaticString = #filePath, line: UInt = #line
) {
    do {
        _ = try body()
        XCTFail("expected a DataError mentioning \(fragments), nothing was thrown", file: file, line: line)
    } catch let error as DataError {
        let text = error.description
        XCTAssertFalse(text.contains("\n"), "description is not one line: \(text)", file: file, line: line)
        for fragment in fragments {
            XCTAssertTrue(text.contains(fragment), "\"\(text)\" does not mention \"\(fragment)\"", file: file, line: line)
        }
    } catch {
        XCTFail("expected a DataError, got \(error)", file: file, line: line)
    }
}
