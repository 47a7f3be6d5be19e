import AdvImaging
import AdvTensor
import XCTest

@testable import AdvAttacks
@testable import AdvReport

/// The all-pairs cells: which example each (source, target) cell shows and how it is framed,
/// with and without a second judge.
final class UnrestrictedFiguresTests: XCTestCase {
    static let digits = (0..<10).map(String.init)

    /// Records for pair 3→5 (three searches) and 3→7 (two failures); image i is filled with
    /// the value i / 10, so the shown example tells which record it came from.
    func outcome(successes: [Bool]) -> LatentSearchOutcome {
        let pairs = [(3, 5), (3, 5), (3, 5), (3, 7), (3, 7)]
        precondition(successes.count == pairs.count)
        let records = zip(pairs, successes).map { pair, success in
            LatentSearchRecord(
                source: pair.0, target: pair.1, success: success, steps: 10, classifierPrediction: success ? pair.1 : pair.0,
                classifierConfidence: 0.6, auxiliaryPrediction: pair.0, auxiliaryConfidence: 0.9,
                discriminatorRealScore: 0.5, latentDistance: 1, z0: [0], z: [0])
        }
        let images = Tensor.concatenate((0..<pairs.count).map { Tensor(repeating: Float($0) / 10, shape: [1, 1, 28, 28]) })
        return LatentSearchOutcome(startImages: images, images: images, records: records)
    }

    func shownRecord(_ image: Tensor?) -> Int? { image.map { Int(($0.scalars[0] * 10).rounded()) } }

    func testWithoutAPanelTheFirstSuccessIsShown() {
        let (rates, examples, cells) = UnrestrictedFigures.pairCells(outcome(successes: [false, true, true, false, false]), classCount: 10)
        XCTAssertEqual(rates[3][5], 2.0 / 3.0)
        XCTAssertEqual(rates[3][7], 0)
        XCTAssertNil(rates[3][4])
        XCTAssertEqual(shownRecord(examples[3][5]), 1)
        XCTAssertEqual(cells[3][5], .valid)
        XCTAssertEqual(shownRecord(examples[3][7]), 4, "a pair without success shows its last attempt")
        XCTAssertEqual(cells[3][7], .failed)
    }

    func testAValidSuccessIsPreferred() {
        // Records 1 and 2 succeed; only record 2 is valid.
        let (_, examples, cells) = UnrestrictedFigures.pairCells(
            outcome(successes: [false, true, true, false, false]), classCount: 10,
            valid: [false, false, true, false, false])
        XCTAssertEqual(shownRecord(examples[3][5]), 2)
        XCTAssertEqual(cells[3][5], .valid)
        XCTAssertEqual(cells[3][7], .failed)
    }

    func testSuccessesThePanelDisputesAreShownAsDisputed() {
        let (rates, examples, cells) = UnrestrictedFigures.pairCells(
            outcome(successes: [false, true, true, false, false]), classCount: 10,
            valid: [false, false, false, false, false])
        XCTAssertEqual(rates[3][5], 2.0 / 3.0, "the panel changes what is shown, not the rate")
        XCTAssertEqual(shownRecord(examples[3][5]), 1)
        XCTAssertEqual(cells[3][5], .disputed)
    }

    /// Green frame for a valid success, orange for a disputed one, none for a pair without success.
    func testFrameColoursPerCase() throws {
        let search = outcome(successes: [true, false, false, false, false])
        func colours(valid: [Bool], shownPairs: [(Int, Int)]) -> [RGBColor: Int] {
            var (_, examples, cells) = UnrestrictedFigures.pairCells(search, classCount: 10, valid: valid)
            for s in 0..<10 {
                for t in 0..<10 where !shownPairs.contains(where: { $0 == (s, t) }) {
                    examples[s][t] = nil
                    cells[s][t] = .failed
                }
            }
            let bitmap = UnrestrictedFigures.allPairs(examples: examples, cells: cells, title: "t", classNames: Self.digits).render()
            var counts: [RGBColor: Int] = [:]
            for y in 0..<bitmap.height {
                for x in 0..<bitmap.width {
                    let colour = bitmap.color(x: x, y: y)
                    if [RGBColor.green, .orange, .red].contains(colour) { counts[colour, default: 0] += 1 }
                }
            }
            return counts
        }
        let valid = colours(valid: [true, false, false, false, false], shownPairs: [(3, 5)])
        let disputed = colours(valid: [false, false, false, false, false], shownPairs: [(3, 5)])
        let failed = colours(valid: [false, false, false, false, false], shownPairs: [(3, 7)])
        XCTAssertGreaterThan(valid[.green] ?? 0, 0, "a valid success has a green frame")
        XCTAssertNil(valid[.orange])
        XCTAssertNil(valid[.red])
        XCTAssertEqual(disputed[.orange], valid[.green], "a disputed success: the same frame in orange")
        XCTAssertNil(disputed[.green])
        XCTAssertTrue(failed.isEmpty, "the last attempt of a pair without success is unframed: \(failed)")
    }

