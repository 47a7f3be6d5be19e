import AdvImaging
import XCTest

final class HeatmapTests: XCTestCase {
    private let distances: [[Float]] = [
        [1.0, 9.5, 8.0],
        [9.5, 2.0, 1.5],
        [8.0, 1.5, 3.0],
    ]

    func testPNGHasTheComputedSizeAndGrowsWithTheMatrix() throws {
        let folder = try makeTemporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        var heatmap = Heatmap(values: distances, rowLabels: ["zero", "one", "two"])
        heatmap.title = "mean L2 distance"
        let path = folder + "/heatmap.png"
        try heatmap.writePNG(to: path)
        let back = try PNG.read(from: path)
        XCTAssertEqual(back.width, heatmap.size.width)
        XCTAssertEqual(back.height, heatmap.size.height)
        XCTAssertEqual(back.channels, 3)

        let larger = Heatmap(values: Array(repeating: Array(repeating: 1.25, count: 10), count: 10))
        let smaller = Heatmap(values: [[1.25, 1.25], [1.25, 1.25]])
        XCTAssertGreaterThan(larger.size.width, smaller.size.width)
        XCTAssertGreaterThan(larger.size.height, smaller.size.height)
    }

    func testRowMinima() {
        XCTAssertEqual(Heatmap.rowMinima(of: distances).map { [$0.row, $0.column] }, [[0, 0], [1, 2], [2, 1]])
        XCTAssertEqual(
            Heatmap.rowMinima(of: distances, excludingDiagonal: true).map { [$0.row, $0.column] },
            [[0, 2], [1, 2], [2, 1]])
        XCTAssertEqual(Heatmap.rowMinima(of: [[.nan, .nan], [.nan, 4]]).map { [$0.row, $0.column] }, [[1, 1]])
    }

    func testMarksAreDrawnOnlyWhenRequested() {
        func redPixelCount(_ bitmap: Bitmap) -> Int {
            var count = 0
            for y in 0..<bitmap.height { for x in 0..<bitmap.width where bitmap.color(x: x, y: y) == .red { count += 1 } }
            return count
        }
        var heatmap = Heatmap(values: distances)
        XCTAssertEqual(redPixelCount(heatmap.render()), 0)
        heatmap.markedCells = Heatmap.rowMinima(of: distances, excludingDiagonal: true)
        let withCells = redPixelCount(heatmap.render())
        XCTAssertGreaterThan(withCells, 0)
        heatmap.markedRows = [1]
        XCTAssertGreaterThan(redPixelCount(heatmap.render()), withCells)
        XCTAssertEqual(heatmap.render().width, heatmap.size.width)
    }

    func testCompactFormat() {
        XCTAssertEqual(Heatmap.compactFormat(123.4), "123")
        XCTAssertEqual(Heatmap.compactFormat(12.34), "12.3")
        XCTAssertEqual(Heatmap.compactFormat(0.3), "0.30")
        XCTAssertEqual(Heatmap.compactFormat(9.9996), "10.0")
        XCTAssertEqual(Heatmap.compactFormat(-99.97), "-100")
        XCTAssertEqual(Heatmap.compactFormat(0), "0")
        XCTAssertEqual(Heatmap.compactFormat(.nan), "-")
    }
}
