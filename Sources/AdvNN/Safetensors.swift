import AdvTensor
import Foundation

// The safetensors format (https://github.com/huggingface/safetensors), so that checkpoints open
// in PyTorch and NumPy:
//
//   8 bytes   N, the header length, unsigned little-endian
//   N bytes   UTF-8 JSON object: {"__metadata__": {string: string},
//                                  "name": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, …}
//   rest      the data section: every tensor's little-endian, row-major bytes; offsets are relative
//             to the start of this section and [begin, end) ranges tile it without gaps or overlap.
//
// Reading treats the file as untrusted: every number in the header is checked before it is used,
// and every problem is a `CheckpointError` naming the file and the field.

/// A checkpoint that cannot be read or does not fit the model: one line naming the file and the
/// offending field, e.g. `run/model.safetensors: tensor conv1.weight: unknown dtype "F7"`.
public struct CheckpointError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The file as the caller named it.
    public let path: String
    /// What is wrong, naming the field; never contains a line break.
    public let message: String

    public init(path: String, message: String) {
        self.path = path
        self.message = message
    }

    public var description: String { "\(path): \(message)" }
}

extension CheckpointError {
    /// `name` with control characters escaped, so that an error message stays on one line.
    static func sanitized(_ name: String) -> String {
        var result = ""
        for scalar in name.unicodeScalars {
            if scalar.value < 0x20 || scalar.value == 0x7F || scalar == "\u{2028}" || scalar == "\u{2029}" {
                result += scalar.escaped(asASCII: true)
            } else {
                result.unicodeScalars.append(scalar)
            }
        }
        return result
    }

    /// A shape as `[32,1,5,5]`.
    static func shapeText(_ shape: [Int]) -> String {
        "[" + shape.map(String.init).joined(separator: ",") + "]"
    }
}

/// The element types of the safetensors format that advlab reads. The raw values are the
/// format's dtype names; the cases are declared in the reference implementation's order (by
/// increasing alignment), which fixes the order of tensors in written files.
public enum SafetensorsDType: String, CaseIterable, Sendable {
    case bool = "BOOL"
    case uint8 = "U8"
    case int8 = "I8"
    case int16 = "I16"
    case uint16 = "U16"
    case float16 = "F16"
    case bfloat16 = "BF16"
    case int32 = "I32"
    case uint32 = "U32"
    case float32 = "F32"
    case float64 = "F64"
    case int64 = "I64"
    case uint64 = "U64"

    /// Bytes per element.
    public var byteCount: Int {
        switch self {
        case .bool, .uint8, .int8: return 1
        case .int16, .uint16, .float16, .bfloat16: return 2
        case .int32, .uint32, .float32: return 4
        case .float64, .int64, .uint64: return 8
        }
    }

    /// Floating-point dtypes are read into `Tensor`s; the others into `IntegerTensor`s.
    public var isFloatingPoint: Bool {
        switch self {
        case .float16, .bfloat16, .float32, .float64: return true
        default: return false
        }
    }

    /// Position in the reference writer's order: tensors with a higher rank come first in the data.
    var writeRank: Int { Self.allCases.firstIndex(of: self) ?? 0 }

    /// Whether integer elements are sign-extended when widened to 64 bits.
    var isSigned: Bool {
        switch self {
        case .int8, .int16, .int32, .int64: return true
        default: return false
        }
    }
}

/// A tensor of integers (RNG state words, step counters, labels): shape, stored dtype, and every
/// element widened to a 64-bit word — zero-extended for unsigned dtypes and BOOL, sign-extended
/// (two's complement) for signed ones, so `signedValues` recovers signed elements exactly.
public struct IntegerTensor: Equatable, Sendable {
    public let dtype: SafetensorsDType
    public let shape: [Int]
    public let words: [UInt64]

    /// A `U64` tensor holding `words` exactly; `shape` defaults to `[words.count]` and must
    /// have `words.count` elements.
    public init(unsigned words: [UInt64], shape: [Int]? = nil) {
        self.init(checkedDType: .uint64, shape: shape ?? [words.count], words: words)
    }

    /// An `I64` tensor holding `values` exactly; `shape` defaults to `[values.count]` and must
    /// have `values.count` elements.
    public init(signed values: [Int64], shape: [Int]? = nil) {
        self.init(checkedDType: .int64, shape: shape ?? [values.count], words: values.map { UInt64(bitPattern: $0) })
    }

