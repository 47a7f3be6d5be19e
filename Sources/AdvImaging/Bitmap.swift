import AdvTensor

/// An 8-bit sRGB colour. Gray levels are colours with `red == green == blue`.
public struct RGBColor: Equatable, Hashable, Sendable, CustomStringConvertible {
    public var red: UInt8
    public var green: UInt8
    public var blue: UInt8

    public init(red: UInt8, green: UInt8, blue: UInt8) {
        self.red = red
        self.green = green
        self.blue = blue
    }

    /// The gray colour of `level` (0 black … 255 white).
    public init(gray level: UInt8) { self.init(red: level, green: level, blue: level) }

    /// A colour from `0xRRGGBB`.
    public init(hex: UInt32) {
        self.init(red: UInt8((hex >> 16) & 0xFF), green: UInt8((hex >> 8) & 0xFF), blue: UInt8(hex & 0xFF))
    }

    public static let black = RGBColor(gray: 0)
    public static let white = RGBColor(gray: 255)
    public static let lightGray = RGBColor(gray: 200)
    public static let darkGray = RGBColor(gray: 90)
    public static let red = RGBColor(hex: 0xD62728)
    public static let green = RGBColor(hex: 0x2CA02C)
    public static let blue = RGBColor(hex: 0x1F77B4)
    public static let orange = RGBColor(hex: 0xFF7F0E)

    /// Whether all three channels are equal.
    public var isGray: Bool { red == green && green == blue }

    /// Rec. 601 luma in 0…255 (the usual weights for 8-bit sRGB → gray).
    public var luminance: UInt8 {
        let luma = (299 * Int(red) + 587 * Int(green) + 114 * Int(blue) + 500) / 1000
        return UInt8(min(255, luma))
    }

    /// `#rrggbb`, as used in SVG and HTML.
    public var hexString: String {
        let digits = Array("0123456789abcdef")
        var text = "#"
        for channel in [red, green, blue] {
            text.append(digits[Int(channel >> 4)])
            text.append(digits[Int(channel & 0xF)])
        }
        return text
    }

    public var description: String { hexString }
}

/// An 8-bit raster image: row-major, top row first, channels interleaved.
///
/// `channels` is 1 (gray) or 3 (RGB); `pixels.count == width · height · channels`.
/// Drawing operations clip to the bitmap, so callers may draw partly (or wholly) outside it.
public struct Bitmap: Equatable, Sendable {
    public let width: Int
    public let height: Int
    /// 1 for gray, 3 for RGB.
    public let channels: Int
    /// `height` rows of `width · channels` bytes.
    public var pixels: [UInt8]

    /// A bitmap over existing pixel bytes. Preconditions: `channels` is 1 or 3, sizes are
    /// non-negative and `pixels.count == width · height · channels`.
    public init(width: Int, height: Int, channels: Int, pixels: [UInt8]) {
        precondition(channels == 1 || channels == 3, "Bitmap channels must be 1 or 3, got \(channels)")
        precondition(width >= 0 && height >= 0, "negative Bitmap size \(width)×\(height)")
        precondition(
            pixels.count == width * height * channels,
            "Bitmap \(width)×\(height)×\(channels) needs \(width * height * channels) bytes, got \(pixels.count)")
        self.width = width
        self.height = height
        self.channels = channels
        self.pixels = pixels
    }

    /// A `width × height` bitmap filled with `color`; gray when `channels == 1` (then the
    /// colour's luminance is used).
    public init(width: Int, height: Int, channels: Int, color: RGBColor) {
        precondition(channels == 1 || channels == 3, "Bitmap channels must be 1 or 3, got \(channels)")
        let size = max(0, width) * max(0, height)
        let pixels: [UInt8]
        if channels == 1 {
            pixels = [UInt8](repeating: color.luminance, count: size)
        } else {
            pixels = [UInt8](unsafeUninitializedCapacity: size * 3) { buffer, initialized in
                for i in 0..<size {
                    buffer[3 * i] = color.red
                    buffer[3 * i + 1] = color.green
                    buffer[3 * i + 2] = color.blue
                }
                initialized = size * 3
            }
        }
        self.init(width: max(0, width), height: max(0, height), channels: channels, pixels: pixels)
    }