    /// valid = success AND every judge says the source: one judge that disagrees makes a success
    /// invalid (a panel that needed only one judge, or the majority, fails this), and no judge
    /// makes a failure valid.
    func testPanelValidNeedsEveryJudge() {
        let sources = [3, 3, 3, 3, 4]
        let success = [true, true, true, false, true]
        let panel = UnrestrictedPanel(
            judges: ["triplet-5nn", "judge-robust", "natural"],
            labels: [[3, 3, 5, 3, 4], [3, 8, 3, 3, 4], [3, 3, 3, 3, 4]], success: success, sources: sources)
        XCTAssertEqual(panel.valid, [true, false, false, false, true])
        XCTAssertEqual(panel.agreementOnSuccesses(success) ?? -1, 2.0 / 4.0, accuracy: 1e-12)
        let perJudge = panel.judgeAgreementOnSuccesses(success, sources: sources)
        XCTAssertEqual(perJudge["triplet-5nn"] ?? nil, 3.0 / 4.0)
        XCTAssertEqual(perJudge["judge-robust"] ?? nil, 3.0 / 4.0)
        XCTAssertEqual(perJudge["natural"] ?? nil, 1.0)
        XCTAssertNil(UnrestrictedPanel(judges: ["a"], labels: [[3]], success: [false], sources: [3]).agreementOnSuccesses([false]))
        // The CSV carries each classifier judge's class and the flag, in the records' order.
        let search = outcome(successes: [true, true, true, false, true])
        let csv = UnrestrictedFigures.recordsCSV(
            search.records, nearestL2: [Float](repeating: 1, count: 5),
            nearestLinf: [Float](repeating: 1, count: 5), knnLabels: panel.labels[0], panel: panel
        )
        .split(separator: "\n")
        XCTAssertTrue(csv[0].hasSuffix("knn_prediction,judge-robust_prediction,natural_prediction,valid"), String(csv[0]))
        XCTAssertTrue(csv[2].hasSuffix(",3,8,3,0"), String(csv[2]))
        XCTAssertTrue(csv[1].hasSuffix(",3,3,3,1"), String(csv[1]))
    }

