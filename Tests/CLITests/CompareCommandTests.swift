import AdvData
import Foundation
import XCTest

@testable import AdvReport

/// `advlab report --compare A B --out DIR` reads two reports' results.json: bad input gets one
/// line naming the folder or field and writes nothing; good input writes the page into a folder
/// it creates, the same bytes on every run.
final class CompareCommandTests: CLITestCase {
    /// A report folder holding only results.json (the comparison reads nothing else but the heat
    /// maps it names), on `dataset`.
    func writeReport(_ name: String, dataset: DatasetEntry, heatmap: Bool = true) throws -> String {
        let folder = try makeFolder(name)
        var results = JudgeFixture.results()
        results.dataset = StudyDataset(dataset)
        if heatmap {
            results.figures["distances-l2"] = "distances-l2.png"
            try Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0]).write(to: folder.appendingPathComponent("distances-l2.png"))
        }
        try ReportResults.jsonText(results).write(to: folder.appendingPathComponent("results.json"), atomically: true, encoding: .utf8)
        return folder.path
    }

    func testCompareNamesTheFolderOrFieldAtFault() throws {
        let mnist = try writeReport("mnist", dataset: DatasetCatalog.mnist)
        let fashion = try writeReport("fashion", dataset: DatasetCatalog.fashionMNIST)
        let empty = try makeFolder("empty").path
        try assertOneLineError(["report", "--compare", mnist, "--out", "cmp"], mentions: ["--compare", "two report folders", "got 1"])
        try assertOneLineError(["report", "--compare", mnist, empty, "--out", "cmp"], mentions: ["--compare", empty, "no results.json"])
        let other = try writeReport("mnist-again", dataset: DatasetCatalog.mnist)
        try assertOneLineError(
            ["report", "--compare", mnist, other, "--out", "cmp"], mentions: ["--compare", "both are MNIST", "dataset.name"])
        try FileManager.default.removeItem(atPath: fashion + "/distances-l2.png")
        try assertOneLineError(
            ["report", "--compare", mnist, fashion, "--out", "cmp"], mentions: [fashion, "distances-l2.png", "missing"])
        try "{\"seed\": 1}".write(toFile: other + "/results.json", atomically: true, encoding: .utf8)
        try assertOneLineError(
            ["report", "--compare", other, mnist, "--out", "cmp"], mentions: [other + "/results.json", "not the report's"])
        try assertOneLineError(["report", "--compare", mnist, fashion, "--quick", "--out", "cmp"], mentions: ["--compare", "--quick"])
    }

    func testCompareWritesThePageIntoANewFolderTheSameEveryTime() throws {
        let mnist = try writeReport("mnist", dataset: DatasetCatalog.mnist)
        let fashion = try writeReport("fashion", dataset: DatasetCatalog.fashionMNIST)
        let out = root.appendingPathComponent("pages/compare").path
        let first = try run(["report", "--compare", mnist, fashion, "--out", out])
        XCTAssertEqual(first.status, 0, first.standardError)
        let files = try FileManager.default.contentsOfDirectory(atPath: out).sorted()
        XCTAssertTrue(files.contains("compare.html") && files.contains("compare.md"), "\(files)")
        XCTAssertTrue(
            files.contains("compare-1-mnist-distances-l2.png") && files.contains("compare-2-fashion-mnist-distances-l2.png"), "\(files)")
        let html = try String(contentsOfFile: out + "/compare.html", encoding: .utf8)
        XCTAssertTrue(html.contains("advlab comparison: MNIST and Fashion-MNIST"))
        // Every figure the page shows is beside it.
        for file in ReportChecks.figureReferences(html: html) { XCTAssertTrue(files.contains(file), file) }
        // Rendered again (the flag order --compare A --compare B too): the same bytes.
        let second = try run(["report", "--compare", mnist, "--compare", fashion, "--out", out])
        XCTAssertEqual(second.status, 0, second.standardError)
        XCTAssertEqual(try String(contentsOfFile: out + "/compare.html", encoding: .utf8), html)
    }
}
