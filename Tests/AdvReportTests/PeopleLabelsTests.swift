import AdvTensor
import Foundation
import TestSupport
import XCTest

@testable import AdvAttacks
@testable import AdvReport

/// People's labels: the judge set's stratified picks, folding several annotators into per-setting
/// figures with attention checks, and MTurk's CSVs in and out.
final class PeopleLabelsTests: XCTestCase {
    static let unrestrictedSetting = JudgeSettings.unrestricted(generator: "dcgan", variant: "targeted", model: "natural")

    /// Ten real test images (classes 1…9, 0) and two unrestricted examples (3 meant, 5 the
    /// target; 4 meant, 9 the target).
    static func judgeSet() -> JudgeSet {
        let image = Tensor.zeros([1, 1, 28, 28])
        let real = (0..<10).map { index in
            JudgeItem(id: "real-\(index)", kind: "real", intended: (index + 1) % 10, setting: JudgeSettings.real, image01: image)
        }
        let unrestricted = [(3, 5), (4, 9)].enumerated().map { index, pair in
            JudgeItem(
                id: "unrestricted-\(10 + index)", kind: "unrestricted", intended: pair.0, setting: unrestrictedSetting, other: pair.1,
                image01: image)
        }
        return JudgeSet(
            seed: 4, items: real + unrestricted,
            settings: [
                JudgeSetting(setting: JudgeSettings.real, kind: "real", knn_keeps_intended: nil),
                JudgeSetting(setting: unrestrictedSetting, kind: "unrestricted", knn_keeps_intended: 0.8765, panel_keeps_intended: 0.4321),
            ])
    }

    /// alice answers every real image right; bob gets two of ten wrong (0.2: flagged), carol one
    /// (0.1: not more than 0.1, so not flagged). On the unrestricted pair: alice 3 and "not a
    /// digit", bob 5 and "not a digit", carol 3 and 4.
    static func annotators() -> [HumanLabels] {
        let set = judgeSet()
        func labels(_ name: String, real: [Int: Int?], unrestricted: [Int?]) -> HumanLabels {
            let answers: [Int?] = set.items.prefix(10).enumerated().map { index, item in real[index] ?? item.intended } + unrestricted
            var file = HumanLabels(
                page_seed: 4, annotator: name, instruction: "lenient", origin: "page",
                labels: zip(set.items, answers).map { item, answer in
                    HumanLabels.Label(
                        id: item.id, kind: item.kind, intended: item.intended, setting: item.setting,
                        answer: answer)
                })
            file.file = "\(name).json"
            return file
        }
        return [
            labels("alice", real: [:], unrestricted: [3, nil]), labels("bob", real: [0: 7, 1: Int?.none], unrestricted: [5, nil]),
            labels("carol", real: [0: 7], unrestricted: [3, 4]),
        ]
    }

    static func fold(excludeFlagged: Bool) throws -> HumanAgreement {
        try HumanAgreement.fold(annotators(), set: judgeSet(), setPath: "judge-set.json", excludeFlagged: excludeFlagged, noun: "digit")
    }