    /// For the reader: `words` already widened from `dtype` elements.
    init(checkedDType dtype: SafetensorsDType, shape: [Int], words: [UInt64]) {
        precondition(!dtype.isFloatingPoint, "IntegerTensor cannot hold dtype \(dtype.rawValue)")
        precondition(
            shape.allSatisfy { $0 >= 0 } && shape.reduce(1, *) == words.count,
            "shape \(shape) needs \(shape.reduce(1, *)) words, got \(words.count)")
        self.dtype = dtype
        self.shape = shape
        self.words = words
    }

    /// The elements as signed integers: exact for signed dtypes and for unsigned values below 2⁶³
    /// (larger unsigned values wrap to negative numbers).
    public var signedValues: [Int64] { words.map { Int64(bitPattern: $0) } }
}

/// Where one tensor's bytes lie, as the header describes it (already validated).
public struct SafetensorsEntry: Equatable, Sendable {
    public let name: String
    public let dtype: SafetensorsDType
    public let shape: [Int]
    /// Byte range relative to the start of the data section.
    public let dataOffsets: Range<Int>

    public init(name: String, dtype: SafetensorsDType, shape: [Int], dataOffsets: Range<Int>) {
        self.name = name
        self.dtype = dtype
        self.shape = shape
        self.dataOffsets = dataOffsets
    }

    public var elementCount: Int { shape.reduce(1, *) }

    /// The offsets as the header writes them: `[begin, end]`.
    var offsetsText: String { "[\(dataOffsets.lowerBound), \(dataOffsets.upperBound)]" }
}

/// A validated safetensors header: the metadata and the tensor entries in data order.
public struct SafetensorsHeader: Equatable, Sendable {
    public let metadata: [String: String]
    /// Entries sorted by their data offsets (the order of the bytes in the file).
    public let entries: [SafetensorsEntry]
    /// Length of the JSON header in bytes (the file's first 8 bytes); the data section starts at
    /// byte `8 + headerByteCount`.
    public let headerByteCount: Int
}

/// The whole content of a safetensors file: floating-point tensors converted to Float32,
/// integer tensors widened to 64-bit words, and the `__metadata__` strings.
public struct SafetensorsFile: Sendable {
    /// The file as the caller named it (used in error messages).
    public let path: String
    public let metadata: [String: String]
    /// Tensors of dtype F32, F64, F16 and BF16, converted to Float32.
    public let tensors: [String: Tensor]
    /// Tensors of integer dtypes and BOOL.
    public let integerTensors: [String: IntegerTensor]
    /// Every tensor name, in the order of the data section.
    public let names: [String]

    /// The floating-point tensor `name`; throws `CheckpointError` when it is missing, is an
    /// integer tensor, or (when `expectedShape` is given) has another shape.
    public func tensor(_ name: String, expectedShape: [Int]? = nil) throws -> Tensor {
        guard let tensor = tensors[name] else {
            if let integers = integerTensors[name] {
                throw CheckpointError(
                    path: path,
                    message: "tensor \(CheckpointError.sanitized(name)) has dtype "
                        + "\(integers.dtype.rawValue), expected a floating-point dtype")
            }
            throw CheckpointError(path: path, message: "missing tensor \(CheckpointError.sanitized(name))")
        }
        if let expectedShape, tensor.shape != expectedShape {
            throw CheckpointError(
                path: path,
                message: "tensor \(CheckpointError.sanitized(name)) has shape "
                    + "\(CheckpointError.shapeText(tensor.shape)), expected \(CheckpointError.shapeText(expectedShape))")
        }
        return tensor
    }

    /// The integer tensor `name`; throws `CheckpointError` when it is missing, is a
    /// floating-point tensor, or (when `expectedCount` is given) has another element count.
    public func integerTensor(_ name: String, expectedCount: Int? = nil) throws -> IntegerTensor {
        guard let integers = integerTensors[name] else {
            if tensors[name] != nil {
                throw CheckpointError(
                    path: path, message: "tensor \(CheckpointError.sanitized(name)) is floating-point, expected an integer dtype")
            }
            throw CheckpointError(path: path, message: "missing tensor \(CheckpointError.sanitized(name))")
        }
        if let expectedCount, integers.words.count != expectedCount {
            throw CheckpointError(
                path: path,
                message: "tensor \(CheckpointError.sanitized(name)) has "
                    + "\(integers.words.count) elements, expected \(expectedCount)")
        }
        return integers
    }
}

