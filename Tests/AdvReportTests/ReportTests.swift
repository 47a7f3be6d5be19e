import AdvTensor
import Foundation
import XCTest

@testable import AdvAnalysis
@testable import AdvAttacks
@testable import AdvReport

/// The report's pages are rendered from results.json alone: every number on them must be one
/// of its values, every figure must exist, and the conclusions must follow the numbers.
final class ReportTests: XCTestCase {
    /// A small, fully populated results value with distinctive numbers.
    static func fixture(pgdHolds: Bool = false) -> ReportResults {
        let perClass = (0..<10).map { 0.9 + 0.0071 * Double($0) }
        let proxies = ConditionOneProxyValues(
            examples: 100, successes: 40, background_changed: 0.4321, ink_change: -0.0123, ssim: 0.6543,
            embedding_shift: 1.2345, knn_keeps_source: 0.8765, reference_keeps_source: 0.9876)
        // Ten examples of each class in every setting of 100, so the per-class figures average back.
        var classProxies = proxies
        classProxies.examples = 10
        classProxies.successes = 4
        let one = ConditionOneReport(
            overall: proxies, per_class: Array(repeating: classProxies, count: 10), per_class_holds: Array(repeating: pgdHolds, count: 10),
            holds: pgdHolds, reasons: ["mean SSIM 0.654 (needs 0.90)"])
        func two(_ norm: String, _ eps: Double, holds: Bool) -> ConditionTwoVerdict {
            ConditionTwoVerdict(
                norm: norm, eps: eps, images: 1000, share_with_same_class_within_eps: holds ? 0 : 0.0123,
                per_class_share_with_same_class_within_eps: (0..<10).map { holds || $0 != 1 ? 0 : 0.1234 },
                share_with_misclassified_within_eps: holds ? 0 : 0.0042, per_class_share_with_misclassified_within_eps: nil,
                per_class_images: Array(repeating: 100, count: 10), per_class_median_nearest_same_class: Array(repeating: 2.5, count: 10),
                per_class_min_nearest_same_class: Array(repeating: 0.5, count: 10), holds: holds,
                per_class_holds: (0..<10).map { holds || $0 != 1 }, reason: holds ? "no image among 1000 …" : "0.0123 of 1000 images …")
        }
        func attack(_ model: String, _ method: String, _ norm: String, _ eps: Double, robust: Double) -> AttackSetting {
            AttackSetting(
                model: model, method: method, norm: norm, eps: eps, count: 100, clean_accuracy: 0.99, robust_accuracy: robust,
                per_class_robust_accuracy: Array(repeating: robust, count: 10), condition_one: one,
                condition_two: two(norm, eps, holds: norm == "linf" && eps < 0.2))
        }
        /// An AutoAttack row (the quick settings' fast version) whose stages end at `robust` and
        /// whose proxies of (1) count its fooled examples as successes, with its own per-class figures.
        func autoAttack(_ model: String, _ norm: String, _ eps: Double, stages: [Double], seconds: Double) -> AttackSetting {
            var row = attack(model, "autoattack", norm, eps, robust: stages.last ?? 0)
            // Distinct per class where the figure allows, averaging back to the row's (ten examples a class).
            let robust = stages.last ?? 0
            row.per_class_robust_accuracy = (0..<10).map { robust >= 0.06 ? robust + 0.0083 * (Double($0) - 4.5) : robust }
            row.condition_one.overall.successes = 100 - Int(((stages.last ?? 0) * 100).rounded())
            row.condition_one.overall.ssim = 0.6123
            row.condition_one.reasons = ["mean SSIM 0.612 (needs 0.90)"]
            var attacked = 99
            row.stages = zip(["apgd-ce", "apgd-t"], stages).enumerated().map { position, stage in
                defer { attacked = Int((stage.1 * 100).rounded()) }
                return AttackStage(
                    name: stage.0, robust_accuracy: stage.1, seconds: seconds * Double(position + 1), cpu_seconds: seconds,
                    attacked: attacked, robust: Int((stage.1 * 100).rounded()), attackedIndices: [])
            }
            return row
        }
        let settings = ReportSettings.quick
        return ReportResults(
            seed: 17, quick: true, settings: settings, models: ["natural": "n.safetensors", "robust": "r.safetensors"],
            generator: "g.safetensors", embedding: "t.safetensors",
            generalization: Generalization(
                test_images: 2000, plain_samples_per_class: 50,
                models: [
                    .init(
                        model: "natural", test_error: 0.0067, per_class_test_error: perClass.map { 1 - $0 }, plain_sample_error: 0.0031,
                        per_class_plain_sample_error: perClass.map { 1 - $0 }),
                    .init(
                        model: "robust", test_error: 0.0143, per_class_test_error: perClass.map { 1 - $0 }, plain_sample_error: 0.0052,
                        per_class_plain_sample_error: perClass.map { 1 - $0 }),
                ]),
            robustness: [
                attack("natural", "pgd", "linf", 0.1, robust: 0.7123), attack("natural", "pgd", "linf", 0.3, robust: 0.0012),
                attack("robust", "pgd", "linf", 0.3, robust: 0.9234), attack("natural", "pgd", "l2", 4.5, robust: 0.0001),
                attack("robust", "pgd", "l2", 4.5, robust: 0.0345),
                autoAttack("natural", "linf", 0.3, stages: [0, 0], seconds: 0.4321),
                autoAttack("robust", "linf", 0.3, stages: [0.92, 0.91], seconds: 17.654),
                autoAttack("natural", "l2", 4.5, stages: [0, 0], seconds: 0.3456),
                autoAttack("robust", "l2", 4.5, stages: [0.03, 0.02], seconds: 1.2345),
            ],
            minimal_perturbations: [
                MinimalPerturbation(
                    model: "natural", count: 20, success_rate: 1, quantile_levels: [0.1, 0.5, 0.9], l2_quantiles: [0.9876, 1.5432, 2.3456],
                    per_class_median_l2: perClass, share_below_nearest_same_class: 0.95, condition_one: one)
            ],
            condition_two_curves: [
                ConditionTwoCurve(
                    norm: "linf", images: 1000, eps: [0, 0.5, 1], share_with_same_class_within_eps: [0, 0.2, 1],
                    quantile_levels: [0, 0.01, 0.05, 0.5],
                    per_class_nearest_same_class_quantiles: Array(repeating: [0.2345, 0.3456, 0.4567, 0.6789], count: 10))
            ],
            unrestricted: [
                UnrestrictedSetting(
                    model: "natural", variant: "targeted", count: 90, success_rate: 0.8222,
                    per_pair: (0..<10).map { s in (0..<10).map { $0 == s ? nil : 0.5 } },
                    per_source_success_rate: Array(repeating: 0.8222, count: 10), auxiliary_source_confidence_on_successes: 0.8642,
                    condition_one: one,
                    nearest_train_l2_quantiles: [3.1234, 5.4321], nearest_train_linf_quantiles: [0.7123, 0.9456],
                    condition_two_reason: "an unrestricted example has no original image")
            ],
            combination: [
                CombinationSetting(
                    eps: 0.3, count: 90, still_source: ["natural": 0.9556, "robust": 0.9889],
                    became_other: ["natural": 0.0111, "robust": 0.0033], knn_still_source: 0.9333, knn_became_other: 0.0222,
                    condition_one: one, condition_two: two("linf", 0.3, holds: false))
            ],
            invariance: [
                InvarianceReport(
                    records: (0..<8).map { i in
                        InvarianceRecord(
                            index: i, label: 3, target: 5, nearest: ShiftedMatch(index: i, distance: 4.5, dx: 0, dy: 0), knnClean: 3,
                            knnAdversarial: i < 3 ? 5 : 3, modelClean: 3, modelAdversarial: 3, referenceClean: 3,
                            referenceAdversarial: i < 1 ? 5 : 3)
                    }, eps: 0.3, maxShift: 0, knnK: 5)
            ],
            distances: DistanceAnalysis(
                per_class: 30, mean_pairwise: ["l2": Array(repeating: perClass, count: 10)],
                rows_not_closest_to_self: ["l2": [2, 5, 8]]),
            per_class_eps: [
                PerClassEpsilonReport(
                    norm: "linf", grid: [0.05, 0.25, 0.45], criteria: PerClassEpsilonCriteria(),
                    per_class: (0..<10).map { digit in
                        ClassEpsilon(
                            digit: digit, eps: digit == 1 ? 0.25 : 0.45, binding: digit == 1 ? "(2)" : "grid", monotone: true,
                            condition_two_images: 100, combination_pairs: 36,
                            grid: [0.05, 0.25, 0.45].map { Self.gridPoint($0, passes: digit != 1 || $0 < 0.3) })
                    }, condition_two_method: "m", combination_method: "m", seed: 17)
            ],
            human: try? PeopleLabelsTests.fold(excludeFlagged: false),
            condition_one_rule: ConditionOneRule(), conclusions: [],
            figures: ["robustness-linf": "robustness-linf.svg", "combination": "combination.png"], seconds: 123.4)
    }

