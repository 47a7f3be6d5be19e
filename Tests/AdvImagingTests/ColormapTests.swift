import AdvImaging
import XCTest

final class ColormapTests: XCTestCase {
    func testViridisEndpointsAndMonotoneLuminance() {
        XCTAssertEqual(Colormap.viridis.color(at: 0), RGBColor(hex: 0x440154))
        XCTAssertEqual(Colormap.viridis.color(at: 1), RGBColor(hex: 0xFDE725))
        XCTAssertEqual(Colormap.viridis.color(at: -3), RGBColor(hex: 0x440154))
        XCTAssertEqual(Colormap.viridis.color(at: 7), RGBColor(hex: 0xFDE725))
        XCTAssertEqual(Colormap.viridis.color(at: .nan), RGBColor(hex: 0x440154))
        let luminances = stride(from: Float(0), through: 1, by: 0.05).map { Colormap.viridis.color(at: $0).luminance }
        XCTAssertEqual(luminances, luminances.sorted(), "viridis must get lighter from 0 to 1")
    }

    func testDivergingMapIsBlueWhiteRed() {
        let map = Colormap.redBlue
        XCTAssertEqual(map.color(signed: 0, limit: 0.3), .white)
        let negative = map.color(signed: -0.3, limit: 0.3)
        let positive = map.color(signed: 0.3, limit: 0.3)
        XCTAssertEqual(negative, RGBColor(hex: 0x053061))
        XCTAssertEqual(positive, RGBColor(hex: 0x67001F))
        XCTAssertGreaterThan(negative.blue, negative.red)
        XCTAssertGreaterThan(positive.red, positive.blue)
        let slightlyPositive = map.color(signed: 0.05, limit: 0.3)
        XCTAssertGreaterThan(slightlyPositive.red, slightlyPositive.blue)
    }

    func testValueRangeMapping() {
        XCTAssertEqual(Colormap.gray.color(for: 5, minimum: 0, maximum: 10), RGBColor(gray: 128))
        XCTAssertEqual(Colormap.gray.color(for: 3, minimum: 3, maximum: 3), RGBColor(gray: 128))
        let signed = Colormap.redBlue.bitmap(signed: [-1, 0, 2], width: 3, height: 1)
        XCTAssertEqual(signed.color(x: 1, y: 0), .white)
        XCTAssertEqual(signed.color(x: 2, y: 0), RGBColor(hex: 0x67001F))
    }
}
