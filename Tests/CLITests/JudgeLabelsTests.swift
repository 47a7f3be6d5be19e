import AdvAnalysis
import AdvTensor
import Foundation
import TestSupport
import XCTest

@testable import AdvReport

/// A small report folder for the people's-labels commands: results.json with no study in it (so
/// a test need not run one; the render path only reads it), and a judge set of four settings
/// whose images all differ.
enum JudgeFixture {
    static let settings = [
        (JudgeSettings.real, "real", 6), (JudgeSettings.plainSamples(generator: "dcgan"), "plain-gan", 2),
        (JudgeSettings.unrestricted(generator: "dcgan", variant: "targeted", model: "natural"), "unrestricted", 4),
        (JudgeSettings.perturbation(method: "pgd", norm: "linf", eps: 0.3, model: "natural"), "perturbation", 4),
    ]

    static func judgeSet() -> JudgeSet {
        var items: [JudgeItem] = []
        var rng = SeededGenerator(seed: 77)
        for (setting, kind, count) in settings {
            for _ in 0..<count {
                let index = items.count
                items.append(
                    JudgeItem(
                        id: "\(kind)-\(index)", kind: kind, intended: index % 10, setting: setting,
                        other: kind == "unrestricted" ? (index + 3) % 10 : nil,
                        image01: Tensor.randomUniform([1, 1, 28, 28], using: &rng)))
            }
        }
        return JudgeSet(
            seed: 5, items: items,
            settings: settings.map {
                JudgeSetting(
                    setting: $0.0, kind: $0.1,
                    knn_keeps_intended: 0.625)
            })
    }

    static func results() -> ReportResults {
        ReportResults(
            seed: 5, quick: true, settings: .quick, models: ["natural": "n.safetensors", "robust": "r.safetensors"],
            generator: "g.safetensors", embedding: "t.safetensors",
            generalization: Generalization(test_images: 0, plain_samples_per_class: 0, models: []), robustness: [],
            minimal_perturbations: [], condition_two_curves: [], unrestricted: [], combination: [], invariance: [],
            distances: DistanceAnalysis(per_class: 0, mean_pairwise: [:], rows_not_closest_to_self: [:]), per_class_eps: [],
            human: nil, condition_one_rule: ConditionOneRule(), conclusions: [], figures: [:], seconds: 0)
    }

    /// Writes results.json, judge-set.json and the pages into `folder`.
    static func writeReport(into folder: URL) throws {
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        var results = results()
        // The fingerprint of the run's inputs: one stand-in checkpoint in the folder.
        let model = folder.appendingPathComponent("model.safetensors").path
        try Data("weights".utf8).write(to: URL(fileURLWithPath: model))
        results.fingerprint = RunFingerprint(
            files: [.init(role: "natural", path: model, sha256: try RunFingerprint.digest(path: model))], executable_sha256: nil)
        try ReportResults.jsonText(results).write(to: folder.appendingPathComponent("results.json"), atomically: true, encoding: .utf8)
        try judgeSet().write(to: folder.appendingPathComponent("judge-set.json").path)
        let document = ReportContent.document(results)
        try document.markdown().write(to: folder.appendingPathComponent("report.md"), atomically: true, encoding: .utf8)
        try document.html().write(to: folder.appendingPathComponent("index.html"), atomically: true, encoding: .utf8)
    }

    /// A labels file for `set` answering `answer(item)`.
    static func labels(_ name: String, set: JudgeSet, instruction: String = "lenient", answer: (JudgeItem) -> Int?) -> HumanLabels {
        HumanLabels(
            page_seed: set.seed, annotator: name, instruction: instruction, origin: "page",
            labels: set.items.map {
                HumanLabels.Label(
                    id: $0.id, kind: $0.kind, intended: $0.intended, setting: $0.setting,
                    answer: answer($0))
            })
    }
}

/// `advlab report --render --human` and `advlab judge --mturk / --import-mturk` through the binary.
final class JudgeLabelsTests: CLITestCase {
    func write(_ labels: HumanLabels, _ name: String) throws -> String {
        let path = work.appendingPathComponent(name).path
        let encoder = JSONEncoder()
        try encoder.encode(labels).write(to: URL(fileURLWithPath: path))
        return path
    }