    static func gridPoint(_ eps: Double, passes: Bool) -> EpsilonGridPoint {
        EpsilonGridPoint(
            eps: eps, share_condition_two_holds: passes ? 1 : 0.5, share_combination_unchanged: 1, passes_condition_two: passes,
            passes_combination: true, passes: passes)
    }

    /// Writes the fixture's report into a fresh folder with its two figures.
    func writeReport(_ results: ReportResults) throws -> String { try Self.writeReport(results) }

    static func writeReport(_ results: ReportResults) throws -> String {
        var results = results
        results.conclusions = Conclusions.compute(results)
        let folder = NSTemporaryDirectory() + "advlab-report-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        // The study's inputs, as the fingerprint names them: one stand-in checkpoint.
        try Data("weights".utf8).write(to: URL(fileURLWithPath: folder + "/model.safetensors"))
        results.fingerprint = RunFingerprint(
            files: [
                .init(
                    role: "natural", path: folder + "/model.safetensors",
                    sha256: try RunFingerprint.digest(path: folder + "/model.safetensors"))
            ], executable_sha256: nil)
        let document = ReportContent.document(results)
        try ReportResults.jsonText(results).write(toFile: folder + "/results.json", atomically: true, encoding: .utf8)
        try document.markdown().write(toFile: folder + "/report.md", atomically: true, encoding: .utf8)
        try document.html().write(toFile: folder + "/index.html", atomically: true, encoding: .utf8)
        try "<svg xmlns=\"http://www.w3.org/2000/svg\"></svg>".write(
            toFile: folder + "/robustness-linf.svg", atomically: true, encoding: .utf8)
        try Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0]).write(to: URL(fileURLWithPath: folder + "/combination.png"))
        return folder
    }

    func testEveryNumberOnThePagesIsInTheResults() throws {
        let folder = try writeReport(Self.fixture())
        XCTAssertEqual(ReportChecks.problems(folder: folder), [])
        let markdown = try String(contentsOfFile: folder + "/report.md", encoding: .utf8)
        // The check really looks at the numbers: the distinctive values are on the page …
        for shown in ["0.923", "0.0123", "0.654", "5.432", "0.956", "0.851", "0.375", "0.875"] {
            XCTAssertTrue(markdown.contains(shown), "report.md should show \(shown)")
        }
        // … and a number that is in no field is caught.
        try (markdown + "\nA stray figure: 0.777.\n").write(toFile: folder + "/report.md", atomically: true, encoding: .utf8)
        let problems = ReportChecks.problems(folder: folder)
        XCTAssertEqual(problems.first, "report.md: 0.777 is not a value in results.json")
        XCTAssertTrue(problems.dropFirst().allSatisfy { $0.hasPrefix("report.md: differs from the page rendered again") }, "\(problems)")
    }

    /// --verify asks judge-set.json to offer every setting the results call for: each
    /// unrestricted row, PGD L∞ 0.3 (and 0.4, L2 4.5 where run) against each model, the
    /// combination and invariance examples, and both controls.
    ///
    /// A set without one of them (as before issue 22, when only "targeted vs natural" was
    /// offered) is named.
    func testVerifyAsksForEverySettingInTheJudgeSet() throws {
        let results = Self.fixture()
        let folder = try writeReport(results)
        let expected = JudgeSettings.expected(results, generator: "dcgan")
        XCTAssertEqual(
            expected,
            [
                "real test images", "plain dcgan samples", "unrestricted dcgan targeted vs natural",
                "pgd linf 0.3 vs natural",
                "pgd linf 0.3 vs robust", "pgd l2 4.5 vs natural", "pgd l2 4.5 vs robust", "combination linf 0.3",
                "invariance linf 0.3",
            ])
        func write(_ names: [String]) throws {
            let settings = names.map {
                JudgeSetting(
                    setting: $0, kind: $0.hasPrefix("plain") ? "plain-gan" : "perturbation",
                    knn_keeps_intended: nil)
            }
            try JudgeSet(seed: 17, items: [], settings: settings).write(to: folder + "/judge-set.json")
        }
        try write(expected)
        XCTAssertEqual(ReportChecks.problems(folder: folder), [])
        try write(expected.filter { $0 != "pgd linf 0.3 vs robust" })
        XCTAssertEqual(ReportChecks.problems(folder: folder), ["judge-set.json: setting \"pgd linf 0.3 vs robust\" is not offered"])
    }

    func testHTMLNumbersAreCheckedButNotItsStylesheet() throws {
        let folder = try writeReport(Self.fixture())
        var html = try String(contentsOfFile: folder + "/index.html", encoding: .utf8)
        XCTAssertTrue(html.contains("max-width: 1180px"), "the stylesheet has numbers that are not results")
        html = html.replacingOccurrences(of: "</body>", with: "<p>robust accuracy 0.4242</p></body>")
        try html.write(toFile: folder + "/index.html", atomically: true, encoding: .utf8)
        XCTAssertEqual(ReportChecks.problems(folder: folder).first, "index.html: 0.4242 is not a value in results.json")
        XCTAssertTrue(ReportChecks.problems(folder: folder).contains { $0.hasPrefix("index.html: differs from the page rendered again") })
    }

    func testMissingOrWrongFiguresAreReported() throws {
        let folder = try writeReport(Self.fixture())
        try FileManager.default.removeItem(atPath: folder + "/combination.png")
        try "not an image".write(toFile: folder + "/robustness-linf.svg", atomically: true, encoding: .utf8)
        XCTAssertEqual(
            ReportChecks.problems(folder: folder),
            ["combination.png: referenced by the report but missing or empty", "robustness-linf.svg: neither a PNG nor an SVG file"])
    }

    func testNamesWithDigitsAreNotNumbers() {
        let text = "PGD-40 under L2 and L∞, z0, C&W-L2, x0 + 0.3·sign(x1) (Song et al. 2018), class 7: 0.25"
        XCTAssertEqual(ReportChecks.unmatchedNumbers(in: text, values: [0.3, 7]), ["0.25"])
    }

    func testConclusionsFollowTheNumbers() {
        var results = Self.fixture()
        var conclusions = Conclusions.compute(results)
        let linf = conclusions.first { $0.question.contains("L∞ ε = 0.3 satisfy condition (2)") }
        XCTAssertEqual(linf?.answer.hasPrefix("No."), true, "(2) is violated in the fixture at L∞ 0.3")
        XCTAssertTrue(linf?.answer.contains("Classes where it fails: 1") ?? false)
        XCTAssertTrue(conclusions.contains { $0.question.contains("smaller L∞ ε") && $0.answer.contains("Classes 1") })
        XCTAssertTrue(
            conclusions.contains {
                $0.question.contains("both conditions") && $0.answer.contains("Both conditions (by proxy for (1)): none")
            })
        // When PGD's proxies hold and (2) holds at a small ε, that setting is named.
        results = Self.fixture(pgdHolds: true)
        conclusions = Conclusions.compute(results)
        XCTAssertTrue(conclusions.contains { $0.answer.contains("Both conditions (by proxy for (1)): pgd linf ε 0.1") })
    }

    /// A class that passes again above its first failure is named as non-monotone on the page and
    /// in the conclusions, with where it passes again; a monotone fixture shows no such claim.
    ///
    /// Mutant: the report without the "passes again at" row and the conclusions' "Non-monotone"
    /// sentence (the rendering before issue 23) was planted and failed this test; it was then removed.
    func testANonMonotoneClassIsShownAsSuch() throws {
        var results = Self.fixture()
        let monotonePage = try String(contentsOfFile: try writeReport(results) + "/report.md", encoding: .utf8)
        XCTAssertTrue(monotonePage.contains("| L∞ passes again at | — | — | — | — |"), "every class of the fixture is monotone")
        XCTAssertFalse(Conclusions.compute(results).contains { $0.answer.contains("Non-monotone") })
        // Class 3 fails at 0.25 (so its ε is 0.05) but passes again at 0.45.
        results.per_class_eps[0].per_class[3] =
            choosePerClassEpsilon(
                grid: [0.05, 0.25, 0.45], shareConditionTwo: [[1, 0.5, 1]],
                shareCombination: [[1, 1, 1]], conditionTwoImages: [100],
                combinationPairs: [36])[0]
        results.per_class_eps[0].per_class[3].digit = 3
        XCTAssertEqual(results.per_class_eps[0].per_class[3].eps, Double(Float(0.05)))
        XCTAssertFalse(results.per_class_eps[0].per_class[3].monotone)
        let folder = try writeReport(results)
        let page = try String(contentsOfFile: folder + "/report.md", encoding: .utf8)
        XCTAssertTrue(page.contains("| L∞ passes again at | — | — | — | non-monotone: 0.45 |"), "the per-class ε table names the class")
        let conclusion = Conclusions.compute(results).first { $0.question.contains("smaller L∞ ε") }
        XCTAssertTrue(
            conclusion?.answer.contains("Non-monotone: class 3 passes again at 0.45") ?? false, conclusion?.answer ?? "no conclusion")
        XCTAssertEqual(ReportChecks.problems(folder: folder), [])
    }

    /// The unrestricted table and conclusions show the auxiliary classifier's confidence in the
    /// source on successes, which can vary, and never claim that it says the source on every
    /// success, which the success rule guarantees.
    ///
    /// Mutant: the old "aux. agrees on every success" column and conclusion clause were planted
    /// back and failed this test; so did a mean over all searches instead of the successes.
    func testNoFindingRestatesTheSuccessRule() throws {
        let results = Self.fixture()
        let page = try String(contentsOfFile: try writeReport(results) + "/report.md", encoding: .utf8)
        XCTAssertTrue(page.contains("aux. confidence in source on successes"))
        XCTAssertTrue(page.contains("0.864"))
        for text in [page] + Conclusions.compute(results).map(\.answer) {
            XCTAssertFalse(text.contains("on every success"), "a property of the success rule is presented as a finding: \(text)")
        }
        func record(success: Bool, confidence: Float) -> LatentSearchRecord {
            LatentSearchRecord(
                source: 1, target: 2, success: success, steps: 1, classifierPrediction: 2, classifierConfidence: 0.9,
                auxiliaryPrediction: 1, auxiliaryConfidence: confidence, discriminatorRealScore: 0.5, latentDistance: 1, z0: [], z: [])
        }
        let records = [
            record(success: true, confidence: 0.5), record(success: false, confidence: 0.1), record(success: true, confidence: 0.75),
        ]
        XCTAssertEqual(UnrestrictedFigures.meanAuxiliarySourceConfidence(records) ?? 0, 0.625, accuracy: 1e-9)
        XCTAssertNil(
            UnrestrictedFigures.meanAuxiliarySourceConfidence([record(success: false, confidence: 0.9)]), "nothing measured: nil, not 0")
    }

    /// The headline (per-class tables, conclusions) is AutoAttack's figure where the report ran
    /// it; the page says which version ran, lists every stage with PGD's figure beside it, and
    /// (1)'s verdict in the conclusions is the AutoAttack row's.
    ///
    /// Mutant: the per-class tables and conclusions reading the PGD rows again (`headlineRows`
    /// returning PGD's) was planted and failed this test; it was then removed.
    func testTheHeadlineIsAutoAttack() throws {
        let results = Self.fixture()
        let folder = try writeReport(results)
        let page = try String(contentsOfFile: folder + "/report.md", encoding: .utf8)
        XCTAssertTrue(page.contains("### Per class: AutoAttack (fast) L∞ ε = 0.3"), page)
        XCTAssertTrue(page.contains("### Per class: AutoAttack (fast) L2 ε = 4.5"))
        XCTAssertFalse(page.contains("Per class: PGD"))
        XCTAssertTrue(page.contains("in its fast version: APGD-CE, then APGD-T"))
        XCTAssertTrue(page.contains("| 1 | 0.000 | violated | 0.881 | violated |"), "class 1's AutoAttack robust accuracy")
        XCTAssertTrue(page.contains("| robust | L∞ 0.3 | apgd-t | 92 | 91 | 0.910 | 35.308 | 0.923 |"), "the stage table")
        let conclusions = Conclusions.compute(results)
        XCTAssertTrue(
            conclusions.contains {
                $0.answer.contains(
                    "AutoAttack (fast) L∞ ε = 0.3 robust accuracy: natural 0.000, robust 0.910 (PGD: natural 0.001, robust 0.923).")
            }, "\(conclusions.map(\.answer))")
        let one = try XCTUnwrap(conclusions.first { $0.question.contains("satisfy condition (1)") })
        XCTAssertTrue(one.question.contains("(AutoAttack (fast), the combination image"), one.question)
        XCTAssertTrue(one.answer.hasPrefix("By its proxies, no: mean SSIM 0.612"), one.answer)
        let json = try String(contentsOfFile: folder + "/results.json", encoding: .utf8)
        XCTAssertTrue(json.contains("\"autoattack_version\" : \"fast\""))
        XCTAssertEqual(try ReportResults.decode(Data(json.utf8)).robustness.compactMap(\.stages).map { $0.map(\.name) }.count, 4)
        XCTAssertEqual(ReportChecks.problems(folder: folder), [])
    }

    /// `--verify` checks the AutoAttack figures: each planted defect in results.json (pages
    /// rendered from it, so every number on them is still a value) fails with a line naming the field.
    func testVerifyChecksTheAutoAttackFigures() throws {
        let clean = Self.fixture()
        XCTAssertEqual(ReportChecks.autoAttackProblems(clean), [])
        let robust = try XCTUnwrap(clean.robustness.firstIndex { $0.model == "robust" && $0.method == "autoattack" && $0.norm == "linf" })
        let robustL2 = try XCTUnwrap(clean.robustness.firstIndex { $0.model == "robust" && $0.method == "autoattack" && $0.norm == "l2" })
        let pgd = try XCTUnwrap(clean.robustness.firstIndex { $0.model == "robust" && $0.method == "pgd" && $0.norm == "linf" })
        func problems(_ corrupt: (inout ReportResults) -> Void) throws -> [String] {
            var results = clean
            corrupt(&results)
            return ReportChecks.problems(folder: try writeReport(results))
        }
        let field = "results.json: robustness[\(robust)]"
        XCTAssertEqual(
            try problems { $0.robustness[robust].stages?[1].robust_accuracy = 0.93 },
            [
                "\(field).stages[1].robust_accuracy 0.93 rises above the stage before it (0.92)",
                "\(field).robust_accuracy 0.91 is not its last stage's (stages[1].robust_accuracy 0.93)",
            ])
        XCTAssertEqual(
            try problems {
                $0.robustness[robust].stages?.removeLast()
                $0.robustness[robust].robust_accuracy = 0.92
                $0.robustness[robust].per_class_robust_accuracy = $0.robustness[robust].per_class_robust_accuracy.map { $0 + 0.01 }
                $0.robustness[robust].condition_one.overall.successes = 8
            }, ["\(field).stages: apgd-ce are not the fast version's apgd-ce, apgd-t (settings.autoattack_version)"])
        XCTAssertEqual(
            try problems {
                $0.robustness[robust].robust_accuracy = 0.95
                $0.robustness[robust].per_class_robust_accuracy = $0.robustness[robust].per_class_robust_accuracy.map { $0 + 0.04 }
                for stage in 0..<2 { $0.robustness[robust].stages?[stage].robust_accuracy = 0.95 }
                $0.robustness[robust].condition_one.overall.successes = 5
            },
            [
                "\(field).robust_accuracy 0.95 is above PGD's 0.9234 for the robust model at linf ε 0.3 (AutoAttack includes stronger attacks)"
            ])
        XCTAssertEqual(
            try problems { $0.robustness[robust].condition_one = $0.robustness[pgd].condition_one },
            [
                "\(field).condition_one.overall.successes 40 is not the 9 examples AutoAttack fooled: (1)'s proxies must be computed "
                    + "on AutoAttack's own examples"
            ])
        XCTAssertEqual(
            try problems { $0.robustness[robust].stages = nil }, ["\(field).stages: missing or empty for an AutoAttack row"])
        XCTAssertEqual(
            try problems { $0.robustness.remove(at: robustL2) },
            ["results.json: robustness has no autoattack row for the robust model at l2 ε 4.5, a headline setting"])
    }

    func testResultsRoundTripWithNonFiniteValues() throws {
        var results = Self.fixture()
        results.minimal_perturbations[0].l2_quantiles = [.nan, 1, .infinity]
        let decoded = try ReportResults.decode(Data(try ReportResults.jsonText(results).utf8))
        XCTAssertTrue(decoded.minimal_perturbations[0].l2_quantiles[0].isNaN)
        XCTAssertEqual(decoded.minimal_perturbations[0].l2_quantiles[2], .infinity)
    }

    /// A labels file saved before issue 22 (no annotator, instruction or setting) still loads;
    /// a bad answer is named by its field.
    func testHumanLabelsLoadOldFilesAndNameBadFields() throws {
        let path = NSTemporaryDirectory() + "labels-\(UUID().uuidString).json"
        let json = """
            {"page_seed": 3, "labels": [
              {"id": "a", "kind": "real", "intended": 4, "answer": 4},
              {"id": "b", "kind": "real", "intended": 4, "answer": 9},
              {"id": "c", "kind": "unrestricted", "intended": 2, "answer": null}]}
            """
        try json.write(toFile: path, atomically: true, encoding: .utf8)
        let labels = try HumanLabels.load(path: path)
        XCTAssertEqual(labels.labels.map(\.answer), [4, 9, nil])
        XCTAssertEqual(labels.annotatorName, URL(fileURLWithPath: path).lastPathComponent)
        try json.replacingOccurrences(of: "\"answer\": 9", with: "\"answer\": 12").write(toFile: path, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try HumanLabels.load(path: path)) { error in
            XCTAssertEqual("\(error)", "\(path): labels[1].answer must be 0…9 or null")
        }
        try json.replacingOccurrences(of: "\"id\": \"b\"", with: "\"id\": \"a\"").write(toFile: path, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try HumanLabels.load(path: path)) { error in
            XCTAssertEqual("\(error)", "\(path): labels[1].id a is labelled twice")
        }
    }

    /// Labels count only for images of the run's judge set: one error names the first label whose
    /// id is missing there, or whose kind or class differs.
    ///
    /// Mutant: `check(against:setPath:)` accepting every label (an empty body, as before issue 23)
    /// was planted and failed this test; it was then removed.
    func testHumanLabelsMustMatchTheJudgeSet() throws {
        let path = NSTemporaryDirectory() + "labels-\(UUID().uuidString).json"
        try """
        {"page_seed": 3, "labels": [
          {"id": "real-0", "kind": "real", "intended": 4, "answer": 4},
          {"id": "unrestricted-7", "kind": "unrestricted", "intended": 2, "answer": null}]}
        """.write(toFile: path, atomically: true, encoding: .utf8)
        let labels = try HumanLabels.load(path: path)
        let image = Tensor.zeros([1, 1, 28, 28])
        func item(_ id: String, _ kind: String, _ intended: Int) -> JudgeItem {
            JudgeItem(id: id, kind: kind, intended: intended, setting: "s", image01: image)
        }
        let matching = JudgeSet(
            seed: 1, items: [item("real-0", "real", 4), item("unrestricted-7", "unrestricted", 2), item("real-9", "real", 1)])
        XCTAssertNoThrow(try labels.check(against: matching, setPath: "out/judge-set.json"))
        let missing = JudgeSet(seed: 1, items: [item("real-0", "real", 4), item("unrestricted-6", "unrestricted", 2)])
        XCTAssertThrowsError(try labels.check(against: missing, setPath: "out/judge-set.json")) { error in
            XCTAssertEqual(
                "\(error)",
                "\(path): label id unrestricted-7 is not in out/judge-set.json; the labels must come from a judge page "
                    + "made from this report (advlab judge --from its folder)")
        }
        let otherClass = JudgeSet(seed: 1, items: [item("real-0", "real", 5), item("unrestricted-7", "unrestricted", 2)])
        XCTAssertThrowsError(try labels.check(against: otherClass, setPath: "j.json")) { error in
            XCTAssertEqual("\(error)", "\(path): label id real-0 is a real image of class 4, but in j.json it is a real image of class 5")
        }
    }
}

