import XCTest

@testable import AdvAnalysis

/// Wilson's interval and Fleiss' κ against published values.
final class AgreementTests: XCTestCase {
    /// Newcombe 1998 (Statistics in Medicine 17, 857–872), table I, method 3 (the score
    /// interval without continuity correction): 81/263, 15/148, 0/20, 1/29 and 29/29.
    ///
    /// Mutant: the Wald interval p̂ ± z·√(p̂(1−p̂)/n) was planted and failed (0/20 gives 0–0).
    func testWilsonIntervalMatchesNewcombe() throws {
        let cases: [(Int, Int, Double, Double)] = [
            (81, 263, 0.2553, 0.3662), (15, 148, 0.0624, 0.1605), (0, 20, 0, 0.1611),
            (1, 29, 0.0061, 0.1718), (29, 29, 0.8830, 1),
        ]
        for (successes, total, low, high) in cases {
            let interval = try XCTUnwrap(Agreement.wilsonInterval(successes: successes, total: total))
            XCTAssertEqual(interval.low, low, accuracy: 0.00005, "\(successes)/\(total)")
            XCTAssertEqual(interval.high, high, accuracy: 0.00005, "\(successes)/\(total)")
        }
        XCTAssertNil(Agreement.wilsonInterval(successes: 0, total: 0))
    }

    /// Fleiss 1971's own example: 30 patients, each diagnosed by 6 of 43 psychiatrists into 5
    /// categories (the data of R's irr::diagnoses, written here per patient as its six
    /// diagnoses). κ = 0.430 (irr::kappam.fleiss gives 0.4302445).
    ///
    /// Mutant: chance agreement as 1/categories instead of Σ p_j² was planted and failed.
    func testFleissKappaMatchesFleiss1971() throws {
        let diagnoses = """
            444444 222555 233335 555555 222444 113333 333355 113334 114444 555555 144444 124444 222333 144444 224445
            333335 111455 111112 224444 133555 555555 244444 224555 114444 144445 222224 111155 224444 133333 555555
            """.split(whereSeparator: { $0 == " " || $0 == "\n" })
        let counts = diagnoses.map { patient in (1...5).map { category in patient.filter { $0 == Character(String(category)) }.count } }
        XCTAssertEqual(counts.count, 30)
        XCTAssertEqual((0..<5).map { column in counts.map { $0[column] }.reduce(0, +) }, [26, 26, 30, 55, 43])
        XCTAssertEqual(try XCTUnwrap(Agreement.fleissKappa(counts: counts)), 0.4302445, accuracy: 5e-7)
    }

    /// Items with one rating carry no agreement; unequal numbers of raters use each item's own
    /// pairs; one category for everything has no κ.
    func testFleissKappaEdgeCases() throws {
        XCTAssertNil(Agreement.fleissKappa(counts: [[1, 0], [0, 1]]))
        XCTAssertNil(Agreement.fleissKappa(counts: [[2, 0], [3, 0]]))
        // Perfect agreement: κ = 1 whatever the numbers of raters; the single rating is left out.
        XCTAssertEqual(try XCTUnwrap(Agreement.fleissKappa(counts: [[2, 0], [0, 3], [1, 0]])), 1, accuracy: 1e-12)
        // Two raters who always disagree on two categories: P̄ = 0, P̄e = 0.5, κ = −1.
        XCTAssertEqual(try XCTUnwrap(Agreement.fleissKappa(counts: [[1, 1], [1, 1]])), -1, accuracy: 1e-12)
    }
}
