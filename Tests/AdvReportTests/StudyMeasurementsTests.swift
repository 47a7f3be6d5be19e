import AdvTensor
import Foundation
import XCTest

@testable import AdvReport

/// The study's composition: the judge set drawn from the sections' offers, and the figures drawn
/// from results.json alone.
final class StudyMeasurementsTests: XCTestCase {
    /// The judge set draws every offer in order from one stream, numbering items across offers.
    func testJudgeSetDrawsOffersInOrderWithRunningIDs() {
        let images = Tensor(shape: [4, 1, 2, 2]) { out in for i in 0..<16 { out[i] = Float(i / 4) / 4 } }
        let offers = [
            JudgeOffer(
                setting: "a", kind: "real", images: images, candidates: [0, 1, 2, 3], intended: [0, 1, 0, 1], knnKeepsIntended: nil),
            JudgeOffer(
                setting: "b", kind: "perturbation", images: images, candidates: [2], intended: [0, 1, 0, 1], other: [1, 0, 1, 0],
                detail: { "image \($0)" }, knnKeepsIntended: 0.5),
        ]
        let set = JudgeOffer.judgeSet(offers, perSetting: 2, seed: 9)
        XCTAssertEqual(set.items.map(\.id), ["real-0", "real-1", "perturbation-2"])
        XCTAssertEqual(Set(set.items.prefix(2).map(\.intended)), [0, 1], "stratified over classes")
        XCTAssertEqual(set.items[2].other, 1)
        XCTAssertEqual(set.items[2].detail, "image 2")
        XCTAssertEqual(set.settings?.map(\.setting), ["a", "b"])
        XCTAssertEqual(set.settings?.map(\.knn_keeps_intended), [nil, 0.5])
        let again = JudgeOffer.judgeSet(offers, perSetting: 2, seed: 9)
        XCTAssertEqual(again.items, set.items, "the same seed draws the same items")
    }

    func testTheRobustnessPlotsComeFromTheResults() {
        let results = ReportTests.fixture()
        let figures = ReportFigures.fromResults(results)
        XCTAssertEqual(figures.map(\.name), ["robustness-linf", "robustness-l2"])
        XCTAssertEqual(figures.map(\.file), ["robustness-linf.svg", "robustness-l2.svg"])
        guard case .svg(let text) = figures[0].content else { return XCTFail("robustness-linf is an SVG") }
        XCTAssertEqual(
            text, CurveFigures.robustness(results.robustness, norm: "linf", settings: results.settings, seed: results.seed).render())
    }
}
