// libFuzzer target for the IDX reader (`AdvData/IDX.swift`) and the gzip layer under it
// (`AdvData/Gzip.swift`): every input is parsed as an image file and as a label file, and,
// when it starts with the gzip magic, decompressed and its content parsed both ways. Each parse
// must succeed or throw a one-line `DataError`; anything else (a crash, a sanitizer report,
// another error type) is a finding. See Scripts/fuzz.
import AdvData
import CZlib
import Foundation
import FuzzSupport

/// Parses `bytes` (named `file` in errors) as IDX images and as IDX labels; a successful
/// parse must describe exactly the bytes it was given.
func parseBothWays(_ bytes: [UInt8], file: String) {
    FuzzMain.expectTypedError("IDX images", isExpected: { $0 is DataError }) {
        let images = try IDX.parseImages(bytes, file: file)
        let pixels = images.count * images.rows * images.columns
        guard bytes.count == 16 + pixels, images.images01.shape == [images.count, 1, images.rows, images.columns] else {
            FuzzMain.finding("IDX images: \(bytes.count) bytes parsed as \(images.count)×\(images.rows)×\(images.columns)")
        }
        if let outside = images.images01.scalars.first(where: { !($0 >= 0 && $0 <= 1) }) {
            FuzzMain.finding("IDX images: pixel \(outside) outside [0, 1]")
        }
    }
    FuzzMain.expectTypedError("IDX labels", isExpected: { $0 is DataError }) {
        let labels = try IDX.parseLabels(bytes, file: file)
        guard bytes.count == 8 + labels.count, labels.allSatisfy({ (0..<10).contains($0) }) else {
            FuzzMain.finding("IDX labels: \(bytes.count) bytes parsed as \(labels.count) labels \(labels.prefix(8))")
        }
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzIDX(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = size == 0 ? [] : [UInt8](UnsafeBufferPointer(start: data, count: size))
    parseBothWays(bytes, file: "fuzz-idx")
    if Gzip.isCompressed(bytes) {
        FuzzMain.expectTypedError("gzip", isExpected: { $0 is DataError }) {
            parseBothWays(try Gzip.decompress(bytes, file: "fuzz-idx.gz"), file: "fuzz-idx.gz")
        }
    }
    return 0
}

// MARK: Seeds

/// A big-endian UInt32.
func bigEndian(_ value: UInt32) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: value >> (24 - 8 * $0)) } }

/// An IDX image file of `count` images of `rows` × `columns` pixels (a ramp).
func imagesFile(count: Int, rows: Int, columns: Int) -> [UInt8] {
    bigEndian(IDX.imagesMagic) + bigEndian(UInt32(count)) + bigEndian(UInt32(rows)) + bigEndian(UInt32(columns))
        + (0..<(count * rows * columns)).map { UInt8(truncatingIfNeeded: $0 &* 37) }
}

/// An IDX label file.
func labelsFile(_ labels: [UInt8]) -> [UInt8] { bigEndian(IDX.labelsMagic) + bigEndian(UInt32(labels.count)) + labels }

/// Valid and near-valid files: libFuzzer mutates from these.
func seeds() throws -> [(name: String, bytes: [UInt8])] {
    let images = imagesFile(count: 3, rows: 4, columns: 5)
    let labels = labelsFile([0, 7, 9, 3])
    return [
        ("images-3x4x5.idx", images),
        ("labels-4.idx", labels),
        ("images-empty.idx", imagesFile(count: 0, rows: 28, columns: 28)),
        ("images-truncated.idx", Array(images.dropLast(7))),
        ("labels-out-of-range.idx", labelsFile([1, 12, 3])),
        ("labels-wrong-magic.idx", bigEndian(2050) + Array(labels.dropFirst(4))),
        ("images-3x4x5.idx.gz", try Gzip.compress(images, level: Z_BEST_COMPRESSION)),
        ("labels-4.idx.gz", try Gzip.compress(labels, level: Z_BEST_COMPRESSION)),
        ("two-members.idx.gz", try Gzip.compress(Array(labels.prefix(6)), level: Z_BEST_COMPRESSION)
            + Gzip.compress(Array(labels.dropFirst(6)), level: Z_BEST_COMPRESSION)),
    ]
}

exit(FuzzMain.run(callback: { fuzzIDX($0, $1) }, seeds: seeds))
