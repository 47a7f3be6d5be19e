import AdvTensor
import Foundation

/// NumPy's `.npy` format (version 1.0, little-endian float32, C order), so adversarial images
/// can be reused from Python: `numpy.load("adversarial.npy")`.
public enum NPY {
    /// The bytes of `tensor` as an `.npy` file.
    public static func encode(_ tensor: Tensor) -> [UInt8] {
        let shape = tensor.shape.map(String.init).joined(separator: ", ") + (tensor.rank == 1 ? "," : "")
        var header = "{'descr': '<f4', 'fortran_order': False, 'shape': (\(shape)), }"
        // magic (6) + version (2) + header length (2) + header, padded with spaces to a multiple of 64, ending in \n.
        let unpadded = 10 + header.utf8.count + 1
        header += String(repeating: " ", count: (64 - unpadded % 64) % 64) + "\n"
        var bytes: [UInt8] = [0x93] + Array("NUMPY".utf8) + [1, 0]
        let length = UInt16(header.utf8.count)
        bytes += [UInt8(length & 0xFF), UInt8(length >> 8)]
        bytes += Array(header.utf8)
        bytes.reserveCapacity(bytes.count + tensor.count * 4)
        for value in tensor.scalars {
            let bits = value.bitPattern.littleEndian
            bytes += [UInt8(bits & 0xFF), UInt8((bits >> 8) & 0xFF), UInt8((bits >> 16) & 0xFF), UInt8(bits >> 24)]
        }
        return bytes
    }

    /// Writes `tensor` to `path` atomically.
    public static func write(_ tensor: Tensor, to path: String) throws {
        try AtomicFile.write(encode(tensor), to: path)
    }

    /// Reads a version 1.0/2.0 little-endian float32 C-order `.npy` file; throws `DataError`
    /// naming the file for anything else.
    public static func read(_ path: String) throws -> Tensor {
        let bytes = try FileBytes.read(path)
        let name = (path as NSString).lastPathComponent
        func fail(_ reason: String) -> DataError { .unreadable(file: name, reason: reason) }
        guard bytes.count >= 10, bytes[0] == 0x93, Array(bytes[1..<6]) == Array("NUMPY".utf8) else {
            throw fail("not an .npy file (bad magic)")
        }
        let major = bytes[6]
        let headerStart = major == 1 ? 10 : 12
        guard major == 1 || major == 2, bytes.count >= headerStart else { throw fail("unsupported .npy version \(major)") }
        let headerLength =
            major == 1
            ? Int(bytes[8]) | Int(bytes[9]) << 8
            : Int(bytes[8]) | Int(bytes[9]) << 8 | Int(bytes[10]) << 16 | Int(bytes[11]) << 24
        guard headerStart + headerLength <= bytes.count,
            let header = String(bytes: bytes[headerStart..<(headerStart + headerLength)], encoding: .ascii)
        else { throw fail("header runs past the end") }
        guard header.contains("'descr': '<f4'") else { throw fail("dtype is not little-endian float32 ('<f4')") }
        guard header.contains("'fortran_order': False") else { throw fail("Fortran order is not supported") }
        guard let open = header.range(of: "'shape': ("), let close = header[open.upperBound...].firstIndex(of: ")") else {
            throw fail("no shape in header")
        }
        let dims = header[open.upperBound..<close].split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter {
            !$0.isEmpty
        }
        var shape: [Int] = []
        var count = 1
        for dim in dims {
            guard let value = Int(dim), value >= 0 else { throw fail("bad shape entry \(dim)") }
            let (product, overflow) = count.multipliedReportingOverflow(by: value)
            guard !overflow, product <= 1 << 31 else { throw fail("shape too large") }
            count = product
            shape.append(value)
        }
        let dataStart = headerStart + headerLength
        guard bytes.count - dataStart == count * 4 else {
            throw fail("data has \(bytes.count - dataStart) bytes, shape needs \(count * 4)")
        }
        var scalars = [Float](repeating: 0, count: count)
        for i in 0..<count {
            let o = dataStart + 4 * i
            scalars[i] = Float(
                bitPattern: UInt32(bytes[o]) | UInt32(bytes[o + 1]) << 8 | UInt32(bytes[o + 2]) << 16 | UInt32(bytes[o + 3]) << 24)
        }
        return Tensor(shape: shape, scalars: scalars)
    }
}