    /// The control on the starting images: a start is accepted only when every judge reads it as
    /// the source (one dissenting judge rejects it, whichever it is), its share is taken over all
    /// searches or over the successes alone, and it never changes `valid`. The CSV carries each
    /// judge's class of the start and the flag after `valid`.
    func testPanelJudgesTheStartsToo() {
        let sources = [3, 3, 3, 3, 4]
        let success = [true, true, true, false, false]
        let labels = [[3, 3, 3, 3, 4], [3, 3, 3, 3, 4], [3, 3, 3, 3, 4]]
        let startLabels = [[3, 5, 3, 3, 4], [3, 3, 3, 7, 4], [3, 3, 2, 3, 4]]
        let panel = UnrestrictedPanel(
            judges: ["triplet-5nn", "judge-robust", "natural"], labels: labels, startLabels: startLabels, success: success,
            sources: sources)
        XCTAssertEqual(panel.startAccepted, [true, false, false, false, true])
        XCTAssertEqual(panel.valid, [true, true, true, false, false], "the starts do not enter valid")
        XCTAssertEqual(panel.startAgreement() ?? -1, 2.0 / 5.0, accuracy: 1e-12)
        XCTAssertEqual(panel.startAgreement(among: success) ?? -1, 1.0 / 3.0, accuracy: 1e-12)
        XCTAssertNil(panel.startAgreement(among: [false, false, false, false, false]))
        let unjudged = UnrestrictedPanel(judges: ["triplet-5nn"], labels: [[3]], success: [true], sources: [3])
        XCTAssertNil(unjudged.startAgreement())
        XCTAssertTrue(unjudged.startAccepted.isEmpty)

        let search = outcome(successes: success)
        let csv = UnrestrictedFigures.recordsCSV(
            search.records, nearestL2: [Float](repeating: 1, count: 5),
            nearestLinf: [Float](repeating: 1, count: 5), knnLabels: panel.labels[0], panel: panel
        )
        .split(separator: "\n")
        XCTAssertTrue(
            csv[0].hasSuffix(
                "natural_prediction,valid,knn_start_prediction,judge-robust_start_prediction,natural_start_prediction,start_accepted"),
            String(csv[0]))
        XCTAssertTrue(csv[1].hasSuffix(",3,3,3,1,3,3,3,1"), String(csv[1]))
        XCTAssertTrue(csv[2].hasSuffix(",3,3,3,1,5,3,3,0"), String(csv[2]))
        XCTAssertTrue(csv[4].hasSuffix(",3,3,3,0,3,7,3,0"), String(csv[4]))
    }

    /// Counts of the frame colours in a rendered grid.
    func frameColours(_ bitmap: Bitmap) -> [RGBColor: Int] {
        var counts: [RGBColor: Int] = [:]
        for y in 0..<bitmap.height {
            for x in 0..<bitmap.width {
                let colour = bitmap.color(x: x, y: y)
                if [RGBColor.green, .orange, .red].contains(colour) { counts[colour, default: 0] += 1 }
            }
        }
        return counts
    }

    /// The pairs figure frames a valid success green and a disputed one orange, as the all-pairs
    /// grid does (it framed every success red before).
    func testPairsFramesFollowThePanel() {
        let search = outcome(successes: [true, false, false, false, false])
        func render(_ valid: [Bool]) -> [RGBColor: Int] {
            frameColours(
                UnrestrictedFigures.pairs(outcome: search, indices: [0], startPredictions: [3, 3, 3, 3, 3], title: "t", valid: valid)
                    .render())
        }
        let valid = render([true, false, false, false, false])
        let disputed = render([false, false, false, false, false])
        XCTAssertGreaterThan(valid[.green] ?? 0, 0)
        XCTAssertNil(valid[.orange])
        XCTAssertGreaterThan(disputed[.orange] ?? 0, 0)
        XCTAssertNil(disputed[.green])
        XCTAssertNil(valid[.red])
    }

    /// The grid has one row and column per class name, and its tiles take the images' size: a
    /// 3-class set of 12×12 images gives a grid of that size (it was fixed at 10×10 of 28×28).
    func testAllPairsGridTakesItsSizeFromTheClassesAndImages() {
        let image = Tensor(repeating: 0.5, shape: [1, 1, 12, 12])
        let examples: [[Tensor?]] = (0..<3).map { _ in [image, image, image] }
        let cells = [[UnrestrictedFigures.PairCell]](repeating: [.failed, .failed, .failed], count: 3)
        let grid = UnrestrictedFigures.allPairs(examples: examples, cells: cells, title: "t", classNames: ["a", "b", "c"])
        XCTAssertEqual(grid.rows, 3)
        XCTAssertEqual(grid.columns, 3)
        XCTAssertEqual(grid.tileWidth, 12)
        XCTAssertEqual(grid.tileHeight, 12)
        let digits = UnrestrictedFigures.allPairs(examples: examples, cells: cells, title: "t", classNames: ["0", "1", "2"]).render()
        let names = UnrestrictedFigures.allPairs(
            examples: examples, cells: cells, title: "t", classNames: ["T-shirt/top", "Trouser", "Pullover"]
        ).render()
        XCTAssertGreaterThan(names.width, digits.width, "longer class names widen the headers")
    }
}