    /// Two annotators fold into an existing report without running the study: the section shows
    /// κ and the flag, results.json holds the figures, --verify passes; --exclude-flagged leaves
    /// the careless one out.
    ///
    /// Mutant: --render ignoring --human (as before issue 22) was planted and failed.
    func testRenderFoldsSeveralAnnotators() throws {
        let folder = root.appendingPathComponent("report")
        try JudgeFixture.writeReport(into: folder)
        let set = JudgeFixture.judgeSet()
        let careful = try write(JudgeFixture.labels("ada", set: set) { $0.intended }, "ada.json")
        // Two of six real images wrong: flagged.
        let careless = try write(
            JudgeFixture.labels("bo", set: set) { $0.kind == "real" && $0.intended < 2 ? nil : $0.intended },
            "bo.json")
        let result = try run(["report", "--render", folder.path, "--human", careful, "--human", careless])
        XCTAssertEqual(result.status, 0, result.standardError)
        XCTAssertTrue(result.standardError.contains("flagged: bo"), result.standardError)
        let markdown = try String(contentsOf: folder.appendingPathComponent("report.md"), encoding: .utf8)
        XCTAssertTrue(markdown.contains("## People's labels"))
        XCTAssertTrue(markdown.contains("Fleiss' κ"))
        let results = try ReportResults.decode(try Data(contentsOf: folder.appendingPathComponent("results.json")))
        let people = try XCTUnwrap(results.human)
        XCTAssertEqual(people.annotators.map(\.flagged), [false, true])
        let real = try XCTUnwrap(people.setting(JudgeSettings.real))
        XCTAssertEqual(real.intended, 10.0 / 12, accuracy: 1e-12)
        XCTAssertTrue(markdown.contains("| \(JudgeSettings.real) | 6 | 2 | 12 | 0.833 |"), markdown)
        XCTAssertTrue(results.conclusions.contains { $0.question.contains("people see") && $0.answer.contains("bo, still counted") })
        XCTAssertEqual(try run(["report", "--verify", folder.path]).status, 0)

        XCTAssertEqual(
            try run(["report", "--render", folder.path, "--human", careful, "--human", careless, "--exclude-flagged"]).status, 0)
        let kept = try XCTUnwrap(try ReportResults.decode(try Data(contentsOf: folder.appendingPathComponent("results.json"))).human)
        XCTAssertEqual(kept.setting(JudgeSettings.real)?.labels, 6)
    }

    func testHumanIsNeverSilentlyIgnored() throws {
        let folder = root.appendingPathComponent("report")
        try JudgeFixture.writeReport(into: folder)
        let labels = try write(JudgeFixture.labels("ada", set: JudgeFixture.judgeSet()) { $0.intended }, "ada.json")
        try assertOneLineError(["report", "--verify", folder.path, "--human", labels], mentions: ["--verify", "--render"])
        try assertOneLineError(["report", "--render", folder.path, "--exclude-flagged"], mentions: ["--exclude-flagged", "--human"])
        try assertOneLineError(["report", "--render", folder.path, "--human", "missing.json"], mentions: ["--human", "missing.json"])
        var other = JudgeFixture.labels("cy", set: JudgeFixture.judgeSet()) { $0.intended }
        other.labels[0].id = "real-999"
        let foreign = try write(other, "cy.json")
        try assertOneLineError(
            ["report", "--render", folder.path, "--human", foreign], mentions: ["cy.json", "real-999", "judge-set.json"])
    }