/// Reading and writing safetensors files.
public enum Safetensors {
    /// The largest JSON header accepted (the reference implementation's limit).
    public static let maximumHeaderByteCount = 100_000_000

    // MARK: Writing

    /// Writes `tensors` (as F32) and `integerTensors` (in their own dtype) with `metadata` to
    /// `path`, atomically: a reader sees the old file or the new one, never a mix.
    ///
    /// Layout is deterministic and the reference writer's (Python's `safetensors`): `__metadata__`
    /// first (omitted when empty, keys sorted), then the tensors ordered by dtype, widest first (so
    /// every tensor is aligned to its element size), then by name; compact JSON padded with spaces
    /// to a multiple of 8 bytes.
    /// Throws `CheckpointError` for a duplicate or reserved (`__metadata__`) tensor name and
    /// `FileWriteError` when the file cannot be written; in both cases `path` is unchanged.
    public static func write(
        tensors: [(String, Tensor)], integerTensors: [(String, IntegerTensor)] = [],
        metadata: [String: String], to path: String
    ) throws {
        let bytes = try encode(tensors: tensors, integerTensors: integerTensors, metadata: metadata, path: path)
        try AtomicFile.write(bytes, to: path)
    }

    /// The bytes `write` would store; `path` only names the file in errors.
    public static func encode(
        tensors: [(String, Tensor)], integerTensors: [(String, IntegerTensor)] = [],
        metadata: [String: String], path: String = "<memory>"
    ) throws -> [UInt8] {
        enum Payload {
            case floats(Tensor)
            case integers(IntegerTensor)
        }
        var items: [(name: String, dtype: SafetensorsDType, shape: [Int], payload: Payload)] = []
        items += tensors.map { ($0.0, .float32, $0.1.shape, .floats($0.1)) }
        items += integerTensors.map { ($0.0, $0.1.dtype, $0.1.shape, .integers($0.1)) }

        var seen = Set<String>()
        for item in items {
            guard item.name != metadataKey else {
                throw CheckpointError(path: path, message: "tensor name \(metadataKey) is reserved for the metadata")
            }
            guard seen.insert(item.name).inserted else {
                throw CheckpointError(path: path, message: "tensor name \(CheckpointError.sanitized(item.name)) appears twice")
            }
        }
        items.sort { left, right in
            left.dtype != right.dtype
                ? left.dtype.writeRank > right.dtype.writeRank
                : left.name.utf8.lexicographicallyPrecedes(right.name.utf8)
        }

        var json = "{"
        var fields: [String] = []
        if !metadata.isEmpty {
            let pairs = metadata.sorted { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }
                .map { jsonString($0.key) + ":" + jsonString($0.value) }
            fields.append(jsonString(metadataKey) + ":{" + pairs.joined(separator: ",") + "}")
        }
        var offset = 0
        for item in items {
            let byteCount = item.shape.reduce(1, *) * item.dtype.byteCount
            fields.append(
                jsonString(item.name) + ":{\"dtype\":\"\(item.dtype.rawValue)\",\"shape\":["
                    + item.shape.map(String.init).joined(separator: ",")
                    + "],\"data_offsets\":[\(offset),\(offset + byteCount)]}")
            offset += byteCount
        }
        json += fields.joined(separator: ",") + "}"
        var header = Array(json.utf8)
        header += [UInt8](repeating: UInt8(ascii: " "), count: (8 - header.count % 8) % 8)

        var bytes: [UInt8] = []
        bytes.reserveCapacity(8 + header.count + offset)
        withUnsafeBytes(of: UInt64(header.count).littleEndian) { bytes += $0 }
        bytes += header
        for item in items {
            switch item.payload {
            case .floats(let tensor):
                appendLittleEndian(tensor.scalars, to: &bytes)
            case .integers(let integers):
                appendLittleEndian(integers.words, byteCount: integers.dtype.byteCount, to: &bytes)
            }
        }
        return bytes
    }

