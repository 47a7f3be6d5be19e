import AdvData
import AdvTensor
import Foundation
import XCTest

@testable import AdvReport

/// The report on another data set: its class names and headline budgets replace MNIST's in the
/// measured grids, the tables and the conclusions (issue 21).
final class StudyDatasetTests: XCTestCase {
    let fashion = StudyDataset(DatasetCatalog.fashionMNIST)

    func testTheHeadlineRadiiJoinTheGrids() {
        XCTAssertEqual(ReportSettings.full.including(.mnist), ReportSettings.full, "MNIST's radii are already on the grids")
        XCTAssertEqual(ReportSettings.quick.including(.mnist), ReportSettings.quick)
        let full = ReportSettings.full.including(fashion)
        XCTAssertEqual(full.l2_grid, [0.5, 1, 1.5, 2, 3, 4.5], "Fashion-MNIST's L2 1.5 is added in order")
        XCTAssertEqual(full.linf_grid, ReportSettings.full.linf_grid, "0.1 and 0.3 are already there")
        XCTAssertEqual(full.combination_eps, 0.1)
        XCTAssertEqual(fashion.judged_linf_eps, [0.1, 0.3])
        XCTAssertEqual(StudyDataset.mnist.judged_linf_eps, [0.3, 0.4])
        XCTAssertEqual(StudyDataset.named("fashion-mnist"), fashion)
    }

    /// The same results read on Fashion-MNIST: the conclusions ask about L∞ 0.1 (the fixture has
    /// that PGD row) and name classes; the per-class tables are headed by the class names.
    func testConclusionsAndTablesFollowTheDataSet() throws {
        var results = ReportTests.fixture()
        results.conclusions = Conclusions.compute(results)
        let mnistQuestions = results.conclusions.map(\.question)
        XCTAssertTrue(mnistQuestions.contains("Does L∞ ε = 0.3 satisfy condition (2)?"), "\(mnistQuestions)")
        XCTAssertTrue(mnistQuestions.contains("Which classes need a smaller L∞ ε than 0.3?"))

        results.dataset = fashion
        // Let (2) fail for class 1 at the natural model's PGD L∞ 0.1 row.
        let row = try XCTUnwrap(results.robustness.firstIndex { $0.model == "natural" && $0.norm == "linf" && abs($0.eps - 0.1) < 1e-9 })
        results.robustness[row].condition_two.holds = false
        results.robustness[row].condition_two.per_class_holds[1] = false
        results.conclusions = Conclusions.compute(results)
        let questions = results.conclusions.map(\.question)
        XCTAssertTrue(questions.contains("Does L∞ ε = 0.1 satisfy condition (2)?"), "\(questions)")
        XCTAssertFalse(questions.contains("Does L∞ ε = 0.3 satisfy condition (2)?"))
        XCTAssertTrue(questions.contains("Which classes need a smaller L∞ ε than 0.1?"))
        // Class 1 is named, not numbered.
        let two = try XCTUnwrap(results.conclusions.first { $0.question == "Does L∞ ε = 0.1 satisfy condition (2)?" })
        XCTAssertTrue(two.answer.contains("Classes where it fails: Trouser."), two.answer)

        let markdown = ReportContent.document(results).markdown()
        XCTAssertTrue(markdown.contains("on Fashion-MNIST"))
        XCTAssertTrue(markdown.contains("| Ankle boot |"), "per-class rows are headed by the class names")
        XCTAssertTrue(markdown.contains("class T-shirt/top"))
    }

    /// A results.json written before the field decodes as MNIST.
    func testOldResultsReadAsMNIST() throws {
        var results = ReportTests.fixture()
        results.dataset = nil
        let decoded = try ReportResults.decode(Data(try ReportResults.jsonText(results).utf8))
        XCTAssertNil(decoded.dataset)
        XCTAssertEqual(decoded.data, .mnist)
    }

    /// A judge item keeps its image's size (it was fixed at 28×28): a 12×16 image round-trips
    /// through judge-set.json and its PNG; a pixel count that does not match is refused, naming the item.
    func testJudgeItemsKeepTheirSize() throws {
        let image = Tensor(repeating: 0.5, shape: [1, 1, 12, 16])
        let item = JudgeItem(id: "x-0", kind: "real", intended: 3, setting: JudgeSettings.real, image01: image)
        XCTAssertEqual(item.size.height, 12)
        XCTAssertEqual(item.size.width, 16)
        let folder = NSTemporaryDirectory() + "advlab-judge-size-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try JudgeSet(seed: 1, items: [item]).write(to: folder + "/judge-set.json")
        XCTAssertEqual(try JudgeSet.load(folder: folder).items, [item])
        let png = try XCTUnwrap(Data(base64Encoded: String(try JudgePage.dataURI(item).dropFirst("data:image/png;base64,".count))))
        // IHDR: width and height, big-endian, at bytes 16–23.
        XCTAssertEqual(png[16..<24].map { $0 }, [0, 0, 0, 16, 0, 0, 0, 12])
        var wrong = item
        wrong.pixels.removeLast()
        try JudgeSet(seed: 1, items: [wrong]).write(to: folder + "/judge-set.json")
        XCTAssertThrowsError(try JudgeSet.load(folder: folder)) { error in
            XCTAssertTrue("\(error)".contains("items[0].pixels must hold 12×16 = 192 values"), "\(error)")
        }
    }
}