    /// HITs from a report, MTurk's results for them, labels back: the same answers per worker;
    /// the labels then fold into the report.
    func testMTurkRoundTripThroughTheCommands() throws {
        let folder = root.appendingPathComponent("report")
        try JudgeFixture.writeReport(into: folder)
        let set = JudgeFixture.judgeSet()
        let made = try run(["judge", "--from", folder.path, "--mturk", "hits", "--instruction", "strict", "--seed", "5"])
        XCTAssertEqual(made.status, 0, made.standardError)
        let input = try String(contentsOf: work.appendingPathComponent("hits/input.csv"), encoding: .utf8)
        XCTAssertTrue(try String(contentsOf: work.appendingPathComponent("hits/layout.html"), encoding: .utf8).contains("${image_5}"))
        let right = Dictionary(uniqueKeysWithValues: set.items.map { ($0.id, Optional($0.intended)) })
        let onlyReal = Dictionary(uniqueKeysWithValues: set.items.map { ($0.id, $0.kind == "real" ? $0.intended : nil) })
        let answers: [String: [String: Int?]] = ["W1": right, "W2": onlyReal]
        try MTurkResults.csv(input: input, answers: answers).write(
            to: work.appendingPathComponent("results.csv"), atomically: true,
            encoding: .utf8)
        let imported = try run(["judge", "--from", folder.path, "--import-mturk", "results.csv", "--out", "labels"])
        XCTAssertEqual(imported.status, 0, imported.standardError)
        for worker in ["W1", "W2"] {
            let labels = try HumanLabels.load(path: work.appendingPathComponent("labels/labels-mturk-\(worker).json").path)
            XCTAssertEqual(labels.instruction, "strict")
            XCTAssertEqual(labels.labels.count, set.items.count)
            for label in labels.labels { XCTAssertEqual(label.answer, answers[worker]?[label.id] ?? -1, "\(worker) \(label.id)") }
        }
        let folded = try run([
            "report", "--render", folder.path, "--human", "labels/labels-mturk-W1.json", "--human",
            "labels/labels-mturk-W2.json",
        ])
        XCTAssertEqual(folded.status, 0, folded.standardError)
    }

    func testAForeignResultsCSVNamesColumnAndRow() throws {
        let folder = root.appendingPathComponent("report")
        try JudgeFixture.writeReport(into: folder)
        try "HITId,WorkerId,Answer.tag_0\r\nH1,W1,3\r\n".write(
            to: work.appendingPathComponent("foreign.csv"), atomically: true,
            encoding: .utf8)
        try assertOneLineError(
            ["judge", "--from", folder.path, "--import-mturk", "foreign.csv", "--out", "labels"],
            mentions: ["foreign.csv", "row 1", "Input.item_1"])
        try assertOneLineError(["judge", "--from", folder.path, "--import-mturk", "foreign.csv"], mentions: ["--import-mturk", "--out"])
    }

    /// A page from an `advlab unrestricted` folder: its successes, plus real test images as
    /// attention checks; a folder without a judge set is named.
    func testAPageFromAnUnrestrictedFolder() throws {
        let data = try mnistDirectory()
        let folder = try makeFolder("search")
        let search = JudgeFixture.judgeSet().items.filter { $0.kind == "unrestricted" }
        try JudgeSet(seed: 1, items: search).write(to: folder.appendingPathComponent("judge-set.json").path)
        let result = try run(["judge", "--from-unrestricted", folder.path, "--per-setting", "4", "--data", data, "--out", "page.html"])
        XCTAssertEqual(result.status, 0, result.standardError)
        let page = try String(contentsOf: work.appendingPathComponent("page.html"), encoding: .utf8)
        XCTAssertEqual(page.components(separatedBy: "\"kind\":\"unrestricted\"").count - 1, search.count)
        XCTAssertEqual(page.components(separatedBy: "\"kind\":\"real\"").count - 1, 4)
        try assertOneLineError(
            ["judge", "--from-unrestricted", root.path, "--data", data, "--out", "x.html"],
            mentions: ["judge-set.json", "advlab unrestricted"])
    }

    /// The page from a report offers every setting of its judge set.
    func testThePageHoldsEverySetting() throws {
        let folder = root.appendingPathComponent("report")
        try JudgeFixture.writeReport(into: folder)
        let result = try run(["judge", "--from", folder.path, "--out", "page/judge.html", "--per-setting", "3", "--seed", "2"])
        XCTAssertEqual(result.status, 0, result.standardError)
        let page = try String(contentsOf: work.appendingPathComponent("page/judge.html"), encoding: .utf8)
        XCTAssertEqual(page.components(separatedBy: "data:image/png;base64,").count - 1, 3 + 2 + 3 + 3)
        for (setting, _, _) in JudgeFixture.settings { XCTAssertTrue(page.contains(JudgePage.jsonString(setting)), setting) }
        XCTAssertTrue(page.contains("const pageSeed = 2;"))
    }
}

/// Mechanical Turk's results CSV for an input CSV (`mturkResultRows`).
enum MTurkResults {
    static func csv(input: String, answers: [String: [String: Int?]]) throws -> String {
        CSV.text(mturkResultRows(input: try CSV.parse(input), answers: answers, imagesPerHIT: MTurk.imagesPerHIT, none: MTurk.noneAnswer))
    }
}
