import AdvTensor
import Foundation
import SwiftProtobuf

/// What goes wrong reading or importing an ONNX model: one line that names the file and the
/// operator, attribute or shape, e.g. `model.onnx: operator Upsample (node 7) is not supported`.
public struct ONNXError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The file as the caller named it.
    public let path: String
    /// What is wrong; never contains a line break.
    public let message: String

    public init(path: String, message: String) {
        self.path = path
        self.message = Self.oneLine(message)
    }

    public var description: String { "\(path): \(message)" }

    /// Control characters (from names inside the file) escaped, so the message stays one line.
    static func oneLine(_ text: String) -> String {
        var result = ""
        for scalar in text.unicodeScalars {
            if scalar.value < 0x20 || scalar.value == 0x7F || scalar == "\u{2028}" || scalar == "\u{2029}" {
                result += scalar.escaped(asASCII: true)
            } else {
                result.unicodeScalars.append(scalar)
            }
        }
        return result
    }
}

/// The ONNX opsets whose operators the importer implements with their semantics in those
/// versions (`ai.onnx` domain). Older sets lack attributes the importer relies on (Dropout's
/// `is_test`, BatchNormalization's `spatial` default); newer ones are unknown to it.
public let supportedONNXOpsets: ClosedRange<Int64> = 7...25

/// A constant tensor of an ONNX graph (an initializer or a `Constant` node): floats for
/// arithmetic and weights, the integers too when the file stored integers (`Reshape` shapes).
struct ONNXConstant {
    var shape: [Int]
    var floats: [Float]
    var integers: [Int64]?

    var count: Int { floats.count }
    var tensor: Tensor { Tensor(shape: shape, scalars: floats) }

    init(shape: [Int], floats: [Float], integers: [Int64]? = nil) {
        self.shape = shape
        self.floats = floats
        self.integers = integers
    }
}

/// Reads and checks the protobuf layer of an ONNX file: the model's structure, opset and
/// tensors. What the graph computes is `ONNXImporter`'s concern.
enum ONNXFile {
    /// The largest tensor (elements) an initializer may declare; the data must be in the file anyway.
    static let maximumElements = 1 << 28

    /// Decodes the bytes of an `.onnx` file. Throws `ONNXError` for anything that is not a
    /// complete ModelProto with a graph.
    static func decode(_ bytes: UnsafeRawBufferPointer, path: String) throws -> Onnx_ModelProto {
        let model: Onnx_ModelProto
        do {
            model = try Onnx_ModelProto(serializedBytes: Data(bytes))
        } catch {
            throw ONNXError(path: path, message: "is not an ONNX model (protobuf decoding failed: \(error))")
        }
        guard model.hasGraph else { throw ONNXError(path: path, message: "is not an ONNX model (it has no graph)") }
        return model
    }

    /// The opset version of the default (`ai.onnx`) domain; throws unless it is in `supportedONNXOpsets`.
    static func opset(of model: Onnx_ModelProto, path: String) throws -> Int64 {
        guard model.irVersion >= 3 else {
            throw ONNXError(path: path, message: "has IR version \(model.irVersion); IR version 3 or later is needed (with opset imports)")
        }
        guard let entry = model.opsetImport.first(where: { $0.domain.isEmpty || $0.domain == "ai.onnx" }) else {
            throw ONNXError(path: path, message: "imports no opset of the default ai.onnx domain")
        }
        guard supportedONNXOpsets.contains(entry.version) else {
            throw ONNXError(
                path: path,
                message: "opset \(entry.version) is not supported "
                    + "(supported: \(supportedONNXOpsets.lowerBound)–\(supportedONNXOpsets.upperBound))")
        }
        return entry.version
    }

    /// A tensor stored in the file (`what` names it in errors, e.g. `initializer conv1.weight`).
    /// FLOAT and DOUBLE become floats, INT32 and INT64 integers (and floats); raw little-endian
    /// data or the typed fields. External data and other types throw.
    static func constant(_ proto: Onnx_TensorProto, what: String, path: String) throws -> ONNXConstant {
        func fail(_ reason: String) -> ONNXError { ONNXError(path: path, message: "\(what) \(reason)") }
        if proto.dataLocation == .external || !proto.externalData.isEmpty {
            throw fail(
                "keeps its data in an external file; external data is not supported "
                    + "(export the model as one file, e.g. torch.onnx.export(..., external_data=False))")
        }
        if proto.hasSegment { throw fail("is a segment of a tensor; segmented tensors are not supported") }
        var shape: [Int] = []
        var count = 1
        for dim in proto.dims {
            guard dim >= 0, dim <= Int64(maximumElements) else { throw fail("has dimension \(dim)") }
            let (product, overflow) = count.multipliedReportingOverflow(by: Int(dim))
            guard !overflow, product <= maximumElements else {
                throw fail("has more than \(maximumElements) elements (shape \(proto.dims))")
            }
            count = product
            shape.append(Int(dim))
        }
        let raw = proto.hasRawData ? proto.rawData : nil
        // Little-endian scalars of `raw`, as the format stores them.
        func load<T: FixedWidthInteger>(_ bytes: UnsafeRawBufferPointer, _ offset: Int, as type: T.Type) -> T {
            T(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: T.self))
        }
        func rawValues<T>(_ size: Int, _ decode: (UnsafeRawBufferPointer, Int) -> T) throws -> [T]? {
            guard let raw else { return nil }
            guard raw.count == count * size else { throw fail("has \(raw.count) bytes of raw data, shape \(shape) needs \(count * size)") }
            return raw.withUnsafeBytes { bytes in (0..<count).map { decode(bytes, $0 * size) } }
        }
        func checked<T>(_ values: [T], _ field: String) throws -> [T] {
            guard values.count == count else { throw fail("has \(values.count) values in \(field), shape \(shape) needs \(count)") }
            return values
        }
        switch Onnx_TensorProto.DataType(rawValue: Int(proto.dataType)) {
        case .float?:
            let floats =
                try rawValues(4) { bytes, offset in Float(bitPattern: load(bytes, offset, as: UInt32.self)) }
                ?? checked(proto.floatData, "float_data")
            return ONNXConstant(shape: shape, floats: floats)
        case .double?:
            let doubles =
                try rawValues(8) { bytes, offset in Double(bitPattern: load(bytes, offset, as: UInt64.self)) }
                ?? checked(proto.doubleData, "double_data")
            return ONNXConstant(shape: shape, floats: doubles.map { Float($0) })
        case .int64?:
            let integers =
                try rawValues(8) { bytes, offset in load(bytes, offset, as: Int64.self) }
                ?? checked(proto.int64Data, "int64_data")
            return ONNXConstant(shape: shape, floats: integers.map { Float($0) }, integers: integers)
        case .int32?:
            let integers =
                try rawValues(4) { bytes, offset in Int64(load(bytes, offset, as: Int32.self)) }
                ?? checked(proto.int32Data, "int32_data").map { Int64($0) }
            return ONNXConstant(shape: shape, floats: integers.map { Float($0) }, integers: integers)
        case let type?:
            throw fail("has data type \(type) (\(proto.dataType)); only float, double, int32 and int64 tensors are supported")
        case nil:
            throw fail("has unknown data type \(proto.dataType)")
        }
    }
}
