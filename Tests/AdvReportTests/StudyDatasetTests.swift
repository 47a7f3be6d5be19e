import AdvData
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
}
