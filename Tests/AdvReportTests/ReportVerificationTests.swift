import Foundation
import XCTest

@testable import AdvReport

/// `--verify` with power (issue 23, item 1): a swapped cell of results.json, an edited page
/// number or caption, an inconsistent figure and a changed input file each make it fail, and the
/// real fixture passes.
final class ReportVerificationTests: XCTestCase {
    func folder() throws -> String { try ReportTests.writeReport(ReportTests.fixture()) }

    func results(_ folder: String) throws -> ReportResults {
        try ReportResults.decode(try Data(contentsOf: URL(fileURLWithPath: folder + "/results.json")))
    }

    func save(_ results: ReportResults, _ folder: String) throws {
        try ReportResults.jsonText(results).write(toFile: folder + "/results.json", atomically: true, encoding: .utf8)
    }

    func testTheFixturePasses() throws {
        XCTAssertEqual(ReportChecks.problems(folder: try folder()), [])
    }

    /// Two cells swapped in results.json: both numbers are still values of results.json, so the
    /// number check alone passes; the pages rendered again differ.
    func testSwappedCellsInTheResultsFail() throws {
        let folder = try folder()
        var r = try results(folder)
        let natural = r.generalization.models[0].test_error
        r.generalization.models[0].test_error = r.generalization.models[1].test_error
        r.generalization.models[1].test_error = natural
        try save(r, folder)
        let problems = ReportChecks.problems(folder: folder)
        XCTAssertFalse(problems.contains { $0.contains("is not a value") }, "the swap keeps every number a value: \(problems)")
        XCTAssertTrue(problems.contains { $0.hasPrefix("report.md: differs from the page rendered again") }, "\(problems)")
        XCTAssertTrue(problems.contains { $0.hasPrefix("index.html: differs from the page rendered again") }, "\(problems)")
    }

    /// A number on the page replaced by another value of results.json, and a caption edited.
    func testEditedPagesFail() throws {
        for (from, to) in [("0.923", "0.712"), ("Robust accuracy against ε under L∞", "Accuracy against ε under L∞")] {
            let folder = try folder()
            let page = try String(contentsOfFile: folder + "/report.md", encoding: .utf8)
            XCTAssertTrue(page.contains(from), from)
            try page.replacingOccurrences(of: from, with: to).write(toFile: folder + "/report.md", atomically: true, encoding: .utf8)
            let problems = ReportChecks.problems(folder: folder)
            XCTAssertEqual(problems.count, 1, "\(from) → \(to): \(problems)")
            XCTAssertTrue(problems.first?.hasPrefix("report.md: differs") ?? false, "\(problems)")
        }
    }

    /// Results that disagree with themselves, each named by its field (the pages are rendered
    /// from the edited results, so only the consistency check can catch these).
    func testInconsistentResultsAreNamed() throws {
        var r = ReportTests.fixture()
        XCTAssertEqual(ReportVerification.consistencyProblems(r), [])
        r.robustness[1].robust_accuracy = 0.995
        r.robustness[2].per_class_robust_accuracy[4] = 0.5
        r.unrestricted[0].valid_success_rate = 0.9
        r.unrestricted[0].per_source_success_rate[0] = 0.1
        r.generalization.models[0].test_error = 1.2
        r.condition_two_curves[0].share_with_same_class_within_eps = [0, 0.5, 0.2]
        let problems = ReportVerification.consistencyProblems(r)
        for expected in [
            "robustness[1] (natural pgd linf ε 0.3).robust_accuracy 0.995 exceeds its clean_accuracy 0.99",
            "robustness[1] (natural pgd linf ε 0.3).per_class_robust_accuracy averages to",
            "robustness[2] (robust pgd linf ε 0.3).per_class_robust_accuracy averages to",
            "unrestricted[0] (natural targeted).valid_success_rate 0.9 exceeds its success_rate 0.8222",
            "unrestricted[0] (natural targeted).per_source_success_rate averages to",
            "generalization natural.test_error = 1.2 is not a share in [0, 1]",
            "condition_two_curves[0] (linf) falls with ε",
        ] {
            XCTAssertTrue(problems.contains { $0.contains(expected) }, "missing: \(expected) in \(problems)")
        }
        XCTAssertEqual(problems.count, 7, "\(problems)")
    }

    /// A checkpoint changed after the run, or results without a fingerprint, fail.
    func testTheFingerprintIsCheckedAgainstTheFiles() throws {
        let folder = try folder()
        try Data("other weights".utf8).write(to: URL(fileURLWithPath: folder + "/model.safetensors"))
        XCTAssertEqual(
            ReportChecks.problems(folder: folder),
            ["results.json: \(folder)/model.safetensors (natural) is not the file the study read (SHA-256 differs)"])
        var r = try results(folder)
        r.fingerprint = nil
        try save(r, folder)
        XCTAssertEqual(ReportChecks.problems(folder: folder), ["results.json: no fingerprint of the checkpoints and data the study read"])
    }

    /// Robust accuracy that rises with ε is stated on the page.
    func testRisingRobustAccuracyIsStated() throws {
        var r = ReportTests.fixture()
        XCTAssertEqual(ReportVerification.risingRobustness(r), [])
        r.robustness[0].robust_accuracy = 0.0001  // natural L∞ 0.1 below its 0.3 (0.0012)
        let notes = ReportVerification.risingRobustness(r)
        XCTAssertEqual(notes, ["natural PGD L∞: robust accuracy rises from 0.000 at ε 0.1 to 0.001 at ε 0.3"])
        XCTAssertTrue(ReportContent.document(r).markdown().contains("Robust accuracy rises with ε here"))
    }
}