    /// The image held in a tensor of pixel values in [0, 1] (`images01`), mapped to bytes by
    /// `round(255 · clamp(v, 0, 1))`; NaN becomes 0.
    ///
    /// Accepted shapes (leading 1s are ignored): `[H, W]` and `[1, H, W]` give a gray bitmap,
    /// `[3, H, W]` an RGB one — so one example of an `[N, C, H, W]` batch, `images.slice(i..<i+1)`,
    /// can be passed directly. Any other shape is a programming error (precondition).
    public init(image01 tensor: Tensor) {
        // Drop leading 1s down to rank 3 ([C, H, W]); a rank-2 tensor is [H, W].
        var dimensions = tensor.shape
        while dimensions.count > 3, dimensions[0] == 1 { dimensions.removeFirst() }
        if dimensions.count == 2 { dimensions.insert(1, at: 0) }
        precondition(
            dimensions.count == 3 && (dimensions[0] == 1 || dimensions[0] == 3),
            "Bitmap(image01:) needs [H, W], [1, H, W] or [3, H, W] (leading 1s allowed), got \(tensor.shape)")
        let channels = dimensions[0]
        let height = dimensions[1]
        let width = dimensions[2]
        let planeSize = height * width
        var pixels = [UInt8](repeating: 0, count: planeSize * channels)
        tensor.scalars.withUnsafeBufferPointer { planes in
            for channel in 0..<channels {
                for index in 0..<planeSize {
                    // Planar CHW in, interleaved HWC out.
                    pixels[index * channels + channel] = Bitmap.byte(fromUnit: planes[channel * planeSize + index])
                }
            }
        }
        self.init(width: width, height: height, channels: channels, pixels: pixels)
    }

    /// `round(255 · clamp(value, 0, 1))`, with NaN mapped to 0.
    @inlinable
    public static func byte(fromUnit value: Float) -> UInt8 {
        guard value == value else { return 0 }
        return UInt8((min(max(value, 0), 1) * 255).rounded())
    }

    /// The pixels as a `[C, H, W]` tensor in [0, 1] (byte / 255), C = `channels`.
    public func tensor01() -> Tensor {
        let planeSize = width * height
        return Tensor(shape: [channels, height, width]) { out in
            for index in 0..<planeSize {
                for channel in 0..<channels {
                    out[channel * planeSize + index] = Float(pixels[index * channels + channel]) / 255
                }
            }
        }
    }

    /// The colour at column `x`, row `y` (gray bitmaps give gray colours). Precondition: in bounds.
    public func color(x: Int, y: Int) -> RGBColor {
        precondition(x >= 0 && x < width && y >= 0 && y < height, "pixel (\(x), \(y)) outside \(width)×\(height)")
        let offset = (y * width + x) * channels
        if channels == 1 { return RGBColor(gray: pixels[offset]) }
        return RGBColor(red: pixels[offset], green: pixels[offset + 1], blue: pixels[offset + 2])
    }

    /// Sets the pixel at column `x`, row `y`; ignored outside the bitmap. A gray bitmap stores
    /// the colour's luminance.
    public mutating func setColor(_ color: RGBColor, x: Int, y: Int) {
        guard x >= 0 && x < width && y >= 0 && y < height else { return }
        let offset = (y * width + x) * channels
        if channels == 1 {
            pixels[offset] = color.luminance
        } else {
            pixels[offset] = color.red
            pixels[offset + 1] = color.green
            pixels[offset + 2] = color.blue
        }
    }

    /// Fills the whole bitmap with `color`.
    public mutating func fill(_ color: RGBColor) {
        fillRectangle(x: 0, y: 0, width: width, height: height, color: color)
    }

    /// Fills the rectangle with top-left corner (`x`, `y`) and the given size, clipped to the bitmap.
    public mutating func fillRectangle(x: Int, y: Int, width rectangleWidth: Int, height rectangleHeight: Int, color: RGBColor) {
        let left = max(0, x)
        let right = min(width, x + rectangleWidth)
        let top = max(0, y)
        let bottom = min(height, y + rectangleHeight)
        guard left < right && top < bottom else { return }
        let gray = color.luminance
        pixels.withUnsafeMutableBufferPointer { buffer in
            for row in top..<bottom {
                for column in left..<right {
                    let offset = (row * width + column) * channels
                    if channels == 1 {
                        buffer[offset] = gray
                    } else {
                        buffer[offset] = color.red
                        buffer[offset + 1] = color.green
                        buffer[offset + 2] = color.blue
                    }
                }
            }
        }
    }

    /// Draws the outline of a rectangle `thickness` pixels wide, inside the given bounds, clipped.
    public mutating func strokeRectangle(
        x: Int, y: Int, width rectangleWidth: Int, height rectangleHeight: Int,
        thickness: Int = 1, color: RGBColor
    ) {
        let line = max(1, min(thickness, (min(rectangleWidth, rectangleHeight) + 1) / 2))
        fillRectangle(x: x, y: y, width: rectangleWidth, height: line, color: color)
        fillRectangle(x: x, y: y + rectangleHeight - line, width: rectangleWidth, height: line, color: color)
        fillRectangle(x: x, y: y, width: line, height: rectangleHeight, color: color)
        fillRectangle(x: x + rectangleWidth - line, y: y, width: line, height: rectangleHeight, color: color)
    }

