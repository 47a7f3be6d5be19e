import AdvImaging
import AdvTensor
import Foundation
import XCTest

@testable import AdvAnalysis
@testable import AdvAttacks
@testable import AdvReport

/// The figure builders that `advlab attack`, `advlab distances` and the report share: each table
/// column and curve point is checked against values worked out by hand.
final class FigureBuildersTests: XCTestCase {
    func match(_ index: Int, _ distance: Float) -> NearestNeighbors.Match { NearestNeighbors.Match(index: index, distance: distance) }

    /// Four images: two of class 0, two of class 1.
    var neighbors: (ClassNeighbors, [Int]) {
        (
            ClassNeighbors(
                sameClass: [match(1, 1), match(0, 1), match(3, 2.5), match(2, 2.5)],
                otherClass: [match(2, 4), match(3, 3), match(1, 3), match(1, 5)]),
            [0, 0, 1, 1]
        )
    }

    func testClassPairCSVHasAHeaderOfClassesAndOneRowPerClass() {
        let result = ClassPairDistances(
            meanPairwise: [[1, 2.5, 3], [2.5, 0.125, 4], [3, 4, 1e-7]], rowsNotClosestToSelf: [], closestClass: [0, 1, 2])
        XCTAssertEqual(DistanceFigures.classPairCSV(result), "class,0,1,2\n0,1,2.5,3\n1,2.5,0.125,4\n2,3,4,1e-07\n")
    }

    func testClassPairHeatmapMarksTheRowsNotClosestToThemselves() {
        let result = ClassPairDistances(meanPairwise: [[2, 1], [1, 0.5]], rowsNotClosestToSelf: [0], closestClass: [1, 1])
        let heatmap = DistanceFigures.classPairHeatmap(result, classNames: ["a", "b"], title: "t")
        XCTAssertEqual(heatmap.title, "t")
        XCTAssertEqual(heatmap.markedRows, [0])
        XCTAssertEqual(heatmap.markedCells.map(\.row), [0])
        XCTAssertEqual(heatmap.markedCells.map(\.column), [1])
    }

    func testNearestCSVGivesEachImagesSplitAndNeighbours() {
        let (neighbors, labels) = self.neighbors
        let lines = DistanceFigures.nearestCSV(neighbors, labels: labels, trainCount: 3).split(separator: "\n")
        XCTAssertEqual(
            lines.first, "index,split,label,nearest_same_class,nearest_same_class_index,nearest_other_class,nearest_other_class_index")
        XCTAssertEqual(lines.count, 5)
        XCTAssertEqual(lines[1], "0,train,0,1.0,1,4.0,2")
        XCTAssertEqual(lines[4], "3,test,1,2.5,2,5.0,1")
    }

    func testNearestSummaryHasPerClassQuantilesAndMinima() {
        let (neighbors, labels) = self.neighbors
        let summary = DistanceFigures.NearestSummary(norm: .l2, seconds: 0, neighbors: neighbors, labels: labels, classCount: 2)
        XCTAssertEqual(summary.norm, "l2")
        // Class 0's other-class distances are 4 and 3: lower quantiles 3, 3, 3, 4 (the median of two is the upper), 4.
        XCTAssertEqual(summary.other_class_quantiles, [[3, 3, 3, 4, 4], [3, 3, 3, 5, 5]])
        XCTAssertEqual(summary.same_class_quantiles[1], [2.5, 2.5, 2.5, 2.5, 2.5])
        XCTAssertEqual(summary.same_class_min, 1)
        XCTAssertEqual(summary.other_class_min, 3)
    }

    func testNearestCurvesAreEachClassesCumulativeShares() throws {
        let (neighbors, labels) = self.neighbors
        let plot = DistanceFigures.nearestCurves(neighbors, labels: labels, norm: .linf, classNames: ["zero", "one"])
        XCTAssertEqual(plot.series.map(\.name), ["zero", "zero other", "one", "one other"])
        XCTAssertEqual(plot.series.map(\.dashed), [false, true, false, true])
        // x runs over 61 points from 0 to the largest distance, 5: x = 3.5 is point 42.
        let otherZero = plot.series[1].points
        XCTAssertEqual(otherZero.count, 61)
        XCTAssertEqual(otherZero[42].x, 3.5, accuracy: 1e-12)
        XCTAssertEqual(otherZero[42].y, 0.5)
        XCTAssertEqual(otherZero[60].y, 1)
        XCTAssertEqual(plot.series[2].points[30].y, 1, "class one's same-class distances are both 2.5 = x at point 30")
        XCTAssertTrue(plot.title.contains("all 4 images"))
    }

