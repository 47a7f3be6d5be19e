import AdvTensor
import CPNG
import Foundation

/// PNG encoding and decoding through libpng's simplified API (`png_image`).
///
/// The simplified API reports failures in `png_image.warning_or_error` and `message` instead
/// of `longjmp`ing out of the caller, which Swift could not survive; so every libpng failure
/// here becomes an `ImagingError` naming the file.
public enum PNG {
    /// The eight bytes every PNG file starts with.
    public static let signature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]

    /// Largest image accepted when decoding (width · height), so a corrupt header cannot make
    /// the reader allocate gigabytes: 2^28 pixels, e.g. 16384 × 16384.
    public static let maximumPixelCount = 1 << 28

    // MARK: Writing

    /// The PNG file bytes of `bitmap`: 8-bit gray for one channel, 8-bit RGB for three.
    /// `name` only labels errors. Throws `ImagingError` when libpng refuses the image
    /// (e.g. a zero-sized bitmap).
    public static func encode(_ bitmap: Bitmap, name: String = "<memory>") throws -> [UInt8] {
        guard bitmap.width > 0 && bitmap.height > 0 else {
            throw ImagingError(path: name, operation: "write", reason: "image is empty (\(bitmap.width)×\(bitmap.height))")
        }
        var image = png_image()
        image.version = png_uint_32(PNG_IMAGE_VERSION)
        image.width = png_uint_32(bitmap.width)
        image.height = png_uint_32(bitmap.height)
        image.format = bitmap.channels == 1 ? png_uint_32(PNG_FORMAT_GRAY) : png_uint_32(PNG_FORMAT_RGB)
        let rowStride = png_int_32(bitmap.width * bitmap.channels)

        return try bitmap.pixels.withUnsafeBytes { pixels -> [UInt8] in
            // First pass measures the compressed size, second pass writes into a buffer of that size.
            var byteCount: png_alloc_size_t = 0
            guard png_image_write_to_memory(&image, nil, &byteCount, 0, pixels.baseAddress, rowStride, nil) != 0,
                byteCount > 0
            else {
                throw ImagingError(
                    path: name, operation: "write", reason: message(of: &image, fallback: "libpng could not encode the image"))
            }
            var bytes = [UInt8](repeating: 0, count: Int(byteCount))
            let succeeded = bytes.withUnsafeMutableBytes { output in
                png_image_write_to_memory(&image, output.baseAddress, &byteCount, 0, pixels.baseAddress, rowStride, nil)
            }
            guard succeeded != 0 else {
                throw ImagingError(
                    path: name, operation: "write", reason: message(of: &image, fallback: "libpng could not encode the image"))
            }
            bytes.removeSubrange(Int(byteCount)...)
            return bytes
        }
    }

    /// Writes `bitmap` to `path` as a PNG, atomically (temporary file, fsync, rename), so a
    /// reader never sees a half-written figure. Throws `ImagingError` when encoding fails and
    /// `FileWriteError` (naming `path`) when the file cannot be written; on either error the
    /// file at `path` is unchanged.
    public static func write(_ bitmap: Bitmap, to path: String) throws {
        let bytes = try encode(bitmap, name: path)
        try AtomicFile.write(bytes, to: path)
    }

    // MARK: Reading

    /// Decodes PNG file bytes into an 8-bit bitmap. Every PNG colour type and depth is
    /// accepted: gray, gray+alpha and gray palettes become one channel; RGB, RGBA and colour
    /// palettes become three. 16-bit samples are taken as sRGB-encoded and scaled to 8 bits;
    /// alpha is removed by compositing onto white. `name` labels errors.
    ///
    /// Throws `ImagingError` naming `name` for a wrong signature, a truncated or corrupt
    /// stream (libpng's message), or an image larger than `maximumPixelCount`.
    public static func decode(_ bytes: [UInt8], name: String = "<memory>") throws -> Bitmap {
        guard bytes.count >= signature.count, Array(bytes.prefix(signature.count)) == signature else {
            throw ImagingError(
                path: name, operation: "read",
                reason: bytes.isEmpty ? "file is empty" : "not a PNG file (signature mismatch)")
        }
        var image = png_image()
        image.version = png_uint_32(PNG_IMAGE_VERSION)
        defer { png_image_free(&image) }

        let began = bytes.withUnsafeBytes { memory in
            png_image_begin_read_from_memory(&image, memory.baseAddress, memory.count)
        }
        guard began != 0 else {
            throw ImagingError(path: name, operation: "read", reason: message(of: &image, fallback: "unreadable PNG header"))
        }
        let width = Int(image.width)
        let height = Int(image.height)
        guard width > 0, height > 0, width <= maximumPixelCount / height else {
            throw ImagingError(
                path: name, operation: "read",
                reason: "image size \(width)×\(height) exceeds the limit of \(maximumPixelCount) pixels")
        }
        let isColor = (image.format & png_uint_32(PNG_FORMAT_FLAG_COLOR)) != 0
        let channels = isColor ? 3 : 1
        image.format = isColor ? png_uint_32(PNG_FORMAT_RGB) : png_uint_32(PNG_FORMAT_GRAY)
        // Without this flag libpng treats 16-bit data as linear light and gamma-encodes it,
        // which would change the gray levels of an ordinary 16-bit scan.
        image.flags |= png_uint_32(PNG_IMAGE_FLAG_16BIT_sRGB)

        var pixels = [UInt8](repeating: 255, count: width * height * channels)
        var white = png_color(red: 255, green: 255, blue: 255)
        let finished = pixels.withUnsafeMutableBytes { output in
            bytes.withUnsafeBytes { _ in
                // `bytes` must stay alive until finish_read: libpng reads from it lazily.
                png_image_finish_read(&image, &white, output.baseAddress, png_int_32(width * channels), nil)
            }
        }
        guard finished != 0 else {
            throw ImagingError(path: name, operation: "read", reason: message(of: &image, fallback: "corrupt PNG data"))
        }
        return Bitmap(width: width, height: height, channels: channels, pixels: pixels)
    }

    /// Reads the PNG file at `path` (see `decode(_:name:)` for the conversions). Throws
    /// `ImagingError` naming `path` when the file cannot be opened or read, or is not a valid PNG.
    public static func read(from path: String) throws -> Bitmap {
        try decode(readFileBytes(path), name: path)
    }

    // MARK: Helpers

    /// libpng's message from a failed simplified-API call, or `fallback` when it left none.
    private static func message(of image: inout png_image, fallback: String) -> String {
        let text = withUnsafeBytes(of: &image.message) { raw -> String in
            let bytes = raw.prefix { $0 != 0 }
            return String(decoding: bytes, as: UTF8.self)
        }
        return text.isEmpty ? fallback : "\(text) (libpng)"
    }

    /// The whole content of the file at `path`; throws `ImagingError` with the system's reason.
    private static func readFileBytes(_ path: String) throws -> [UInt8] {
        let descriptor = open(path, O_RDONLY)
        guard descriptor >= 0 else {
            throw ImagingError(path: path, operation: "read", reason: String(cString: strerror(errno)))
        }
        defer { close(descriptor) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let count = chunk.withUnsafeMutableBytes { Foundation.read(descriptor, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw ImagingError(path: path, operation: "read", reason: String(cString: strerror(errno)))
            }
            if count == 0 { break }
            bytes.append(contentsOf: chunk[0..<count])
        }
        return bytes
    }
}

extension Bitmap {
    /// Writes this bitmap as a PNG file at `path`, atomically; see `PNG.write(_:to:)`.
    public func writePNG(to path: String) throws {
        try PNG.write(self, to: path)
    }

    /// Reads the PNG file at `path`; see `PNG.read(from:)`.
    public init(pngAt path: String) throws {
        self = try PNG.read(from: path)
    }
}