/// `advlab attack --json` shows `null` where nothing was measured, never a made-up 0.
final class AttackSummaryTests: XCTestCase {
    /// Mutant: the old summary (`median_l2` 0 without a success, per-class robust accuracy 0 for a
    /// class with no image) was planted and failed this test; it was then removed.
    func testUnmeasuredFiguresAreNull() throws {
        let images = Tensor.zeros([2, 1, 28, 28])
        let results = (0..<2).map { i in
            ExampleResult(
                index: i, label: 3, cleanPrediction: 3, adversarialPrediction: 3, success: false, target: nil, l0: 0, l1: 0, l2: 0, linf: 0)
        }
        let summary = AttackSummary(
            method: "pgd", norm: "linf", eps: 0.1, outcome: AttackOutcome(adversarialImages: images, results: results),
            seed: 1, settings: [:])
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let json = String(decoding: try encoder.encode(summary), as: UTF8.self)
        XCTAssertTrue(json.contains("\"median_l2\":null"), json)
        XCTAssertTrue(json.contains("\"per_class_robust_accuracy\":[null,null,null,1,null,null,null,null,null,null]"), json)
        let decoded = try JSONDecoder().decode(AttackSummary.self, from: Data(json.utf8))
        XCTAssertNil(decoded.median_l2)
    }
}