    func testPerClassLowerQuantilesGroupByLabel() {
        let quantiles = perClassLowerQuantiles([5, 1, 2, 9, 3], labels: [1, 0, 1, 0, 1], classCount: 3, levels: [0, 0.5])
        XCTAssertEqual(quantiles[0], [1, 9])
        XCTAssertEqual(quantiles[1], [2, 3])
        XCTAssertTrue(quantiles[2].allSatisfy(\.isNaN), "a class without members has no quantiles")
    }

    func testPerClassCurvesAreOverallSolidThenEachClassDashed() {
        let plot = CurveFigures.perClass(
            title: "t", xLabel: "x", yLabel: "y", x: [0, 1], overall: [0.5, 0.25], perClass: [[1, 0], [0, 0.5]], classNames: ["a", "b"])
        XCTAssertEqual(plot.series.map(\.name), ["all classes", "a", "b"])
        XCTAssertEqual(plot.series.map(\.dashed), [false, true, true])
        XCTAssertEqual(plot.series[0].points.map(\.y), [0.5, 0.25])
        XCTAssertEqual(plot.series[2].points.map(\.y), [0, 0.5])
    }

    func summary(robust: Double, perClass: [Double?]) -> AttackSummary {
        var summary = AttackSummary(
            method: "pgd", norm: "linf", eps: 0.1, outcome: AttackOutcome(adversarialImages: Tensor.zeros([0, 1, 2, 2]), results: []),
            seed: 0, settings: [:])
        summary.robust_accuracy = robust
        summary.per_class_robust_accuracy = perClass
        return summary
    }

    func testRobustAccuracyCurveReadsEachClassFromEverySummary() {
        let plot = CurveFigures.robustAccuracy(
            [summary(robust: 0.9, perClass: [0.8, nil]), summary(robust: 0.4, perClass: [0.3, 0.5])], eps: [0.1, 0.2], method: "pgd",
            norm: "linf", model: "m.safetensors", seed: 3, classNames: ["class 0", "class 1"])
        XCTAssertEqual(plot.title, "pgd linf robust accuracy vs ε (m.safetensors, seed 3)")
        XCTAssertEqual(plot.series.map(\.name), ["all classes", "class 0", "class 1"])
        XCTAssertEqual(plot.series[0].points.map(\.y), [0.9, 0.4])
        XCTAssertEqual(plot.series[1].points.map(\.y), [0.8, 0.3])
        XCTAssertTrue(plot.series[2].points[0].y.isNaN, "a class with no image is NaN, not 0")
        XCTAssertEqual(plot.series[2].points[1].y, 0.5)
        XCTAssertEqual(plot.series[1].points.map(\.x), [0.1, 0.2])
    }

    func testRobustnessPlotDrawsEachModelsMethodsAndAutoAttackFromTheRows() throws {
        let results = ReportTests.fixture()
        let plot = CurveFigures.robustness(results.robustness, norm: "linf", settings: results.settings, seed: results.seed)
        for series in plot.series {
            let parts = series.name.split(separator: " ")
            let model = String(parts[0])
            let method = series.name.contains("AutoAttack") ? AttackMethod.autoattack.rawValue : String(parts[1])
            let rows = results.robustness.filter { $0.model == model && $0.method == method && $0.norm == "linf" }.sorted {
                $0.eps < $1.eps
            }
            XCTAssertFalse(rows.isEmpty, series.name)
            XCTAssertEqual(series.points.map(\.x), rows.map(\.eps), series.name)
            XCTAssertEqual(series.points.map(\.y), rows.map(\.robust_accuracy), series.name)
        }
        XCTAssertTrue(plot.series.contains { $0.name == "natural pgd" })
    }
}
