import AdvImaging
import AdvTensor
import XCTest

final class BitmapTests: XCTestCase {
    func testInitFromTensorClampsRoundsAndMapsNaNToZero() {
        let tensor = Tensor(shape: [1, 2, 3], scalars: [-0.5, 0, 0.5, 1, 2, .nan])
        let bitmap = Bitmap(image01: tensor)
        XCTAssertEqual(bitmap.width, 3)
        XCTAssertEqual(bitmap.height, 2)
        XCTAssertEqual(bitmap.channels, 1)
        XCTAssertEqual(bitmap.pixels, [0, 0, 128, 255, 255, 0])
    }

    func testInitFromBatchSliceAndRGBTensor() {
        let gray = Bitmap(image01: Tensor(shape: [1, 1, 1, 2], scalars: [0.2, 0.4]))
        XCTAssertEqual(gray.pixels, [51, 102])
        // Planar [3, H, W] becomes interleaved RGB.
        let rgb = Bitmap(image01: Tensor(shape: [3, 1, 2], scalars: [1, 0, 0, 1, 0, 0]))
        XCTAssertEqual(rgb.channels, 3)
        XCTAssertEqual(rgb.pixels, [255, 0, 0, 0, 255, 0])
        XCTAssertEqual(rgb.tensor01(), Tensor(shape: [3, 1, 2], scalars: [1, 0, 0, 1, 0, 0]))
    }

    func testUpscaleRepeatsEachPixelAsBlock() {
        let bitmap = Bitmap(width: 2, height: 1, channels: 1, pixels: [10, 20]).upscaled(by: 3)
        XCTAssertEqual(bitmap.width, 6)
        XCTAssertEqual(bitmap.height, 3)
        XCTAssertEqual(bitmap.pixels, Array(repeating: [10, 10, 10, 20, 20, 20], count: 3).flatMap { $0 })
    }

    func testBlitClipsAndConvertsChannels() {
        var canvas = Bitmap(width: 3, height: 2, channels: 3, color: .black)
        let source = Bitmap(width: 2, height: 2, channels: 1, pixels: [1, 2, 3, 4])
        canvas.blit(source, x: 2, y: -1)  // only source pixel (column 0, row 1) = 3 lands, at (2, 0)
        XCTAssertEqual(canvas.color(x: 2, y: 0), RGBColor(gray: 3))
        XCTAssertEqual(canvas.pixels.filter { $0 != 0 }.count, 3)

        var grayCanvas = Bitmap(width: 1, height: 1, channels: 1, color: .black)
        grayCanvas.blit(Bitmap(width: 1, height: 1, channels: 3, pixels: [255, 0, 0]), x: 0, y: 0)
        XCTAssertEqual(grayCanvas.pixels, [RGBColor(red: 255, green: 0, blue: 0).luminance])
    }

    func testFillRectangleClipsAndRGBConversionReplicates() {
        var bitmap = Bitmap(width: 4, height: 3, channels: 1, color: .white)
        bitmap.fillRectangle(x: -2, y: 1, width: 3, height: 5, color: .black)
        XCTAssertEqual(
            bitmap.pixels,
            [
                255, 255, 255, 255,
                0, 255, 255, 255,
                0, 255, 255, 255,
            ])
        let rgb = bitmap.rgb()
        XCTAssertEqual(rgb.channels, 3)
        XCTAssertEqual(rgb.color(x: 0, y: 2), .black)
        XCTAssertEqual(rgb.color(x: 1, y: 2), .white)
        XCTAssertEqual(rgb.gray(), bitmap)
    }
}
