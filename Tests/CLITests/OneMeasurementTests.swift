import AdvAnalysis
import AdvData
import AdvTensor
import Foundation
import XCTest

@testable import AdvReport

/// One implementation per measurement: the report and the commands compute the same quantity
/// through the same library function, so on the same settings they print the same numbers.
/// One quick report (seed 0) is run once for the class; each test then runs a command on the
/// report's settings and compares.
final class OneMeasurementTests: CLITestCase {
    /// The quick report's results.json, run once for the class (several minutes in a debug
    /// build), or the error.
    nonisolated(unsafe) static var quickReport: Result<[String: Any], Error>?
    /// Its folder (`ADVLAB_QUICK_REPORT`, or the one made for the class, removed after the class).
    nonisolated(unsafe) static var quickFolder: String?
    nonisolated(unsafe) static var madeFolder: URL?

    override class func tearDown() {
        if let madeFolder { try? FileManager.default.removeItem(at: madeFolder) }
        super.tearDown()
    }

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
            Self.quickFolder = ProcessInfo.processInfo.environment["ADVLAB_QUICK_REPORT"]
            return existing
        }
        let data = try mnistDirectory()
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("advlab-one-measurement-\(UUID().uuidString)")
        Self.madeFolder = folder
        Self.quickFolder = folder.path
        var arguments = [
            "report", "--quick", "--seed", "0", "--data", data, "--out", folder.path,
            "--natural", checkpoint("classifier-natural.safetensors"),
            "--robust", checkpoint("classifier-robust.safetensors"),
            "--generator", checkpoint("acgan.safetensors"), "--embedding", checkpoint("triplet.safetensors"),
        ]
        // The panel of the demo's report (run from the repository, where the default judge is found).
        if FileManager.default.fileExists(atPath: checkpoint("judge-robust.safetensors")) {
            arguments += ["--judge", checkpoint("judge-robust.safetensors")]
        }
        let result = try run(arguments)
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
        for key in [
            "success_rate", "auxiliary_source_confidence_on_successes", "valid_success_rate", "panel_agreement_on_successes",
            "panel_agreement_on_starts_of_successes",
        ] {
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

    /// `advlab attack --method autoattack` with the report's AutoAttack version, iterations and
    /// queries, its images and its seed for attacks (report seed + 101) is the report's headline:
    /// the same robust accuracy, overall, per class and after every stage, on the robust model at
    /// L∞ 0.3 and the natural one at L2 4.5; and the report's proxies of (1) are computed on the
    /// command's adversarial images (each example's image from the stage that fooled it), not on
    /// PGD's: SSIM, background and ink change recomputed from adversarial.npy are the report's.
    ///
    /// Mutants, each planted in the report, run as a release-build quick report and given to this
    /// test through ADVLAB_QUICK_REPORT, then removed: (1)'s proxies computed on PGD's outcome at the
    /// same ε instead of AutoAttack's failed it (SSIM, background and ink change, successes), and
    /// so did `--verify` on that report; running only the version's first stage (APGD-T dropped)
    /// failed it too.
    func testAttackCommandAndReportRunTheSameAutoAttack() throws {
        let results = try quickResults()
        let settings = try XCTUnwrap(results["settings"] as? [String: Any])
        let images = try XCTUnwrap(settings["attack_images"] as? Int)
        let version = try XCTUnwrap(settings["autoattack_version"] as? String)
        let iterations = try XCTUnwrap(settings["autoattack_iterations"] as? Int)
        let queries = try XCTUnwrap(settings["autoattack_square_queries"] as? Int)
        let test = try MNIST.load(split: .test, directory: try mnistDirectory(), verifyHashes: false)
        let clean = test.images.slice(0..<images)
        let labels = Array(test.labels[0..<images])
        for (model, norm, eps) in [("robust", "linf", 0.3), ("natural", "l2", 4.5)] {
            let row = try reportRow(results, model: model, method: "autoattack", norm: norm, eps: eps)
            let out = root.appendingPathComponent("autoattack-\(model)-\(norm)").path
            let command = try run([
                "attack", "--method", "autoattack", "--version", version, "--steps", String(iterations), "--queries", String(queries),
                "--norm", norm, "--eps", String(eps), "--count", String(images), "--seed", "101",
                "--model", checkpoint("classifier-\(model).safetensors"), "--data", try mnistDirectory(), "--out", out, "--json",
            ])
            XCTAssertEqual(command.status, 0, command.standardError)
            let summary = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(command.standardOutput.utf8)) as? [String: Any])
            let setting = "\(model) \(norm) ε \(eps)"
            for key in ["robust_accuracy", "clean_accuracy"] {
                XCTAssertEqual(summary[key] as? Double, row[key] as? Double, "\(setting): \(key)")
            }
            XCTAssertEqual(summary["per_class_robust_accuracy"] as? [Double], row["per_class_robust_accuracy"] as? [Double], setting)
            let commandStages = try XCTUnwrap(summary["stages"] as? [[String: Any]])
            let reportStages = try XCTUnwrap(row["stages"] as? [[String: Any]], "\(setting): the report's row has no stages")
            XCTAssertEqual(reportStages.map { $0["name"] as? String }, commandStages.map { $0["name"] as? String }, setting)
            XCTAssertEqual(reportStages.count, version == "fast" ? 2 : 4, "\(setting): every stage of the \(version) version")
            for key in ["robust_accuracy", "attacked", "robust"] {
                XCTAssertEqual(
                    reportStages.map { ($0[key] as? NSNumber)?.doubleValue }, commandStages.map { ($0[key] as? NSNumber)?.doubleValue },
                    "\(setting): stages' \(key)")
            }
            // (1)'s proxies on the command's images.
            let adversarial = try NPY.read(out + "/adversarial.npy")
            let sameShape = adversarial.shape == clean.shape
            XCTAssertTrue(sameShape, "\(setting): adversarial.npy has shape \(adversarial.shape)")
            guard sameShape else { continue }
            let proxies = ConditionOneMeasurements(
                clean: clean, adversarial: adversarial, labels: labels, success: Array(repeating: false, count: labels.count)
            ).values(Array(labels.indices))
            let overall = try XCTUnwrap((row["condition_one"] as? [String: Any])?["overall"] as? [String: Any])
            // To the last bits: the report ran in another build (ADVLAB_QUICK_REPORT is the release build's), whose
            // optimiser may sum in another order, and its figures went through JSON.
            for (key, value) in [
                ("ssim", proxies.ssim), ("background_changed", proxies.background_changed), ("ink_change", proxies.ink_change),
            ] {
                XCTAssertEqual(
                    overall[key] as? Double ?? .nan, value, accuracy: 1e-12, "\(setting): (1)'s \(key) is not on AutoAttack's images")
            }
            let robustCount = Int(((summary["robust_accuracy"] as? Double ?? -1) * Double(images)).rounded())
            XCTAssertEqual(overall["successes"] as? Int, images - robustCount, "\(setting): (1)'s successes are not AutoAttack's")
        }
        // PGD keeps its curve, with AutoAttack's points on it.
        let folder = try XCTUnwrap(Self.quickFolder)
        let plot = try String(contentsOfFile: folder + "/robustness-linf.svg", encoding: .utf8)
        XCTAssertTrue(plot.contains("<title>robust pgd</title>"), "PGD's curve is gone")
        XCTAssertTrue(plot.contains("<title>robust AutoAttack (\(version))</title>"), "no AutoAttack points on the L∞ plot")
    }

    /// `advlab report --verify` passes the quick report, and fails a copy whose AutoAttack figures
    /// were corrupted (then rendered again, so that the pages match the corrupted numbers) with one
    /// line naming the field: a stage that raises robust accuracy, a dropped stage, a headline
    /// above PGD's figure.
    ///
    /// Mutant: `ReportChecks.problems` without `autoAttackProblems` was planted and failed this
    /// test (--verify passed every corrupted copy); it was then removed.
    func testVerifyFailsOnCorruptedAutoAttackFigures() throws {
        _ = try quickResults()
        let source = try XCTUnwrap(Self.quickFolder)
        let passed = try run(["report", "--verify", source] + dataFlag)
        XCTAssertEqual(passed.status, 0, passed.standardError)
        let original = try ReportResults.decode(Data(contentsOf: URL(fileURLWithPath: source + "/results.json")))
        let index = try XCTUnwrap(
            original.robustness.firstIndex { $0.model == "robust" && $0.method == "autoattack" && $0.norm == "linf" },
            "no robust L∞ AutoAttack row")
        let pgd = try XCTUnwrap(original.setting("robust", "pgd", "linf", original.robustness[index].eps))
        let corruptions: [(String, (inout AttackSetting) -> Void)] = [
            (
                "robustness[\(index)].stages[1].robust_accuracy",
                { row in
                    let first = row.stages?[0].robust_accuracy ?? 0
                    row.stages?[1].robust_accuracy = first + 0.01
                }
            ),
            ("robustness[\(index)].stages:", { row in row.stages?.removeLast() }),
            (
                "robustness[\(index)].robust_accuracy",
                { row in
                    row.robust_accuracy = pgd.robust_accuracy + 0.01
                    for stage in (row.stages ?? []).indices { row.stages?[stage].robust_accuracy = row.robust_accuracy }
                    row.condition_one.overall.successes = row.count - Int((row.robust_accuracy * Double(row.count)).rounded())
                }
            ),
        ]
        for (number, (field, corrupt)) in corruptions.enumerated() {
            let copy = root.appendingPathComponent("corrupted-\(number)").path
            try FileManager.default.copyItem(atPath: source, toPath: copy)
            var results = original
            corrupt(&results.robustness[index])
            try ReportResults.jsonText(results).write(toFile: copy + "/results.json", atomically: true, encoding: .utf8)
            let rendered = try run(["report", "--render", copy])
            XCTAssertEqual(rendered.status, 0, rendered.standardError)
            _ = try assertOneLineError(["report", "--verify", copy] + dataFlag, mentions: ["--verify", field])
        }
    }
}
