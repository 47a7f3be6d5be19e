import Foundation
import XCTest

/// One implementation per measurement: the report and the commands compute the same quantity
/// through the same library function, so on the same settings they print the same numbers.
/// One quick report (seed 0) is run once for the class; each test then runs a command on the
/// report's settings and compares.
final class OneMeasurementTests: CLITestCase {
    /// The quick report's results.json, run once for the class (several minutes in a debug
    /// build), or the error.
    nonisolated(unsafe) static var quickReport: Result<[String: Any], Error>?

    /// `ADVLAB_QUICK_REPORT`: a folder holding `advlab report --quick --seed 0` on the committed
    /// checkpoints, made by the release build (`.ci/run` runs `Scripts/demo --quick` first and
    /// points here at its `out/report`), which the tests then compare against instead of running
    /// the report again in the debug build. It must say it is a quick report of seed 0.
    func existingQuickReport() throws -> [String: Any]? {
        guard let folder = ProcessInfo.processInfo.environment["ADVLAB_QUICK_REPORT"], !folder.isEmpty else { return nil }
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: folder + "/results.json")))
        let results = try XCTUnwrap(json as? [String: Any], "\(folder)/results.json is not an object")
        guard results["quick"] as? Bool == true, (results["seed"] as? NSNumber)?.intValue == 0 else {
            throw ProcessFailure(message: "ADVLAB_QUICK_REPORT \(folder): not a quick report of seed 0")
        }
        return results
    }

    func quickResults() throws -> [String: Any] {
        if let report = Self.quickReport { return try report.get() }
        if let existing = try existingQuickReport() {
            Self.quickReport = .success(existing)
            return existing
        }
        let data = try mnistDirectory()
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("advlab-one-measurement-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let result = try run([
            "report", "--quick", "--seed", "0", "--data", data, "--out", folder.path,
            "--natural", checkpoint("classifier-natural.safetensors"),
            "--robust", checkpoint("classifier-robust.safetensors"),
            "--generator", checkpoint("acgan.safetensors"), "--embedding", checkpoint("triplet.safetensors"),
        ])
        let parsed = Result<[String: Any], Error> {
            guard result.status == 0 else { throw ProcessFailure(message: "advlab report --quick failed: \(result.standardError)") }
            let json = try JSONSerialization.jsonObject(with: Data(contentsOf: folder.appendingPathComponent("results.json")))
            return try XCTUnwrap(json as? [String: Any])
        }
        Self.quickReport = parsed
        return try parsed.get()
    }

    struct ProcessFailure: Error, CustomStringConvertible {
        var message: String
        var description: String { message }
    }

    /// The report's robustness row for a model, method, norm and ε.
    func reportRow(_ results: [String: Any], model: String, method: String, norm: String, eps: Double) throws -> [String: Any] {
        let rows = try XCTUnwrap(results["robustness"] as? [[String: Any]])
        return try XCTUnwrap(
            rows.first {
                $0["model"] as? String == model && $0["method"] as? String == method && $0["norm"] as? String == norm
                    && abs(($0["eps"] as? Double ?? -1) - eps) < 1e-9
            }, "no \(model) \(method) \(norm) \(eps) row in the quick report")
    }

    /// `advlab conditions` with the report's query count and seed states condition (2) exactly as
    /// the report's rows do: every field of the verdict, for both norms.
    func testConditionsCommandAndReportAgree() throws {
        let results = try quickResults()
        let settings = try XCTUnwrap(results["settings"] as? [String: Any])
        let queries = try XCTUnwrap(settings["condition_two_queries"] as? Int)
        for (norm, eps) in [("linf", 0.3), ("l2", 4.5)] {
            let row = try reportRow(results, model: "natural", method: "pgd", norm: norm, eps: eps)
            let fromReport = try XCTUnwrap(row["condition_two"] as? [String: Any])
            let command = try run([
                "conditions", "--norm", norm, "--eps", String(eps), "--queries", String(queries), "--seed", "0",
                "--model", checkpoint("classifier-natural.safetensors"), "--data", try mnistDirectory(), "--json",
            ])
            XCTAssertEqual(command.status, 0, command.standardError)
            let output = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(command.standardOutput.utf8)) as? [String: Any])
            let fromCommand = try XCTUnwrap(output["condition_two"] as? [String: Any])
            XCTAssertEqual(NSDictionary(dictionary: fromCommand), NSDictionary(dictionary: fromReport), "condition (2), \(norm) ε \(eps)")
            XCTAssertNotNil(fromCommand["share_with_misclassified_within_eps"] as? Double)
        }
    }

    /// `advlab attack --method pgd` with the report's budget (ε, steps, default step size, images)
    /// and the report's seed for its attacks (report seed + 101) is the report's PGD: the same
    /// step size and the same robust accuracy, overall and per class.
    func testAttackCommandAndReportUseTheSamePGD() throws {
        let results = try quickResults()
        let settings = try XCTUnwrap(results["settings"] as? [String: Any])
        let images = try XCTUnwrap(settings["attack_images"] as? Int)
        let steps = try XCTUnwrap(settings["attack_steps"] as? Int)
        let row = try reportRow(results, model: "natural", method: "pgd", norm: "linf", eps: 0.1)
        let command = try run([
            "attack", "--method", "pgd", "--norm", "linf", "--eps", "0.1", "--steps", String(steps),
            "--count", String(images), "--seed", "101", "--model", checkpoint("classifier-natural.safetensors"),
            "--data", try mnistDirectory(), "--out", root.appendingPathComponent("attack").path, "--json",
        ])
        XCTAssertEqual(command.status, 0, command.standardError)
        let summary = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(command.standardOutput.utf8)) as? [String: Any])
        let stepSize = try XCTUnwrap((summary["settings"] as? [String: Any])?["step_size"] as? Double)
        let factor = try XCTUnwrap(settings["pgd_step_factor"] as? Double)
        XCTAssertEqual(stepSize, Double(Float(factor) * Float(0.1) / Float(steps)), accuracy: 1e-7, "the report's step rule")
        XCTAssertEqual(summary["robust_accuracy"] as? Double, row["robust_accuracy"] as? Double)
        XCTAssertEqual(summary["per_class_robust_accuracy"] as? [Double], row["per_class_robust_accuracy"] as? [Double])
        XCTAssertEqual(summary["clean_accuracy"] as? Double, row["clean_accuracy"] as? Double)
    }

    /// `advlab unrestricted --all-pairs` with the report's search settings and the report's
    /// stream for its searches (report seed + 211) is the report's targeted search against the
    /// natural model: the same success rate, per pair, auxiliary confidence, panel and judges'
    /// agreement, and nearest-training-image distances.
    func testUnrestrictedCommandAndReportRunTheSameSearch() throws {
        let results = try quickResults()
        let settings = try XCTUnwrap(results["settings"] as? [String: Any])
        let rows = try XCTUnwrap(results["unrestricted"] as? [[String: Any]])
        let row = try XCTUnwrap(rows.first { $0["model"] as? String == "natural" && $0["variant"] as? String == "targeted" })
        let out = root.appendingPathComponent("unrestricted").path
        var arguments = [
            "unrestricted", "--all-pairs", "--count", String(try XCTUnwrap(settings["unrestricted_per_pair"] as? Int)),
            "--steps", String(try XCTUnwrap(settings["unrestricted_steps"] as? Int)),
            "--lr", String(try XCTUnwrap(settings["unrestricted_lr"] as? Double)),
            "--start-candidates", String(try XCTUnwrap(settings["unrestricted_start_candidates"] as? Int)),
            "--seed", "211", "--model", checkpoint("classifier-natural.safetensors"),
            "--natural", checkpoint("classifier-natural.safetensors"), "--generator", checkpoint("acgan.safetensors"),
            "--embedding", checkpoint("triplet.safetensors"), "--data", try mnistDirectory(), "--out", out, "--json",
        ]
        if FileManager.default.fileExists(atPath: checkpoint("judge-robust.safetensors")) {
            arguments += ["--judge", checkpoint("judge-robust.safetensors")]
        }
        let command = try run(arguments)
        XCTAssertEqual(command.status, 0, command.standardError)
        let summary = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(command.standardOutput.utf8)) as? [String: Any])
        XCTAssertEqual(summary["count"] as? Int, row["count"] as? Int)
        for key in ["success_rate", "auxiliary_source_confidence_on_successes", "valid_success_rate", "panel_agreement_on_successes"] {
            XCTAssertEqual(summary[key] as? Double, row[key] as? Double, key)
        }
        XCTAssertEqual(summary["panel"] as? [String], row["panel"] as? [String])
        XCTAssertEqual(
            NSDictionary(dictionary: try XCTUnwrap(summary["judge_agreement_on_successes"] as? [String: Any])),
            NSDictionary(dictionary: try XCTUnwrap(row["judge_agreement_on_successes"] as? [String: Any])))
        XCTAssertEqual(
            NSArray(array: try XCTUnwrap(summary["per_pair"] as? [Any])),
            NSArray(array: try XCTUnwrap(row["per_pair"] as? [Any])))
        let quantiles = try XCTUnwrap(row["nearest_train_l2_quantiles"] as? [Double])
        XCTAssertEqual(summary["median_nearest_train_l2"] as? Double, quantiles.last)
    }
}
