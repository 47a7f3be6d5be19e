import Foundation
import XCTest

@testable import AdvImaging

#if canImport(FoundationXML)
    import FoundationXML
#endif

/// Counts elements by name while parsing.
private final class ElementCounter: NSObject, XMLParserDelegate {
    var counts: [String: Int] = [:]
    func parser(
        _ parser: XMLParser, didStartElement elementName: String, namespaceURI: String?,
        qualifiedName: String?, attributes: [String: String] = [:]
    ) {
        counts[elementName, default: 0] += 1
    }
}

final class SVGPlotTests: XCTestCase {
    private func parse(_ svg: String) -> (ok: Bool, counts: [String: Int], error: String) {
        let parser = XMLParser(data: Data(svg.utf8))
        let counter = ElementCounter()
        parser.delegate = counter
        let ok = parser.parse()
        return (ok, counter.counts, parser.parserError.map { "\($0)" } ?? "")
    }

    func testOnePathPerSeriesAndWellFormedXML() {
        var plot = SVGPlot(title: "robust accuracy <PGD & FGSM>", xLabel: "ε (L∞)", yLabel: "accuracy")
        plot.addSeries("natural \"model\"", x: [0, 0.1, 0.2, 0.3], y: [0.99, 0.6, 0.1, 0.0])
        plot.addSeries("adv. trained", x: [0, 0.1, 0.2, 0.3], y: [0.98, 0.95, 0.93, 0.89], dashed: true)
        plot.addSeries("with gap", x: [0, 0.1, 0.2, 0.3], y: [0.5, .nan, 0.4, 0.3])
        let svg = plot.render()
        let parsed = parse(svg)
        XCTAssertTrue(parsed.ok, parsed.error)
        XCTAssertEqual(parsed.counts["svg"], 1)
        XCTAssertEqual(parsed.counts["path"], 3)
        XCTAssertTrue(svg.contains("viewBox=\"0 0 720 440\""))
        XCTAssertTrue(svg.contains("&lt;PGD &amp; FGSM&gt;"))
        XCTAssertFalse(svg.lowercased().contains("nan"))
        // The NaN breaks the third line into two sub-paths.
        let thirdPath = svg.components(separatedBy: "<path d=\"")[3]
        XCTAssertEqual(thirdPath.prefix { $0 != "\"" }.filter { $0 == "M" }.count, 2)
    }

    /// Points without a line (AutoAttack's figures over PGD's curve): one path of closed diamonds,
    /// nothing joining them, and a diamond instead of a line in the legend.
    ///
    /// Mutant: `addPoints` adding an ordinary connected series (`connectsPoints: true`) was planted
    /// and failed this test; it was then removed.
    func testPointsAreMarkersWithoutALine() {
        var curveOnly = SVGPlot(title: "robust accuracy", xLabel: "ε", yLabel: "accuracy")
        curveOnly.yRange = 0...1
        curveOnly.addSeries("pgd", x: [0.1, 0.3, 0.4], y: [0.9, 0.5, 0.1])
        var plot = curveOnly
        plot.addPoints("autoattack", x: [0.3, 0.4], y: [0.45, 0.05])
        let svg = plot.render()
        let parsed = parse(svg)
        XCTAssertTrue(parsed.ok, parsed.error)
        XCTAssertEqual(parsed.counts["path"], 2, "one path per series")
        let points = svg.components(separatedBy: "<path d=\"")[2]
        let outline = points.prefix { $0 != "\"" }
        XCTAssertEqual(outline.filter { $0 == "M" }.count, 2, "one shape per point: \(outline)")
        XCTAssertEqual(outline.filter { $0 == "Z" }.count, 2, "closed shapes, not a line: \(outline)")
        XCTAssertTrue(points.contains("<title>autoattack</title>"))
        let plain = parse(curveOnly.render())
        XCTAssertEqual(parsed.counts["line"], plain.counts["line"], "the points' legend entry is not a line")
        XCTAssertEqual(parsed.counts["polygon"], 1, "the legend's diamond")
    }

    func testEmptyPlotIsStillWellFormed() {
        let parsed = parse(SVGPlot(title: "", xLabel: "step", yLabel: "loss").render())
        XCTAssertTrue(parsed.ok, parsed.error)
        XCTAssertNil(parsed.counts["path"])
    }

    func testLogAxisSkipsNonPositiveValuesAndTicksDecades() {
        var plot = SVGPlot(title: "loss", xLabel: "step", yLabel: "loss", logY: true)
        plot.addSeries("train", y: [2.3, 0.5, 0.04, 0, 0.003])
        let svg = plot.render()
        let parsed = parse(svg)
        XCTAssertTrue(parsed.ok, parsed.error)
        XCTAssertEqual(parsed.counts["path"], 1)
        XCTAssertFalse(svg.lowercased().contains("nan") || svg.contains("inf"))
        let axis = SVGPlot.logarithmicAxis(lower: 0.003, upper: 2.3, expand: true)
        XCTAssertEqual(axis.ticks, [0.001, 0.01, 0.1, 1, 10])
    }

    func testLinearTicksAreNiceNumbers() {
        let axis = SVGPlot.linearAxis(lower: 0, upper: 0.3, expand: true)
        XCTAssertEqual(axis.ticks.count, 7)
        XCTAssertEqual(axis.ticks.map(axis.label), ["0.00", "0.05", "0.10", "0.15", "0.20", "0.25", "0.30"])
        let wide = SVGPlot.linearAxis(lower: 3, upper: 97, expand: true)
        XCTAssertEqual(wide.ticks, [0, 20, 40, 60, 80, 100])
    }
}
