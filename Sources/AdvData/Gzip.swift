import CZlib

/// gzip with zlib (RFC 1952 framing, so headers and the CRC-32 trailer are checked on reading).
public enum Gzip {
    /// Whether `bytes` start with the gzip magic `1f 8b`.
    public static func isCompressed(_ bytes: [UInt8]) -> Bool {
        bytes.count >= 2 && bytes[0] == 0x1F && bytes[1] == 0x8B
    }

    /// The contents of the file at `path`, decompressed when they start with the gzip magic
    /// `1f 8b` and returned as they are otherwise (so both `name.gz` and an already unpacked
    /// `name` work). Throws `DataError` naming `path`: `.unreadable`, `.gzipTruncated`,
    /// `.gzipCorrupt`.
    public static func readFile(_ path: String) throws -> [UInt8] {
        let bytes = try FileBytes.read(path)
        return isCompressed(bytes) ? try decompress(bytes, file: path) : bytes
    }

    /// Decompresses a complete gzip file (one or more members, as `gzip` writes when files are
    /// concatenated). `file` only names the source in errors.
    ///
    /// Throws `DataError.gzipTruncated` when the data stops before a member's end marker and
    /// `.gzipCorrupt` for bad headers, bad deflate data, a CRC/length mismatch, or bytes after
    /// the last member that are not another gzip member.
    public static func decompress(_ compressed: [UInt8], file: String) throws -> [UInt8] {
        var stream = z_stream()
        // 16 + MAX_WBITS: expect gzip framing (not raw deflate or a zlib header).
        guard inflateInit2_(&stream, 16 + MAX_WBITS, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw DataError.gzipCorrupt(file: file, reason: "zlib could not start (out of memory?)")
        }
        defer { inflateEnd(&stream) }

        var output = [UInt8](repeating: 0, count: initialCapacity(for: compressed))
        var produced = 0

        try compressed.withUnsafeBufferPointer { input in
            guard let inputBase = input.baseAddress, !input.isEmpty else {
                throw DataError.gzipTruncated(file: file)
            }
            stream.next_in = UnsafeMutablePointer(mutating: inputBase)
            stream.avail_in = 0
            var consumed = 0
            while true {
                // Feed input in pieces of at most UInt32.max bytes (zlib's counters are 32-bit).
                if stream.avail_in == 0 && consumed < input.count {
                    let piece = min(input.count - consumed, Int(UInt32.max))
                    stream.next_in = UnsafeMutablePointer(mutating: inputBase + consumed)
                    stream.avail_in = UInt32(piece)
                    consumed += piece
                }
                if produced == output.count {
                    output.append(contentsOf: repeatElement(0, count: max(output.count, 1 << 16)))
                }
                let status: Int32 = output.withUnsafeMutableBufferPointer { out in
                    let room = min(out.count - produced, Int(UInt32.max))
                    stream.next_out = out.baseAddress! + produced
                    stream.avail_out = UInt32(room)
                    let status = inflate(&stream, Z_NO_FLUSH)
                    produced += room - Int(stream.avail_out)
                    return status
                }
                let inputLeft = Int(stream.avail_in) + (input.count - consumed)
                switch status {
                case Z_STREAM_END:
                    guard inputLeft > 0 else { return }
                    // Another member follows only if it starts with the gzip magic.
                    let next = input.count - inputLeft
                    guard inputLeft >= 2, input[next] == 0x1F, input[next + 1] == 0x8B else {
                        throw DataError.gzipCorrupt(file: file, reason: "\(inputLeft) bytes of trailing data after the gzip stream")
                    }
                    guard inflateReset(&stream) == Z_OK else {
                        throw DataError.gzipCorrupt(file: file, reason: "zlib could not restart for the next member")
                    }
                case Z_OK:
                    continue
                case Z_BUF_ERROR:
                    // No progress possible: either the output is full (grow it and go on) or
                    // the input ran out before the end marker.
                    if inputLeft == 0 { throw DataError.gzipTruncated(file: file) }
                case Z_MEM_ERROR:
                    throw DataError.gzipCorrupt(file: file, reason: "zlib ran out of memory")
                default:
                    let reason = stream.msg.map { String(cString: $0) } ?? "zlib error \(status)"
                    throw DataError.gzipCorrupt(file: file, reason: reason)
                }
            }
        }
        output.removeLast(output.count - produced)
        return output
    }

    /// A first guess at the decompressed size: the gzip trailer's ISIZE (the length modulo
    /// 2³²), bounded by deflate's largest possible ratio (about 1032:1) so that a damaged
    /// trailer cannot ask for absurd memory.
    /// `bytes` as one gzip member, deflated by zlib at `level` (0–9). The lab reads gzip, it does
    /// not ship it: this writer makes the tests' and the fuzzer's compressed inputs, through
    /// zlib's deflate rather than anything `decompress` shares.
    public static func compress(_ bytes: [UInt8], level: Int32 = Z_BEST_SPEED) throws -> [UInt8] {
        var stream = z_stream()
        // 16 + MAX_WBITS: gzip framing; memory level 8 is zlib's default.
        guard
            deflateInit2_(
                &stream, level, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY,
                ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK
        else {
            throw DataError.gzipCorrupt(file: "(compressing)", reason: "zlib could not start deflate at level \(level)")
        }
        defer { deflateEnd(&stream) }
        var input = bytes
        var output = [UInt8](repeating: 0, count: Int(deflateBound(&stream, UInt(bytes.count))) + 64)
        let status = input.withUnsafeMutableBufferPointer { source in
            output.withUnsafeMutableBufferPointer { target in
                stream.next_in = source.baseAddress
                stream.avail_in = UInt32(source.count)
                stream.next_out = target.baseAddress
                stream.avail_out = UInt32(target.count)
                return deflate(&stream, Z_FINISH)
            }
        }
        guard status == Z_STREAM_END else {
            throw DataError.gzipCorrupt(file: "(compressing)", reason: "deflate returned \(status) instead of the stream end")
        }
        return Array(output.prefix(Int(stream.total_out)))
    }

    private static func initialCapacity(for compressed: [UInt8]) -> Int {
        guard compressed.count >= 18 else { return 1 << 16 }
        let tail = compressed.suffix(4).map(Int.init)
        let trailerSize = tail[0] | tail[1] << 8 | tail[2] << 16 | tail[3] << 24
        let bound = compressed.count * 1032 + (1 << 16)
        return max(1 << 16, min(trailerSize, bound))
    }
}
