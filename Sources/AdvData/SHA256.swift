import COpenSSL

/// SHA-256 through OpenSSL's EVP interface.
public enum SHA256 {
    /// The SHA-256 of `bytes` as 64 lowercase hex digits (the form `sha256sum` prints).
    /// Throws `DataError.digestFailed` only if OpenSSL cannot allocate or run the digest.
    public static func hexDigest(_ bytes: [UInt8]) throws -> String {
        try bytes.withUnsafeBytes { try hexDigest($0) }
    }

    /// The SHA-256 of the bytes in `buffer` as 64 lowercase hex digits.
    public static func hexDigest(_ buffer: UnsafeRawBufferPointer) throws -> String {
        guard let context = EVP_MD_CTX_new() else { throw DataError.digestFailed(step: "EVP_MD_CTX_new") }
        defer { EVP_MD_CTX_free(context) }
        guard EVP_DigestInit_ex(context, EVP_sha256(), nil) == 1 else {
            throw DataError.digestFailed(step: "EVP_DigestInit_ex")
        }
        if let base = buffer.baseAddress, buffer.count > 0 {
            guard EVP_DigestUpdate(context, base, buffer.count) == 1 else {
                throw DataError.digestFailed(step: "EVP_DigestUpdate")
            }
        }
        var digest = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        guard EVP_DigestFinal_ex(context, &digest, &length) == 1 else {
            throw DataError.digestFailed(step: "EVP_DigestFinal_ex")
        }
        return hex(digest.prefix(Int(length)))
    }

    /// The SHA-256 of the UTF-8 bytes of `text`.
    public static func hexDigest(_ text: String) throws -> String {
        try hexDigest(Array(text.utf8))
    }

    private static func hex(_ bytes: ArraySlice<UInt8>) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var characters = [UInt8]()
        characters.reserveCapacity(bytes.count * 2)
        for byte in bytes {
            characters.append(digits[Int(byte >> 4)])
            characters.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: characters, as: UTF8.self)
    }
}
