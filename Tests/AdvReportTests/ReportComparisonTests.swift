import AdvData
import Foundation
import XCTest

@testable import AdvAnalysis
@testable import AdvReport

/// The comparison page (`advlab report --compare`) is a pure function of two results.json: the
/// same bytes on every rendering, every number one of their values, and each data set's cells in
/// its own columns under its own class names.
final class ReportComparisonTests: XCTestCase {
    /// ReportTests' MNIST fixture.
    static func mnist() -> ReportResults { ReportTests.fixture() }

    /// A Fashion-MNIST report whose every figure the tests look at differs from the MNIST fixture's:
    /// its headline radii (L∞ 0.1, L2 1.5), per-class errors, robust accuracies, shares of (2),
    /// per-class ε (class 6 non-monotone) and unrestricted rates.
    static func fashion() -> ReportResults {
        var results = ReportTests.fixture()
        results.dataset = StudyDataset(DatasetCatalog.fashionMNIST)
        results.seed = 29
        results.robustness = results.robustness.filter { abs($0.eps - 0.1) > 1e-9 }.map { row in
            var row = row
            let eps = row.norm == "linf" ? 0.1 : 1.5
            row.eps = eps
            row.condition_two.eps = eps
            row.condition_two.share_with_same_class_within_eps = 0.0456
            row.condition_two.per_class_share_with_same_class_within_eps = (0..<10).map { 0.0103 + 0.01 * Double($0) }
            row.condition_two.per_class_holds = Array(repeating: false, count: 10)
            row.condition_two.holds = false
            let offset = row.model == "natural" ? 0 : 0.1
            row.per_class_robust_accuracy = (0..<10).map { 0.5012 + offset + 0.02 * Double($0) }
            row.robust_accuracy = (row.model == "natural" ? 0.1357 : 0.2468) - (row.norm == "l2" ? 0.0111 : 0)
            return row
        }
        for index in results.generalization.models.indices {
            results.generalization.models[index].per_class_test_error = (0..<10).map { 0.2046 + 0.01 * Double($0) + 0.1 * Double(index) }
            results.generalization.models[index].test_error = index == 0 ? 0.1123 : 0.1789
        }
        results.per_class_eps[0].per_class[6].eps = 0.05
        results.per_class_eps[0].per_class[6].binding = "(2)"
        results.per_class_eps[0].per_class[6].monotone = false
        results.per_class_eps[0].per_class[6].grid = [
            ReportTests.gridPoint(0.05, passes: true), ReportTests.gridPoint(0.25, passes: false),
            ReportTests.gridPoint(0.45, passes: true),
        ]
        results.unrestricted[0].success_rate = 0.4321
        results.unrestricted[0].valid_success_rate = 0.2109
        results.unrestricted[0].count = 45
        results.distances.rows_not_closest_to_self = ["l2": [6]]
        results.figures["distances-l2"] = "distances-l2.png"
        return results
    }

    /// The table whose header holds `column`.
    func table(_ page: ReportComparison, with column: String) throws -> (header: [String], rows: [[String]]) {
        for block in page.document.blocks {
            if case .table(let header, let rows, _) = block, header.contains(column) { return (header, rows) }
        }
        throw XCTSkip("no table with column \(column)")
    }

    func testRenderingTwiceGivesTheSameBytes() throws {
        // Through results.json's text, as the command reads it.
        func decoded(_ results: ReportResults) throws -> ReportResults {
            try ReportResults.decode(Data(try ReportResults.jsonText(results).utf8))
        }
        let first = ReportComparison.render(try decoded(Self.mnist()), try decoded(Self.fashion()))
        let second = ReportComparison.render(try decoded(Self.mnist()), try decoded(Self.fashion()))
        XCTAssertEqual(first.document.markdown(), second.document.markdown())
        XCTAssertEqual(first.document.html(), second.document.html())
        XCTAssertEqual(first.plots.map(\.file), second.plots.map(\.file))
        XCTAssertEqual(first.plots.map(\.svg), second.plots.map(\.svg))
        XCTAssertEqual(first.copies, second.copies)
        XCTAssertEqual(first.plots.count, 6, "two panels per norm for (2), one scatter per norm")
        XCTAssertEqual(
            first.copies,
            [
                .init(report: 1, source: "distances-l2.png", file: "compare-2-fashion-mnist-distances-l2.png")
            ], "only the heat map a report names is copied, under a name of its own")
        // The page shows every plot and copy, by the names written.
        XCTAssertEqual(Set(first.document.figureFiles), Set(first.plots.map(\.file) + first.copies.map(\.file)))
    }