    /// Copies `source` with its top-left corner at (`x`, `y`), clipped to this bitmap. Gray
    /// sources drawn on RGB bitmaps are replicated into the three channels; RGB sources drawn
    /// on gray bitmaps are converted to their luminance.
    public mutating func blit(_ source: Bitmap, x: Int, y: Int) {
        let left = max(0, x)
        let right = min(width, x + source.width)
        let top = max(0, y)
        let bottom = min(height, y + source.height)
        guard left < right && top < bottom else { return }
        let destinationChannels = channels
        let destinationWidth = width
        pixels.withUnsafeMutableBufferPointer { destination in
            source.pixels.withUnsafeBufferPointer { sourcePixels in
                for row in top..<bottom {
                    let sourceRow = row - y
                    for column in left..<right {
                        let sourceOffset = (sourceRow * source.width + (column - x)) * source.channels
                        let offset = (row * destinationWidth + column) * destinationChannels
                        switch (source.channels, destinationChannels) {
                        case (1, 1):
                            destination[offset] = sourcePixels[sourceOffset]
                        case (1, _):
                            let level = sourcePixels[sourceOffset]
                            destination[offset] = level
                            destination[offset + 1] = level
                            destination[offset + 2] = level
                        case (_, 1):
                            destination[offset] =
                                RGBColor(
                                    red: sourcePixels[sourceOffset],
                                    green: sourcePixels[sourceOffset + 1],
                                    blue: sourcePixels[sourceOffset + 2]
                                ).luminance
                        default:
                            destination[offset] = sourcePixels[sourceOffset]
                            destination[offset + 1] = sourcePixels[sourceOffset + 1]
                            destination[offset + 2] = sourcePixels[sourceOffset + 2]
                        }
                    }
                }
            }
        }
    }

    /// This bitmap enlarged `factor` times in both directions by pixel repetition (nearest
    /// neighbour), so each source pixel becomes a `factor × factor` block. Precondition: `factor ≥ 1`.
    public func upscaled(by factor: Int) -> Bitmap {
        precondition(factor >= 1, "upscale factor must be ≥ 1, got \(factor)")
        if factor == 1 { return self }
        let newWidth = width * factor
        let newHeight = height * factor
        var result = [UInt8](repeating: 0, count: newWidth * newHeight * channels)
        let rowBytes = newWidth * channels
        result.withUnsafeMutableBufferPointer { out in
            pixels.withUnsafeBufferPointer { source in
                for row in 0..<height {
                    let firstOutputRow = row * factor * rowBytes
                    for column in 0..<width {
                        for repeatColumn in 0..<factor {
                            for channel in 0..<channels {
                                out[firstOutputRow + (column * factor + repeatColumn) * channels + channel] =
                                    source[(row * width + column) * channels + channel]
                            }
                        }
                    }
                    // The other factor − 1 rows repeat the first one.
                    for repeatRow in 1..<factor {
                        for byte in 0..<rowBytes { out[firstOutputRow + repeatRow * rowBytes + byte] = out[firstOutputRow + byte] }
                    }
                }
            }
        }
        return Bitmap(width: newWidth, height: newHeight, channels: channels, pixels: result)
    }

    /// The same image with three channels (gray levels replicated); an RGB bitmap is returned as is.
    public func rgb() -> Bitmap {
        if channels == 3 { return self }
        var result = [UInt8](repeating: 0, count: pixels.count * 3)
        for (index, level) in pixels.enumerated() {
            result[3 * index] = level
            result[3 * index + 1] = level
            result[3 * index + 2] = level
        }
        return Bitmap(width: width, height: height, channels: 3, pixels: result)
    }

    /// The same image with one channel (RGB converted to luminance); a gray bitmap is returned as is.
    public func gray() -> Bitmap {
        if channels == 1 { return self }
        var result = [UInt8](repeating: 0, count: width * height)
        for index in result.indices {
            result[index] = RGBColor(red: pixels[3 * index], green: pixels[3 * index + 1], blue: pixels[3 * index + 2]).luminance
        }
        return Bitmap(width: width, height: height, channels: 1, pixels: result)
    }

    /// Whether every pixel is gray (always true for one channel).
    public var isGrayContent: Bool {
        if channels == 1 { return true }
        var index = 0
        while index < pixels.count {
            if pixels[index] != pixels[index + 1] || pixels[index] != pixels[index + 2] { return false }
            index += 3
        }
        return true
    }
}