    /// Every figure of the section, hand-computed (κ and the intervals with the formulas of
    /// Fleiss 1971 and Wilson 1927, checked separately in AgreementTests).
    ///
    /// Mutants planted and failed: flagging at ≥ 0.1 instead of > 0.1 (carol flagged);
    /// --exclude-flagged ignored.
    func testFoldGivesEverySettingsFigures() throws {
        let all = try Self.fold(excludeFlagged: false)
        XCTAssertEqual(all.annotators.map(\.flagged), [false, true, false])
        XCTAssertEqual(all.annotators.map(\.attention_wrong), [0, 0.2, 0.1])
        XCTAssertEqual(all.annotators.map(\.excluded), [false, false, false])
        let real = try XCTUnwrap(all.setting(JudgeSettings.real))
        XCTAssertEqual([real.items, real.annotators, real.labels], [10, 3, 30])
        XCTAssertEqual(real.intended, 0.9, accuracy: 1e-12)
        XCTAssertEqual(real.intended_low, 0.7437891742, accuracy: 1e-9)
        XCTAssertEqual(real.intended_high, 0.9654001113, accuracy: 1e-9)
        XCTAssertEqual(real.not_a_class, 1.0 / 30, accuracy: 1e-12)
        XCTAssertNil(real.other)
        XCTAssertEqual(try XCTUnwrap(real.kappa), 0.8511166253, accuracy: 1e-9)
        let search = try XCTUnwrap(all.setting(Self.unrestrictedSetting))
        XCTAssertEqual([search.items, search.annotators, search.labels], [2, 3, 6])
        XCTAssertEqual(search.intended, 0.5, accuracy: 1e-12)
        XCTAssertEqual(search.not_a_class, 2.0 / 6, accuracy: 1e-12)
        XCTAssertEqual(try XCTUnwrap(search.other), 1.0 / 6, accuracy: 1e-12)
        XCTAssertEqual(try XCTUnwrap(search.kappa), 1.0 / 13, accuracy: 1e-9)
        XCTAssertEqual(search.knn_keeps_intended, 0.8765)
        XCTAssertEqual(search.panel_keeps_intended, 0.4321, "the panel's valid share stands beside the people's")
        XCTAssertNil(try XCTUnwrap(all.setting(JudgeSettings.real)).panel_keeps_intended)

        let kept = try Self.fold(excludeFlagged: true)
        XCTAssertEqual(kept.annotators.map(\.excluded), [false, true, false])
        let realKept = try XCTUnwrap(kept.setting(JudgeSettings.real))
        XCTAssertEqual([realKept.annotators, realKept.labels], [2, 20])
        XCTAssertEqual(realKept.intended, 0.95, accuracy: 1e-12)
        XCTAssertEqual(try XCTUnwrap(realKept.kappa), 0.8882681564, accuracy: 1e-9)
        let searchKept = try XCTUnwrap(kept.setting(Self.unrestrictedSetting))
        XCTAssertEqual(searchKept.intended, 0.75, accuracy: 1e-12)
        XCTAssertEqual(try XCTUnwrap(searchKept.other), 0, accuracy: 1e-12)
        XCTAssertEqual(try XCTUnwrap(searchKept.kappa), 0.2, accuracy: 1e-9)
    }

    func testOneFilePerAnnotator() throws {
        var files = Self.annotators()
        files[2].annotator = "alice"
        XCTAssertThrowsError(
            try HumanAgreement.fold(
                files, set: Self.judgeSet(), setPath: "j.json", excludeFlagged: false,
                noun: "digit")
        ) { error in
            XCTAssertEqual("\(error)", "carol.json: annotator alice also gave alice.json; pass one labels file per person")
        }
    }

    /// Strata take turns: sizes 10, 1 and 5 with 7 wanted give 3, 1 and 3.
    ///
    /// Mutant: shuffle-then-prefix (no strata) was planted and failed.
    func testStratifiedPicksSpreadOverStrata() {
        let candidates = Array(repeating: "a", count: 10) + ["b"] + Array(repeating: "c", count: 5)
        var rng = SeededGenerator(seed: 9)
        let chosen = JudgeSampling.stratified(Array(candidates.indices), count: 7, stratum: { candidates[$0] }, using: &rng)
        XCTAssertEqual(chosen.count, 7)
        XCTAssertEqual(Set(chosen).count, 7)
        XCTAssertEqual(["a", "b", "c"].map { stratum in chosen.filter { candidates[$0] == stratum }.count }, [3, 1, 3])
        var again = SeededGenerator(seed: 9)
        XCTAssertEqual(JudgeSampling.stratified(Array(candidates.indices), count: 7, stratum: { candidates[$0] }, using: &again), chosen)
    }

    /// The section's figures are on the pages, and the pages pass the report's number check.
    func testThePeoplesSectionAndConclusion() throws {
        let people = try Self.fold(excludeFlagged: true)
        var document = ReportDocument(title: "people")
        document.blocks = people.blocks()
        let text = document.markdown() + people.conclusion().answer
        for shown in [
            "0.950", "0.764", "0.991", "0.888", "0.200", "Fleiss' κ", "not a digit", "bob", "left out", "0.432 by the panel",
            "panel: valid share",
        ] {
            XCTAssertTrue(text.contains(shown), "the section should show \(shown)")
        }
    }

    /// A latent search's judge set (what `advlab unrestricted` writes) holds its successes only,
    /// with the source as the intended class and the target as the other.
    func testASearchOffersItsSuccesses() {
        func record(_ source: Int, _ target: Int?, _ success: Bool) -> LatentSearchRecord {
            LatentSearchRecord(
                source: source, target: target, success: success, steps: 1, classifierPrediction: target ?? 0,
                classifierConfidence: 0.9, auxiliaryPrediction: source, auxiliaryConfidence: 0.9,
                discriminatorRealScore: 0.5, latentDistance: 1, z0: [], z: [])
        }
        let images = Tensor.zeros([3, 1, 28, 28])
        let outcome = LatentSearchOutcome(
            startImages: images, images: images,
            records: [record(3, 5, true), record(3, 5, false), record(4, 9, true)])
        let set = JudgeSet.search(outcome, setting: Self.unrestrictedSetting, seed: 2)
        XCTAssertEqual(set.items.map(\.id), ["unrestricted-0", "unrestricted-2"])
        XCTAssertEqual(set.items.map(\.intended), [3, 4])
        XCTAssertEqual(set.items.map(\.other), [5, 9])
        XCTAssertEqual(set.settingList.map(\.setting), [Self.unrestrictedSetting])
    }