    // MARK: Reading

    /// Reads and validates the whole file at `path`. Throws `CheckpointError` naming the file and
    /// the field when the file cannot be read or is not a well-formed safetensors file (see
    /// `decode`).
    public static func read(path: String) throws -> SafetensorsFile {
        let bytes = try readBytes(path: path)
        return try bytes.withUnsafeBytes { try decode($0, path: path) }
    }

    /// Reads and validates only the header of the file at `path` (the first `8 + N` bytes), checking
    /// the entries against the file's size; cheap for dispatching on `__metadata__` before loading.
    public static func readHeader(path: String) throws -> SafetensorsHeader {
        let file = try OpenFile(path: path)
        defer { file.close() }
        let prefix = try file.read(offset: 0, count: min(8, file.size))
        let headerByteCount = try validatedHeaderLength(prefix, fileSize: file.size, path: path)
        let json = try file.read(offset: 8, count: headerByteCount)
        return try json.withUnsafeBytes {
            try parseHeader($0, headerByteCount: headerByteCount, dataByteCount: file.size - 8 - headerByteCount, path: path)
        }
    }

    /// Decodes a complete safetensors file held in `bytes`; `path` only names it in errors.
    ///
    /// Throws `CheckpointError` when: the file is shorter than 8 bytes; the header length exceeds
    /// `maximumHeaderByteCount` or the file; the header is not UTF-8, not JSON or not an object;
    /// `__metadata__` is not an object of strings; an entry lacks `dtype`, `shape` or
    /// `data_offsets` or has them of the wrong type; the dtype is unknown; a dimension is negative
    /// or the element count overflows; offsets are reversed, past the data section, overlapping,
    /// leave a gap or unused trailing bytes; or a range's length differs from shape × dtype size.
    /// (Duplicate JSON keys cannot be detected with Foundation's parser: the last one wins.)
    public static func decode(_ bytes: UnsafeRawBufferPointer, path: String) throws -> SafetensorsFile {
        let prefix = UnsafeRawBufferPointer(rebasing: bytes.prefix(8))
        let headerByteCount = try validatedHeaderLength(Array(prefix), fileSize: bytes.count, path: path)
        let dataStart = 8 + headerByteCount
        let header = try parseHeader(
            UnsafeRawBufferPointer(rebasing: bytes[8..<dataStart]),
            headerByteCount: headerByteCount,
            dataByteCount: bytes.count - dataStart, path: path)
        let data = UnsafeRawBufferPointer(rebasing: bytes[dataStart...])
        var tensors: [String: Tensor] = [:]
        var integerTensors: [String: IntegerTensor] = [:]
        for entry in header.entries {
            let source = UnsafeRawBufferPointer(rebasing: data[entry.dataOffsets])
            if entry.dtype.isFloatingPoint {
                tensors[entry.name] = Tensor(shape: entry.shape, scalars: floats(from: source, dtype: entry.dtype))
            } else {
                integerTensors[entry.name] = IntegerTensor(
                    checkedDType: entry.dtype, shape: entry.shape,
                    words: words(from: source, dtype: entry.dtype))
            }
        }
        return SafetensorsFile(
            path: path, metadata: header.metadata, tensors: tensors,
            integerTensors: integerTensors, names: header.entries.map(\.name))
    }

    // MARK: Validation

    static let metadataKey = "__metadata__"

    /// N from the first 8 bytes, checked against the limit and the file size.
    private static func validatedHeaderLength(_ prefix: [UInt8], fileSize: Int, path: String) throws -> Int {
        guard prefix.count == 8, fileSize >= 8 else {
            throw CheckpointError(path: path, message: "file has \(fileSize) bytes, too short for the 8-byte header length")
        }
        let length = prefix.reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        guard length <= UInt64(maximumHeaderByteCount) else {
            throw CheckpointError(path: path, message: "header length \(length) exceeds the limit of \(maximumHeaderByteCount) bytes")
        }
        guard Int(length) <= fileSize - 8 else {
            throw CheckpointError(
                path: path,
                message: "header length \(length) is past the end of the file "
                    + "(\(fileSize - 8) bytes follow the length field)")
        }
        return Int(length)
    }

