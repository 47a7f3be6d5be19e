import Foundation

/// Tiny MNIST-shaped files written from scratch, so that the loaders are tested against the
/// formats themselves rather than against the code under test.
enum FakeMNIST {
    /// An IDX image file: magic 2051, then count, rows, columns as big-endian UInt32, then pixels.
    static func imagesIDX(count: Int, rows: Int = 28, columns: Int = 28, magic: UInt32 = 2051) -> [UInt8] {
        var bytes = bigEndian(magic) + bigEndian(UInt32(count)) + bigEndian(UInt32(rows)) + bigEndian(UInt32(columns))
        bytes += (0..<(count * rows * columns)).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        return bytes
    }

    /// An IDX label file: magic 2049, count, then one byte per label.
    static func labelsIDX(_ labels: [UInt8], magic: UInt32 = 2049) -> [UInt8] {
        bigEndian(magic) + bigEndian(UInt32(labels.count)) + labels
    }

    /// The four files of MNIST under their real names, gzip-compressed, each split holding
    /// `count` structurally valid examples (their SHA-256 differs from the published files').
    static func writeValid(to directory: URL, count: Int = 3) throws {
        for prefix in ["train", "t10k"] {
            try write(imagesIDX(count: count), named: "\(prefix)-images-idx3-ubyte.gz", in: directory)
            try write(labelsIDX((0..<count).map { UInt8($0 % 10) }), named: "\(prefix)-labels-idx1-ubyte.gz", in: directory)
        }
    }

    /// Writes `payload` gzip-compressed to `directory/name`.
    static func write(_ payload: [UInt8], named name: String, in directory: URL) throws {
        try Data(GzipStored.compress(payload)).write(to: directory.appendingPathComponent(name))
    }

    static func bigEndian(_ value: UInt32) -> [UInt8] {
        [UInt8(value >> 24), UInt8((value >> 16) & 0xFF), UInt8((value >> 8) & 0xFF), UInt8(value & 0xFF)]
    }
}

/// A gzip (RFC 1952) writer using deflate's stored blocks (RFC 1951 §3.2.4): no compression,
/// but a complete, valid stream with the CRC-32 and length trailer that readers check.
enum GzipStored {
    static func compress(_ payload: [UInt8]) -> [UInt8] {
        // ID1 ID2, CM = deflate, no flags, MTIME 0, XFL 0, OS = Unix.
        var out: [UInt8] = [0x1F, 0x8B, 8, 0, 0, 0, 0, 0, 0, 3]
        var offset = 0
        repeat {
            let length = min(65_535, payload.count - offset)
            let isLast = offset + length == payload.count
            out.append(isLast ? 1 : 0)  // BFINAL, BTYPE = 00 (stored); the block then starts byte-aligned
            out += littleEndian16(UInt16(length)) + littleEndian16(~UInt16(length))
            out += payload[offset..<(offset + length)]
            offset += length
        } while offset < payload.count
        out += littleEndian32(crc32(payload)) + littleEndian32(UInt32(truncatingIfNeeded: payload.count))
        return out
    }

    /// CRC-32 of ISO 3309 / ITU-T V.42 (reflected polynomial 0xEDB88320), as gzip uses.
    static func crc32(_ bytes: [UInt8]) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes {
            crc ^= UInt32(byte)
            for _ in 0..<8 { crc = (crc & 1) != 0 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
        }
        return ~crc
    }

    private static func littleEndian16(_ value: UInt16) -> [UInt8] { [UInt8(value & 0xFF), UInt8(value >> 8)] }
    private static func littleEndian32(_ value: UInt32) -> [UInt8] {
        [UInt8(value & 0xFF), UInt8((value >> 8) & 0xFF), UInt8((value >> 16) & 0xFF), UInt8(value >> 24)]
    }
}

/// A safetensors writer written from the format's description (8-byte little-endian header
/// length, JSON header, little-endian F32 data), independent of the lab's own writer.
enum SafetensorsFixture {
    struct Entry {
        var name: String
        var shape: [Int]
    }

    /// A file holding `entries` (F32, filled with small distinct values) and `metadata`.
    static func encode(_ entries: [Entry], metadata: [String: String]) -> [UInt8] {
        var fields: [String] = []
        if !metadata.isEmpty {
            let pairs = metadata.sorted { $0.key < $1.key }.map { "\(quoted($0.key)):\(quoted($0.value))" }
            fields.append("\"__metadata__\":{" + pairs.joined(separator: ",") + "}")
        }
        var data: [UInt8] = []
        for entry in entries {
            let count = entry.shape.reduce(1, *)
            let begin = data.count
            for index in 0..<count {
                let bits = (Float(index % 97) * 0.01).bitPattern
                data += [UInt8(bits & 0xFF), UInt8((bits >> 8) & 0xFF), UInt8((bits >> 16) & 0xFF), UInt8(bits >> 24)]
            }
            let shape = entry.shape.map(String.init).joined(separator: ",")
            fields.append("\(quoted(entry.name)):{\"dtype\":\"F32\",\"shape\":[\(shape)],\"data_offsets\":[\(begin),\(data.count)]}")
        }
        var header = Array(("{" + fields.joined(separator: ",") + "}").utf8)
        while header.count % 8 != 0 { header.append(0x20) }
        return lengthPrefix(header.count) + header + data
    }

    /// A file with the JSON header `json` as given (padded with spaces to a multiple of 8) and
    /// `data` as its data section: for headers the lab's writer would never produce.
    static func raw(json: String, data: [UInt8]) -> [UInt8] {
        var header = Array(json.utf8)
        while header.count % 8 != 0 { header.append(0x20) }
        return lengthPrefix(header.count) + header + data
    }

    /// The 8-byte little-endian length that opens a safetensors file.
    static func lengthPrefix(_ length: Int) -> [UInt8] {
        (0..<8).map { UInt8(truncatingIfNeeded: UInt64(length) >> (8 * UInt64($0))) }
    }

    private static func quoted(_ text: String) -> String { "\"" + text + "\"" }
}

/// Every regular file under a folder with its bytes: compared before and after a failing
/// command to show that nothing was created, changed or removed.
struct DirectorySnapshot: Equatable {
    var files: [String: Data]

    init(of directory: URL) throws {
        files = [:]
        let base = directory.resolvingSymlinksInPath().path
        guard let enumerator = FileManager.default.enumerator(atPath: base) else { return }
        for case let relative as String in enumerator {
            let path = base + "/" + relative
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue {
                files[relative] = try Data(contentsOf: URL(fileURLWithPath: path))
            } else {
                files[relative + "/"] = Data()
            }
        }
    }

    /// The names that differ from `other` (added, removed or changed), for failure messages.
    func differences(from other: DirectorySnapshot) -> [String] {
        Set(files.keys).union(other.files.keys).filter { files[$0] != other.files[$0] }.sorted()
    }
}
