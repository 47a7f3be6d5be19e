import AdvImaging
import XCTest

final class FontTests: XCTestCase {
    func testDigitsHaveNonEmptyDistinctGlyphs() {
        let digits = Array("0123456789")
        for digit in digits {
            XCTAssertTrue(BitmapFont.glyph(for: digit).contains { $0 != 0 }, "glyph of \(digit) is empty")
        }
        XCTAssertNotEqual(BitmapFont.glyph(for: "1"), BitmapFont.glyph(for: "7"))
        XCTAssertEqual(Set(digits.map { BitmapFont.glyph(for: $0) }).count, 10, "two digits share a glyph")
    }

    func testRequiredCharactersHaveGlyphs() {
        let required = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789.,:;-+=()[]/%<>|_?!'\"#*ε"
        for character in required {
            XCTAssertTrue(BitmapFont.hasGlyph(for: character), "no glyph for \(character)")
        }
        let glyphs = required.map { BitmapFont.glyph(for: $0) }
        XCTAssertEqual(Set(glyphs).count, Set(required).count, "some characters share a glyph")
        XCTAssertFalse(BitmapFont.hasGlyph(for: "€"))
        XCTAssertTrue(BitmapFont.glyph(for: "€").contains { $0 != 0 }, "unknown characters must stay visible")
    }

    func testTextDrawsInsideItsMeasuredBox() {
        let text = "pred 3 (0.98) M"  // "M" fills all five glyph columns, so ink reaches the right edge
        let scale = 2
        let width = BitmapFont.width(of: text, scale: scale)
        let height = BitmapFont.height(of: text, scale: scale)
        XCTAssertEqual(width, (15 * 6 - 1) * 2)
        XCTAssertEqual(height, 14)
        var bitmap = Bitmap(width: width + 20, height: height + 20, channels: 1, color: .white)
        bitmap.drawText(text, x: 10, y: 10, color: .black, scale: scale)
        var inkCount = 0
        var inkColumns = Set<Int>()
        for y in 0..<bitmap.height {
            for x in 0..<bitmap.width where bitmap.color(x: x, y: y) == .black {
                inkCount += 1
                inkColumns.insert(x)
                XCTAssertTrue((10..<(10 + width)).contains(x) && (10..<(10 + height)).contains(y), "ink at (\(x), \(y))")
            }
        }
        XCTAssertGreaterThan(inkCount, 100)
        XCTAssertEqual(inkColumns.min(), 10)
        XCTAssertEqual(inkColumns.max(), 10 + width - 1)
    }

    func testNewlineStartsANewLine() {
        XCTAssertEqual(BitmapFont.width(of: "ab\nabcd"), 4 * 6 - 1)
        XCTAssertEqual(BitmapFont.height(of: "a\nb"), 7 + 9)
        var bitmap = Bitmap(width: 10, height: 20, channels: 1, color: .white)
        bitmap.drawText("-\n-", x: 0, y: 0, color: .black)
        XCTAssertEqual(bitmap.color(x: 0, y: 3), .black)
        XCTAssertEqual(bitmap.color(x: 0, y: 3 + 9), .black)
        XCTAssertEqual(bitmap.color(x: 6, y: 12), .white)
    }
}