    /// Parses and checks the JSON header against a data section of `dataByteCount` bytes.
    /// Entries are checked in name order, so the same bad file always gives the same error.
    private static func parseHeader(
        _ json: UnsafeRawBufferPointer, headerByteCount: Int, dataByteCount: Int,
        path: String
    ) throws -> SafetensorsHeader {
        guard isValidUTF8(json) else {
            throw CheckpointError(path: path, message: "header is not valid UTF-8")
        }
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: Data(json))
        } catch {
            throw CheckpointError(path: path, message: "header is not valid JSON")
        }
        guard let root = object as? [String: Any] else {
            throw CheckpointError(path: path, message: "header is not a JSON object")
        }
        let metadata = try parseMetadata(root[metadataKey], path: path)
        var entries: [SafetensorsEntry] = []
        for name in root.keys.sorted() where name != metadataKey {
            entries.append(try parseEntry(name: name, root[name] as Any, dataByteCount: dataByteCount, path: path))
        }
        entries.sort { left, right in
            (left.dataOffsets.lowerBound, left.dataOffsets.upperBound, left.name)
                < (right.dataOffsets.lowerBound, right.dataOffsets.upperBound, right.name)
        }
        try checkTiling(entries, dataByteCount: dataByteCount, path: path)
        return SafetensorsHeader(metadata: metadata, entries: entries, headerByteCount: headerByteCount)
    }

    /// `__metadata__`: absent or null (no metadata), or an object whose values are all strings.
    private static func parseMetadata(_ value: Any?, path: String) throws -> [String: String] {
        guard let value, !(value is NSNull) else { return [:] }
        guard let dictionary = value as? [String: Any] else {
            throw CheckpointError(path: path, message: "\(metadataKey) is not an object")
        }
        var metadata: [String: String] = [:]
        for key in dictionary.keys.sorted() {
            guard let text = dictionary[key] as? String else {
                throw CheckpointError(path: path, message: "\(metadataKey) value of \(CheckpointError.sanitized(key)) is not a string")
            }
            metadata[key] = text
        }
        return metadata
    }

    /// One tensor entry: its fields' types, dtype, shape (non-negative, element and byte counts
    /// without overflow) and offsets (ordered, inside the data section, as long as the shape needs).
    private static func parseEntry(name: String, _ value: Any, dataByteCount: Int, path: String) throws -> SafetensorsEntry {
        func fail(_ message: String) -> CheckpointError {
            CheckpointError(path: path, message: "tensor \(CheckpointError.sanitized(name)): \(message)")
        }
        guard let entry = value as? [String: Any] else { throw fail("entry is not an object") }

        guard let rawDType = entry["dtype"] else { throw fail("missing dtype") }
        guard let dtypeName = rawDType as? String else { throw fail("dtype is not a string") }
        guard let dtype = SafetensorsDType(rawValue: dtypeName) else {
            throw fail("unknown dtype \"\(CheckpointError.sanitized(dtypeName))\"")
        }

        guard let rawShape = entry["shape"] else { throw fail("missing shape") }
        guard let shapeItems = rawShape as? [Any] else { throw fail("shape is not an array") }
        var shape: [Int] = []
        for item in shapeItems {
            guard let dimension = jsonInteger(item) else { throw fail("shape has a dimension that is not an integer") }
            guard dimension >= 0 else { throw fail("shape has negative dimension \(dimension)") }
            shape.append(dimension)
        }
        var byteCount = dtype.byteCount
        for dimension in shape {
            let (product, overflow) = byteCount.multipliedReportingOverflow(by: dimension)
            guard !overflow else { throw fail("shape \(CheckpointError.shapeText(shape)) has too many elements") }
            byteCount = product
        }

        guard let rawOffsets = entry["data_offsets"] else { throw fail("missing data_offsets") }
        guard let offsetItems = rawOffsets as? [Any], offsetItems.count == 2,
            let begin = jsonInteger(offsetItems[0]), let end = jsonInteger(offsetItems[1])
        else {
            throw fail("data_offsets is not a pair of integers [begin, end]")
        }
        let offsetsText = "data_offsets [\(begin), \(end)]"
        guard begin >= 0, end >= 0 else { throw fail("\(offsetsText) are negative") }
        guard begin <= end else { throw fail("\(offsetsText) begin after their end") }
        guard end <= dataByteCount else { throw fail("\(offsetsText) end past the data section (\(dataByteCount) bytes)") }
        guard end - begin == byteCount else {
            throw fail(
                "\(offsetsText) hold \(end - begin) bytes, shape \(CheckpointError.shapeText(shape)) of \(dtype.rawValue) needs \(byteCount)"
            )
        }
        return SafetensorsEntry(name: name, dtype: dtype, shape: shape, dataOffsets: begin..<end)
    }

    /// The ranges of `entries` (sorted by offset) must tile the data section as the reference
    /// requires: each begins where the previous ended (no overlap, no gap), the last ends at its end.
    private static func checkTiling(_ entries: [SafetensorsEntry], dataByteCount: Int, path: String) throws {
        var previous: SafetensorsEntry?
        for entry in entries {
            let end = previous?.dataOffsets.upperBound ?? 0
            let field = "tensor \(CheckpointError.sanitized(entry.name)): data_offsets \(entry.offsetsText)"
            if entry.dataOffsets.lowerBound < end, let previous {
                throw CheckpointError(
                    path: path, message: "\(field) overlap tensor \(CheckpointError.sanitized(previous.name)) \(previous.offsetsText)")
            }
            if entry.dataOffsets.lowerBound > end {
                throw CheckpointError(
                    path: path, message: "\(field) leave bytes \(end)..<\(entry.dataOffsets.lowerBound) of the data section unused")
            }
            previous = entry
        }
        let covered = previous?.dataOffsets.upperBound ?? 0
        guard covered == dataByteCount else {
            throw CheckpointError(path: path, message: "data section has \(dataByteCount - covered) bytes after the last tensor")
        }
    }

    private static func isValidUTF8(_ bytes: UnsafeRawBufferPointer) -> Bool {
        var iterator = bytes.makeIterator()
        var decoder = UTF8()
        while true {
            switch decoder.decode(&iterator) {
            case .scalarValue: continue
            case .emptyInput: return true
            case .error: return false
            }
        }
    }

    /// A JSON number that is an exact integer in `Int`'s range (not a boolean, not a fraction).
    private static func jsonInteger(_ value: Any) -> Int? {
        guard let number = value as? NSNumber, !(number is NSDecimalNumber) else { return nil }
        // Foundation reports the parsed type: booleans are "c", fractions "d"/"f".
        switch String(cString: number.objCType) {
        case "i", "l", "q", "s", "I", "L", "Q", "S": return number as? Int  // nil beyond Int.max
        default: return nil
        }
    }

    // MARK: Conversion

    /// Elements of `dtype` (F32, F64, F16 or BF16) in little-endian `bytes`, as Float32.
    private static func floats(from bytes: UnsafeRawBufferPointer, dtype: SafetensorsDType) -> [Float] {
        let count = bytes.count / dtype.byteCount
        return [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
            switch dtype {
            case .float32:
                if count > 0 { UnsafeMutableRawBufferPointer(buffer).copyMemory(from: bytes) }
                #if _endian(big)
                    for i in 0..<count { buffer[i] = Float(bitPattern: UInt32(littleEndian: buffer[i].bitPattern)) }
                #endif
            case .float64:
                for i in 0..<count {
                    buffer[i] = Float(Double(bitPattern: UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self))))
                }
            case .float16:
                for i in 0..<count {
                    buffer[i] = floatFromHalf(UInt16(littleEndian: bytes.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)))
                }
            case .bfloat16:
                // bfloat16 is the upper half of a float32.
                for i in 0..<count {
                    buffer[i] = Float(
                        bitPattern: UInt32(UInt16(littleEndian: bytes.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))) << 16)
                }
            default:
                preconditionFailure("floats(from:) called for integer dtype \(dtype.rawValue)")
            }
            initialized = count
        }
    }

    /// Elements of an integer `dtype` in little-endian `bytes`, widened to 64-bit words.
    private static func words(from bytes: UnsafeRawBufferPointer, dtype: SafetensorsDType) -> [UInt64] {
        let size = dtype.byteCount
        let count = bytes.count / size
        return [UInt64](unsafeUninitializedCapacity: count) { buffer, initialized in
            for i in 0..<count {
                var word: UInt64 = 0
                for byte in 0..<size { word |= UInt64(bytes[i * size + byte]) << (8 * byte) }
                if dtype.isSigned && size < 8 && word >> (8 * size - 1) & 1 == 1 {
                    word |= ~0 << (8 * size)  // sign-extend
                }
                buffer[i] = word
            }
            initialized = count
        }
    }

    /// IEEE 754 binary16 to binary32 (exact; written out because `Float16` is unavailable on
    /// some platforms).
    static func floatFromHalf(_ bits: UInt16) -> Float {
        let sign = UInt32(bits >> 15) << 31
        let exponent = UInt32(bits >> 10) & 0x1F
        let mantissa = UInt32(bits) & 0x3FF
        switch exponent {
        case 0:
            // Zero or subnormal: mantissa · 2⁻²⁴.
            let magnitude = Float(mantissa) * Float(sign: .plus, exponent: -24, significand: 1)
            return sign == 0 ? magnitude : -magnitude
        case 0x1F:
            return Float(bitPattern: sign | 0x7F80_0000 | mantissa << 13)  // infinity or NaN
        default:
            return Float(bitPattern: sign | (exponent + 112) << 23 | mantissa << 13)
        }
    }

    private static func appendLittleEndian(_ scalars: [Float], to bytes: inout [UInt8]) {
        #if _endian(little)
            scalars.withUnsafeBytes { bytes += $0 }
        #else
            for scalar in scalars { withUnsafeBytes(of: scalar.bitPattern.littleEndian) { bytes += $0 } }
        #endif
    }

    /// The low `byteCount` bytes of each word, little-endian.
    private static func appendLittleEndian(_ words: [UInt64], byteCount: Int, to bytes: inout [UInt8]) {
        for word in words {
            for byte in 0..<byteCount { bytes.append(UInt8(truncatingIfNeeded: word >> (8 * byte))) }
        }
    }

    // MARK: File access

    /// The whole file at `path`.
    private static func readBytes(path: String) throws -> [UInt8] {
        let file = try OpenFile(path: path)
        defer { file.close() }
        return try file.read(offset: 0, count: file.size)
    }

    /// A file opened for reading, with its size; errors name the path.
    private struct OpenFile {
        let path: String
        let descriptor: Int32
        let size: Int

        init(path: String) throws {
            self.path = path
            descriptor = open(path, O_RDONLY)
            guard descriptor >= 0 else {
                throw CheckpointError(path: path, message: "cannot open: \(String(cString: strerror(errno)))")
            }
            var status = stat()
            guard fstat(descriptor, &status) == 0 else {
                let reason = String(cString: strerror(errno))
                Foundation.close(descriptor)
                throw CheckpointError(path: path, message: "cannot read: \(reason)")
            }
            guard (status.st_mode & S_IFMT) == S_IFREG else {
                Foundation.close(descriptor)
                throw CheckpointError(path: path, message: "not a regular file")
            }
            size = Int(status.st_size)
        }

        /// Exactly `count` bytes from `offset`; throws when the file is shorter or unreadable.
        func read(offset: Int, count: Int) throws -> [UInt8] {
            try [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
                var done = 0
                while done < count {
                    let got = pread(descriptor, buffer.baseAddress! + done, count - done, off_t(offset + done))
                    if got < 0 && errno == EINTR { continue }
                    guard got > 0 else {
                        let reason = got == 0 ? "file shrank while reading" : String(cString: strerror(errno))
                        throw CheckpointError(path: path, message: "cannot read: \(reason)")
                    }
                    done += got
                }
                initialized = count
            }
        }

        func close() { Foundation.close(descriptor) }
    }
}

/// `text` as a JSON string literal, escaped as serde_json (the reference writer) escapes it.
private func jsonString(_ text: String) -> String {
    var result = "\""
    for scalar in text.unicodeScalars {
        switch scalar {
        case "\"": result += "\\\""
        case "\\": result += "\\\\"
        case "\u{08}": result += "\\b"
        case "\u{0C}": result += "\\f"
        case "\n": result += "\\n"
        case "\r": result += "\\r"
        case "\t": result += "\\t"
        case _ where scalar.value < 0x20:
            let hex = String(scalar.value, radix: 16)
            result += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
        default:
            result.unicodeScalars.append(scalar)
        }
    }
    return result + "\""
}
