import AdvImaging
import AdvTensor
import XCTest

final class GridTests: XCTestCase {
    func testSizeWithoutTextFollowsFormula() {
        let grid = ImageGrid(rows: 2, columns: 3, tileWidth: 4, tileHeight: 5, scale: 2, padding: 3)
        XCTAssertEqual(grid.size.width, 3 + 3 * (4 * 2 + 3))
        XCTAssertEqual(grid.size.height, 3 + 2 * (5 * 2 + 3))
        let bitmap = grid.render()
        XCTAssertEqual(bitmap.width, 36)
        XCTAssertEqual(bitmap.height, 29)
        XCTAssertEqual(bitmap.channels, 1)
    }

    func testTilePixelsLandAtTheirOffsets() {
        var grid = ImageGrid(rows: 2, columns: 3, tileWidth: 2, tileHeight: 2, scale: 2, padding: 1)
        let tile = Bitmap(width: 2, height: 2, channels: 1, pixels: [10, 20, 30, 40])
        grid.set(row: 1, column: 2, bitmap: tile)
        XCTAssertEqual(grid.tileOrigin(row: 1, column: 2).x, 1 + 2 * (4 + 1))
        XCTAssertEqual(grid.tileOrigin(row: 1, column: 2).y, 1 + 1 * (4 + 1))
        let rendered = grid.render()
        let origin = grid.tileOrigin(row: 1, column: 2)
        for y in 0..<4 {
            for x in 0..<4 {
                XCTAssertEqual(
                    rendered.color(x: origin.x + x, y: origin.y + y),
                    tile.color(x: x / 2, y: y / 2), "pixel (\(x), \(y)) of the tile")
            }
        }
        // Everything else is background.
        let painted = rendered.pixels.filter { $0 != 255 }.count
        XCTAssertEqual(painted, 16)
    }

    func testLabelsWidenCellsAndAreDrawnBelowTiles() {
        var grid = ImageGrid(rows: 1, columns: 2, tileWidth: 4, tileHeight: 4, scale: 1, padding: 2)
        grid.label(row: 0, column: 1, text: "pred 3 (0.98)", color: .red)
        let labelWidth = BitmapFont.width(of: "pred 3 (0.98)")
        XCTAssertEqual(grid.size.width, 2 + 2 * (labelWidth + 2))
        XCTAssertEqual(grid.size.height, 2 + 4 + 1 + BitmapFont.glyphHeight + 2)
        let rendered = grid.render()
        XCTAssertEqual(rendered.channels, 3, "a red label makes the figure RGB")
        // Red ink lies in the label band, under the second cell only.
        let origin = grid.tileOrigin(row: 0, column: 1)
        var redPixels = 0
        for y in 0..<rendered.height {
            for x in 0..<rendered.width where rendered.color(x: x, y: y) == .red {
                redPixels += 1
                XCTAssertGreaterThan(y, origin.y + 4)
                XCTAssertGreaterThanOrEqual(x, 2 + labelWidth + 2)
            }
        }
        XCTAssertGreaterThan(redPixels, 20)
    }

    func testHeadersAndTitleGrowTheFigureWithoutClipping() {
        var grid = ImageGrid(rows: 2, columns: 2, tileWidth: 3, tileHeight: 3, padding: 2)
        let plain = grid.size
        grid.rowHeader(row: 0, text: "FGSM")
        grid.columnHeader(column: 1, text: "adv")
        XCTAssertEqual(grid.size.width, plain.width + BitmapFont.width(of: "FGSM") + 2 + 1)
        XCTAssertEqual(grid.size.height, plain.height + BitmapFont.glyphHeight + 2)
        grid.title = "a title much wider than the grid"
        XCTAssertGreaterThanOrEqual(grid.size.width, BitmapFont.width(of: grid.title!, scale: 2) + 4)
        let rendered = grid.render()
        XCTAssertEqual(rendered.width, grid.size.width)
        // The title's ink starts at or after the left padding and ends before the right one.
        let inkColumns = (0..<rendered.width).filter { x in (0..<16).contains { rendered.color(x: x, y: $0) != .white } }
        XCTAssertGreaterThanOrEqual(inkColumns.first ?? -1, 2)
        XCTAssertLessThanOrEqual(inkColumns.last ?? .max, rendered.width - 3)
    }

    func testFromImagesLaysOutBatchRowMajor() {
        let images = Tensor(shape: [5, 1, 2, 2]) { buffer in
            for index in 0..<5 { for pixel in 0..<4 { buffer[index * 4 + pixel] = Float(index + 1) / 10 } }
        }
        let grid = ImageGrid.fromImages(images, columns: 3, scale: 1, padding: 1)
        XCTAssertEqual(grid.rows, 2)
        XCTAssertEqual(grid.columns, 3)
        let rendered = grid.render()
        let fifth = grid.tileOrigin(row: 1, column: 1)
        XCTAssertEqual(rendered.color(x: fifth.x, y: fifth.y), RGBColor(gray: Bitmap.byte(fromUnit: 0.5)))
        let emptyCell = grid.tileOrigin(row: 1, column: 2)
        XCTAssertEqual(rendered.color(x: emptyCell.x, y: emptyCell.y), .white)
    }

    func testFrameSurroundsTileInColor() {
        var grid = ImageGrid(rows: 1, columns: 1, tileWidth: 2, tileHeight: 2, scale: 2, padding: 2)
        grid.set(row: 0, column: 0, bitmap: Bitmap(width: 2, height: 2, channels: 1, color: .black))
        grid.frame(row: 0, column: 0, color: .red)
        let rendered = grid.render()
        XCTAssertEqual(rendered.channels, 3)
        XCTAssertEqual(rendered.color(x: 0, y: 0), .red)
        XCTAssertEqual(rendered.color(x: 2, y: 2), .black, "the frame does not cover the tile")
    }
}