    func testEveryNumberIsAValueOfTheTwoResults() throws {
        let reports = [Self.mnist(), Self.fashion()]
        var values: [Double] = []
        for results in reports {
            let json = Data(try ReportResults.jsonText(results).utf8)
            values += try JSONDecoder().decode(ReportChecks.JSONValue.self, from: json).numbers
        }
        let page = ReportComparison.render(reports[0], reports[1])
        XCTAssertEqual(ReportChecks.unmatchedNumbers(in: page.document.markdown(), values: values), [])
        XCTAssertEqual(ReportChecks.unmatchedNumbers(in: ReportChecks.visibleText(ofHTML: page.document.html()), values: values), [])
        // The check sees the page's numbers: without the Fashion-MNIST file's values its figures are strays.
        let mnistOnly = try JSONDecoder().decode(ReportChecks.JSONValue.self, from: Data(try ReportResults.jsonText(reports[0]).utf8))
            .numbers
        let strays = ReportChecks.unmatchedNumbers(in: page.document.markdown(), values: mnistOnly)
        for value in ["0.112", "0.136", "45", "0.0456", "0.211"] {
            XCTAssertTrue(strays.contains(value), "\(value) should be a Fashion-MNIST value: \(strays)")
        }
    }

    /// Each cell in its own data set's column, under that data set's class names: a swapped column
    /// or a class name of the other set fails here.
    func testCellsSitInTheirOwnDataSetsColumns() throws {
        let (mnist, fashion) = (Self.mnist(), Self.fashion())
        let page = ReportComparison.render(mnist, fashion)

        // Condition (2) at the headline radii: MNIST's 0.3 (and Fashion-MNIST's 0.1) under L∞.
        let two = try table(page, with: "MNIST ε 0.3 (headline)")
        XCTAssertEqual(
            two.header,
            [
                "label", "MNIST class", "MNIST ε 0.1", "MNIST ε 0.3 (headline)", "Fashion-MNIST class", "Fashion-MNIST ε 0.1 (headline)",
                "Fashion-MNIST ε 0.3",
            ])
        // MNIST's class 1 is the fixture's one class with a same-class image at 0.3; Fashion-MNIST
        // has no 0.3 row.
        XCTAssertEqual(two.rows[1], ["1", "1", "0.0000", "0.1234", "Trouser", "0.0203", "n/a"])
        XCTAssertEqual(two.rows[10], ["all", "all classes", "0.0000", "0.0123", "all classes", "0.0456", "n/a"])
        XCTAssertEqual(two.rows[11], ["(2)", "verdict", "holds", "violated", "verdict", "violated", "not run"])

        // Per-class ε: Fashion-MNIST's Shirt is non-monotone; MNIST's 6 is not.
        let eps = try table(page, with: "L∞ binding")
        XCTAssertEqual(eps.header[0...5], ["label", "MNIST class", "L∞ ε", "L∞ binding", "L2 ε", "L2 binding"])
        XCTAssertEqual(
            eps.rows[6],
            ["6", "6", "0.45", "grid", "n/a", "n/a", "Shirt", "0.05 (non-monotone: passes again at 0.45)", "(2)", "n/a", "n/a"])

        // Generalization against robustness, per class at each set's headline L∞.
        let perClass = try table(page, with: "natural: robust acc. L∞ 0.1")
        XCTAssertEqual(
            perClass.header,
            [
                "label", "MNIST class", "natural: test error", "natural: robust acc. L∞ 0.3", "robust: test error",
                "robust: robust acc. L∞ 0.3",
                "Fashion-MNIST class", "natural: test error", "natural: robust acc. L∞ 0.1", "robust: test error",
                "robust: robust acc. L∞ 0.1",
            ])
        let mnistNaturalError = mnist.generalization.models[0].per_class_test_error[9]
        let mnistRobustAA = try XCTUnwrap(mnist.headline("robust", "linf", 0.3)).per_class_robust_accuracy[9]
        XCTAssertEqual(
            perClass.rows[9],
            [
                "9", "9", Format.value(mnistNaturalError), "0.000", Format.value(mnistNaturalError), Format.value(mnistRobustAA),
                "Ankle boot", "0.295", "0.681", "0.395", "0.781",
            ])
        let summary = try table(page, with: "test images")
        XCTAssertEqual(
            summary.rows[2],
            [
                "Fashion-MNIST", "natural", "2000", "0.112", "L∞ 0.1", "0.136", "AutoAttack (fast)", "L2 1.5", "0.125", "AutoAttack (fast)",
            ])
        XCTAssertEqual(summary.rows[1][0...5], ["MNIST", "robust", "2000", "0.014", "L∞ 0.3", "0.910"])

        // Unrestricted: the second data set's figures in its own four columns.
        let search = try table(page, with: "Fashion-MNIST searches")
        XCTAssertEqual(search.rows[0], ["natural", "targeted", "90", "0.822", "n/a", "n/a", "45", "0.432", "0.211", "n/a"])

        // Findings name each set's classes.
        let markdown = page.document.markdown()
        XCTAssertTrue(markdown.contains("Fashion-MNIST, per-class L∞ ε from 0.05 to 0.45; below the headline 0.1 for Shirt."), markdown)
        XCTAssertTrue(markdown.contains("MNIST, per-class L∞ ε from 0.25 to 0.45; below the headline 0.3 for 1."), markdown)
        XCTAssertTrue(markdown.contains("Fashion-MNIST L2: Shirt"), markdown)
        // Where generalization and robustness part (Fashion-MNIST) and where they agree (MNIST).
        XCTAssertTrue(
            markdown.contains(
                "The natural model gets Ankle boot wrong most (0.295); the robust model holds T-shirt/top least (0.601): there robustness "
                    + "and generalization part."), markdown)
        XCTAssertTrue(
            markdown.contains("The natural model gets 0 wrong most (0.100); the robust model holds 0 least (0.873): here the two agree."))
    }