    // MARK: - MTurk

    /// MTurk's results CSV for `input` (`mturkResultRows`).
    static func resultsCSV(input: String, answers: [String: [String: Int?]]) throws -> String {
        CSV.text(mturkResultRows(input: try CSV.parse(input), answers: answers, imagesPerHIT: MTurk.imagesPerHIT, none: MTurk.noneAnswer))
    }

    /// Labels → HITs → MTurk's results CSV → labels: the same labels back, per worker.
    ///
    /// Mutant: reading Answer.label_k from slot k+1 was planted and failed.
    func testMTurkRoundTripGivesTheSameLabels() throws {
        let set = Self.judgeSet()
        let input = try MTurk.inputCSV(items: set.items, instruction: .strict, seed: 4)
        XCTAssertEqual(try CSV.parse(input).count, 1 + 3, "12 images in HITs of 5: 3 rows")
        let layout = MTurk.layout(instruction: .strict, noun: "digit")
        for slot in 1...MTurk.imagesPerHIT {
            XCTAssertTrue(layout.contains("${image_\(slot)}") && layout.contains("name=\"label_\(slot)\""))
        }
        var expected = Self.annotators().prefix(2).map { file -> HumanLabels in
            var labels = HumanLabels(
                page_seed: 4, annotator: "mturk:W" + (file.annotator ?? ""), instruction: "strict", origin: "mturk",
                labels: file.labels)
            labels.file = nil
            return labels
        }
        let answers = Dictionary(
            uniqueKeysWithValues: Self.annotators().prefix(2).map { file in
                ("W" + (file.annotator ?? ""), Dictionary(uniqueKeysWithValues: file.labels.map { ($0.id, $0.answer) }))
            })
        let imported = try MTurk.importResults(csv: try Self.resultsCSV(input: input, answers: answers), path: "results.csv", set: set)
        expected.sort { ($0.annotator ?? "") < ($1.annotator ?? "") }
        XCTAssertEqual(imported, expected)
        XCTAssertEqual(imported.map(MTurk.fileName), ["labels-mturk-Walice.json", "labels-mturk-Wbob.json"])
    }

    /// A foreign or damaged results CSV: one message naming the file, the row and the column.
    func testMTurkImportNamesTheRowAndColumn() throws {
        let set = Self.judgeSet()
        let input = try MTurk.inputCSV(items: set.items, instruction: .lenient, seed: 4)
        let right = Dictionary(uniqueKeysWithValues: set.items.map { ($0.id, Optional($0.intended)) })
        let good = try Self.resultsCSV(input: input, answers: ["W1": right])
        XCTAssertNoThrow(try MTurk.importResults(csv: good, path: "r.csv", set: set))
        func message(_ csv: String) -> String {
            do {
                _ = try MTurk.importResults(csv: csv, path: "r.csv", set: set)
                return "no error"
            } catch { return "\(error)" }
        }
        XCTAssertEqual(
            message("name,age\r\nx,3\r\n"),
            "r.csv: row 1 (the header): no column WorkerId; expected MTurk's results CSV for a HIT made by advlab judge --mturk")
        var rows = try CSV.parse(good)
        let answer = try XCTUnwrap(rows[0].firstIndex(of: "Answer.label_2"))
        rows[2][answer] = "seven"
        XCTAssertEqual(message(CSV.text(rows)), "r.csv: row 3, column Answer.label_2: \"seven\" is not 0…9 or none")
        rows = try CSV.parse(good)
        let item = try XCTUnwrap(rows[0].firstIndex(of: "Input.item_4"))
        rows[1][item] = "real-99"
        XCTAssertEqual(message(CSV.text(rows)), "r.csv: row 2, column Input.item_4: item real-99 is not in the judge set")
        XCTAssertEqual(message(good + "\"unclosed,1\r\n"), "r.csv: row 5: a quoted field is not closed")
    }

    func testCSVQuotesWhatNeedsIt() throws {
        let rows = [["a", "b,c", "say \"hi\"", "two\nlines", ""], ["1", "2", "3", "4", "5"]]
        XCTAssertEqual(try CSV.parse(CSV.text(rows)), rows)
        XCTAssertEqual(try CSV.parse("x,y\n1,2"), [["x", "y"], ["1", "2"]])
    }
}
