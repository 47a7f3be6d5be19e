@testable import AdvAttacks
import AdvImaging
@testable import AdvReport
import AdvTensor
import XCTest

/// The all-pairs cells: which example each (source, target) cell shows and how it is framed,
/// with and without a second judge.
final class UnrestrictedFiguresTests: XCTestCase {
    /// Records for pair 3→5 (three searches) and 3→7 (two failures); image i is filled with
    /// the value i / 10, so the shown example tells which record it came from.
    func outcome(successes: [Bool]) -> LatentSearchOutcome {
        let pairs = [(3, 5), (3, 5), (3, 5), (3, 7), (3, 7)]
        precondition(successes.count == pairs.count)
        let records = zip(pairs, successes).map { pair, success in
            LatentSearchRecord(source: pair.0, target: pair.1, success: success, steps: 10, classifierPrediction: success ? pair.1 : pair.0,
                               classifierConfidence: 0.6, auxiliaryPrediction: pair.0, auxiliaryConfidence: 0.9,
                               discriminatorRealScore: 0.5, latentDistance: 1, z0: [0], z: [0])
        }
        let images = Tensor.concatenate((0..<pairs.count).map { Tensor(repeating: Float($0) / 10, shape: [1, 1, 28, 28]) })
        return LatentSearchOutcome(startImages: images, images: images, records: records)
    }

    func shownRecord(_ image: Tensor?) -> Int? { image.map { Int(($0.scalars[0] * 10).rounded()) } }

    func testWithoutSecondJudgeTheFirstSuccessIsShown() {
        let (rates, examples, cells) = UnrestrictedFigures.pairCells(outcome(successes: [false, true, true, false, false]))
        XCTAssertEqual(rates[3][5], 2.0 / 3.0)
        XCTAssertEqual(rates[3][7], 0)
        XCTAssertNil(rates[3][4])
        XCTAssertEqual(shownRecord(examples[3][5]), 1)
        XCTAssertEqual(cells[3][5], .success)
        XCTAssertEqual(shownRecord(examples[3][7]), 4, "a pair without success shows its last attempt")
        XCTAssertEqual(cells[3][7], .failed)
    }

    func testSecondJudgePicksASuccessItReadsAsTheSource() {
        // Record 1 succeeds but the judge reads it as 5; record 2 succeeds and the judge reads 3.
        let (_, examples, cells) = UnrestrictedFigures.pairCells(outcome(successes: [false, true, true, false, false]),
                                                                 secondJudge: [3, 5, 3, 3, 3])
        XCTAssertEqual(shownRecord(examples[3][5]), 2)
        XCTAssertEqual(cells[3][5], .success)
        XCTAssertEqual(cells[3][7], .failed)
    }

    func testSuccessesTheSecondJudgeReadsOtherwiseAreDisputed() {
        let (rates, examples, cells) = UnrestrictedFigures.pairCells(outcome(successes: [false, true, true, false, false]),
                                                                     secondJudge: [3, 5, 8, 3, 3])
        XCTAssertEqual(rates[3][5], 2.0 / 3.0, "the second judge changes what is shown, not the rate")
        XCTAssertEqual(shownRecord(examples[3][5]), 1)
        XCTAssertEqual(cells[3][5], .disputed)
    }

    func testFramesFollowTheCells() throws {
        let search = outcome(successes: [true, false, false, false, false])
        let judged = UnrestrictedFigures.pairCells(search, secondJudge: [3, 3, 3, 3, 3])
        let disputed = UnrestrictedFigures.pairCells(search, secondJudge: [5, 3, 3, 3, 3])
        let agreedGrid = UnrestrictedFigures.allPairs(examples: judged.examples, cells: judged.cells, title: "t").render()
        let disputedGrid = UnrestrictedFigures.allPairs(examples: disputed.examples, cells: disputed.cells, title: "t").render()
        XCTAssertEqual(agreedGrid.width, disputedGrid.width)
        XCTAssertEqual(agreedGrid.height, disputedGrid.height)
        func count(_ color: RGBColor, in bitmap: Bitmap) -> Int {
            var n = 0
            for y in 0..<bitmap.height { for x in 0..<bitmap.width where bitmap.color(x: x, y: y) == color { n += 1 } }
            return n
        }
        XCTAssertGreaterThan(count(.red, in: agreedGrid), 0)
        XCTAssertEqual(count(.orange, in: agreedGrid), 0)
        XCTAssertEqual(count(.red, in: disputedGrid), 0)
        XCTAssertEqual(count(.orange, in: disputedGrid), count(.red, in: agreedGrid), "the same frame in the other colour")
    }
}
