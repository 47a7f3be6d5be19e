/// Colour maps from a number to an RGB colour, interpolated linearly between anchor colours.
///
/// - `viridis`: perceptually uniform, dark purple (low) → yellow (high); for magnitudes such
///   as distances. Anchors are matplotlib's viridis at 0, 0.1, …, 1.
/// - `redBlue`: diverging, for signed quantities such as perturbations δ: negative → blue,
///   zero → white, positive → red. Anchors follow ColorBrewer's RdBu (reversed), with the
///   midpoint pure white.
/// - `gray`: black → white.
public struct Colormap: Sendable, Equatable {
    /// Anchor colours, evenly spaced over [0, 1]; at least two.
    public let anchors: [RGBColor]
    /// A short name for legends and metadata.
    public let name: String

    /// A colour map through `anchors`, evenly spaced over [0, 1]. Precondition: two or more anchors.
    public init(name: String, anchors: [RGBColor]) {
        precondition(anchors.count >= 2, "a colormap needs at least two anchors")
        self.name = name
        self.anchors = anchors
    }

    public static let viridis = Colormap(
        name: "viridis",
        anchors: [
            0x440154, 0x482475, 0x414487, 0x355F8D, 0x2A788E, 0x21918C,
            0x22A884, 0x44BF70, 0x7AD151, 0xBDDF26, 0xFDE725,
        ].map { RGBColor(hex: $0) })

    public static let redBlue = Colormap(
        name: "RdBu",
        anchors: [
            0x053061, 0x2166AC, 0x4393C3, 0x92C5DE, 0xD1E5F0, 0xFFFFFF,
            0xFDDBC7, 0xF4A582, 0xD6604D, 0xB2182B, 0x67001F,
        ].map { RGBColor(hex: $0) })

    public static let gray = Colormap(name: "gray", anchors: [.black, .white])

    /// The colour at position `t` in [0, 1]; values outside are clamped and NaN gives the low
    /// end (`t = 0`), so a missing value is never mistaken for a large one.
    public func color(at t: Float) -> RGBColor {
        let position = t == t ? min(max(t, 0), 1) : 0
        let scaled = position * Float(anchors.count - 1)
        let lower = min(Int(scaled), anchors.count - 2)
        let fraction = scaled - Float(lower)
        let from = anchors[lower]
        let to = anchors[lower + 1]
        func mix(_ a: UInt8, _ b: UInt8) -> UInt8 {
            UInt8((Float(a) + (Float(b) - Float(a)) * fraction).rounded())
        }
        return RGBColor(red: mix(from.red, to.red), green: mix(from.green, to.green), blue: mix(from.blue, to.blue))
    }

    /// The colour of `value` on the scale `minimum … maximum` (clamped). A degenerate range
    /// (`minimum == maximum`) maps everything to the middle of the map.
    public func color(for value: Float, minimum: Float, maximum: Float) -> RGBColor {
        guard maximum > minimum else { return color(at: 0.5) }
        return color(at: (value - minimum) / (maximum - minimum))
    }

    /// The colour of a signed `value` on the symmetric scale `−limit … +limit`, so that zero
    /// lands on the middle of the map (white for `redBlue`). A non-positive `limit` maps
    /// everything to the middle.
    public func color(signed value: Float, limit: Float) -> RGBColor {
        guard limit > 0 else { return color(at: 0.5) }
        return color(at: 0.5 + 0.5 * value / limit)
    }

    /// A signed `[1, H, W]`-style image (e.g. a perturbation δ = x_adv − x) as an RGB bitmap on
    /// this map, symmetric around zero with `limit` (default: the largest |value|, so the
    /// strongest change is fully saturated).
    public func bitmap(signed values: [Float], width: Int, height: Int, limit: Float? = nil) -> Bitmap {
        precondition(values.count == width * height, "signed bitmap needs \(width * height) values, got \(values.count)")
        let scaleLimit = limit ?? values.reduce(0) { max($0, abs($1).isFinite ? abs($1) : $0) }
        var bitmap = Bitmap(width: width, height: height, channels: 3, color: .white)
        for y in 0..<height {
            for x in 0..<width {
                bitmap.setColor(color(signed: values[y * width + x], limit: scaleLimit), x: x, y: y)
            }
        }
        return bitmap
    }
}