    /// Valid rates from panels of different judges do not compare: the page names each row's panel
    /// and says where the two differ, with the report's reason for a missing judge.
    func testDifferentPanelsAreSaid() throws {
        var (mnist, fashion) = (Self.mnist(), Self.fashion())
        mnist.unrestricted[0].panel = ["triplet-5nn", "judge-robust"]
        fashion.unrestricted[0].panel = ["triplet-5nn"]
        fashion.unrestricted[0].panel_missing = "judge-robust.safetensors is absent"
        let page = ReportComparison.render(mnist, fashion)
        let search = try table(page, with: "Fashion-MNIST panel")
        XCTAssertEqual(search.rows[0][5], "triplet-5nn + judge-robust")
        XCTAssertEqual(search.rows[0][9], "triplet-5nn")
        let markdown = page.document.markdown()
        XCTAssertTrue(
            markdown.contains(
                "The two reports' panels differ for natural targeted: a panel with fewer judges accepts more, so those valid rates do not "
                    + "compare across the data sets (Fashion-MNIST: judge-robust.safetensors is absent)."), markdown)
        XCTAssertTrue(markdown.contains("against the natural model success 0.432, valid 0.211 (panel: triplet-5nn)"), markdown)

        fashion.unrestricted[0].panel = mnist.unrestricted[0].panel
        let same = ReportComparison.render(mnist, fashion).document.markdown()
        XCTAssertFalse(same.contains("panels differ"), "equal panels are not flagged")
    }

    /// A tie is not one class: every class at the extreme is named, and a robust accuracy equal in
    /// every class (the Fashion-MNIST stand-in at 0) is said to be so.
    func testTiesNameEveryClass() throws {
        var fashion = Self.fashion()
        for index in fashion.robustness.indices { fashion.robustness[index].per_class_robust_accuracy = Array(repeating: 0, count: 10) }
        fashion.generalization.models[0].per_class_test_error[3] = fashion.generalization.models[0].per_class_test_error[9]
        let markdown = ReportComparison.render(Self.mnist(), fashion).document.markdown()
        XCTAssertTrue(
            markdown.contains(
                "The natural model gets Dress, Ankle boot wrong most (0.295); the robust model's accuracy is 0.000 in every class"),
            markdown)
    }

    func testTheSameDataSetTwiceIsRefused() {
        XCTAssertNil(ReportComparison.problem(Self.mnist(), Self.fashion(), folders: ["a", "b"]))
        let problem = ReportComparison.problem(Self.mnist(), Self.mnist(), folders: ["a", "b"])
        XCTAssertEqual(
            problem, "--compare a and b: both are MNIST reports (results.json dataset.name \"mnist\"); compare two data sets")
    }

    func testAStandInRobustModelIsSaid() {
        var fashion = Self.fashion()
        fashion.models["robust"] = fashion.models["natural"]
        let markdown = ReportComparison.render(Self.mnist(), fashion).document.markdown()
        XCTAssertTrue(markdown.contains("In the Fashion-MNIST report the \"robust\" model is the natural checkpoint standing in"))
        XCTAssertFalse(markdown.contains("In the MNIST report the \"robust\""))
    }
}
