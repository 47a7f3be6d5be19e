import AdvAnalysis
import AdvAttacks
import Foundation

/// How the report writes numbers: shares and distances with three decimals, ε as given.
/// (The report's tests find every number on the pages among `results.json`'s values at the
/// precision written here.)
enum Format {
    static func value(_ x: Double) -> String { x.isFinite ? String(format: "%.3f", x) : "n/a" }
    static func value(_ x: Double?) -> String { x.map { value($0) } ?? "n/a" }
    /// Shares that are often tiny but not zero (condition (2)): four decimals.
    static func share(_ x: Double?) -> String { x.map { $0.isFinite ? String(format: "%.4f", $0) : "n/a" } ?? "n/a" }
    static func eps(_ x: Double) -> String { String(format: "%g", x) }
    /// linf → L∞, l2 → L2, embedding-l2 → embedding L2.
    static func norm(_ name: String) -> String {
        switch name {
        case "linf": return "L∞"
        case "l2": return "L2"
        case "embedding-l2": return "embedding L2"
        default: return name
        }
    }
    /// Class labels by name ("2, 5" on MNIST, "Shirt, Coat" on Fashion-MNIST).
    static func classes(_ list: [Int], _ dataset: StudyDataset = .mnist) -> String {
        list.isEmpty ? "none" : list.map(dataset.className).joined(separator: ", ")
    }
}

extension AutoAttackStageMethod {
    /// The stage's name in the field's spelling (APGD-CE, APGD-T, FAB-T, Square).
    var displayName: String { self == .square ? "Square" : rawValue.uppercased() }
}

extension ReportResults {
    /// The row of `model`, `method`, `norm` and `eps`, if the study ran it.
    func setting(_ model: String, _ method: String, _ norm: String, _ eps: Double) -> AttackSetting? {
        robustness.first { $0.model == model && $0.method == method && $0.norm == norm && abs($0.eps - eps) < 1e-9 }
    }

    /// The rows behind a headline setting, one per model: AutoAttack's, or PGD's in results
    /// written before the report ran AutoAttack.
    func headlineRows(norm: String, eps: Double) -> [AttackSetting] {
        let matching = robustness.filter { $0.norm == norm && abs($0.eps - eps) < 1e-9 }
        let autoAttack = matching.filter { $0.method == AttackMethod.autoattack.rawValue }
        return autoAttack.isEmpty ? matching.filter { $0.method == AttackMethod.pgd.rawValue } : autoAttack
    }

    func headline(_ model: String, _ norm: String, _ eps: Double) -> AttackSetting? {
        headlineRows(norm: norm, eps: eps).first { $0.model == model }
    }

    /// How the pages name a row's attack: "AutoAttack (fast)", "PGD", or the method's name.
    func attackName(_ row: AttackSetting) -> String {
        switch row.method {
        case AttackMethod.autoattack.rawValue: return "AutoAttack (\(settings.autoattack_version.rawValue))"
        case AttackMethod.pgd.rawValue: return "PGD"
        default: return row.method
        }
    }
}

/// The plain-language answers to the post's questions, each computed from the numbers.
public enum Conclusions {
    public static func compute(_ results: ReportResults) -> [Conclusion] {
        var answers: [Conclusion] = []
        let rows = results.robustness
        // The data set's headline budgets (MNIST: L∞ 0.3, L2 4.5).
        let data = results.data
        let linf = data.headline_linf_eps
        let linfText = Format.eps(linf)
        let setting = results.setting
        let headline = results.headline
        func failingClasses(_ verdict: ConditionTwoVerdict) -> [Int] {
            verdict.per_class_holds.enumerated().filter { !$0.element }.map(\.offset)
        }

        for (norm, eps, name) in [
            ("linf", linf, "L∞ ε = \(linfText)"), ("l2", data.headline_l2_eps, "L2 ε = \(Format.eps(data.headline_l2_eps))"),
        ] {
            guard let row = headline("natural", norm, eps) else { continue }
            let verdict = row.condition_two
            let answer =
                (verdict.holds ? "Yes. " : "No. ") + verdict.reason
                + (verdict.holds ? "." : ". Classes where it fails: \(Format.classes(failingClasses(verdict), data)).")
            answers.append(Conclusion(question: "Does \(name) satisfy condition (2)?", answer: answer))
        }

        if let attack = headline("natural", "linf", linf) {
            var answer =
                (attack.condition_one.holds ? "By its proxies, yes: " : "By its proxies, no: ")
                + attack.condition_one.reasons.joined(separator: "; ") + "."
            if let combination = results.combination.first(where: { abs($0.eps - linf) < 1e-9 }) {
                answer +=
                    " The post's combination image x0 + \(linfText)·sign(x1) keeps the embedding's k-NN on the source class for "
                    + "\(Format.value(combination.knn_still_source)) of \(combination.count) pairs and moves it to the other image's class for "
                    + "\(Format.value(combination.knn_became_other)); the natural model still says the source class for "
                    + "\(Format.value(combination.still_source["natural"])) and the robust one for \(Format.value(combination.still_source["robust"]))."
                answer +=
                    combination.condition_one.holds
                    ? " Its proxies of (1) hold."
                    : " Its proxies of (1) fail: " + combination.condition_one.reasons.joined(separator: "; ") + "."
            }
            if let invariance = results.invariance.first(where: { abs($0.eps - linf) < 1e-9 }) {
                answer +=
                    " Moving each test image toward its nearest other-class training image within the same ball makes the embedding's k-NN "
                    + "see the other class for \(Format.value(invariance.overall.knn_changed_to_target)) of \(invariance.overall.count) images"
                    + (invariance.overall.knn_changed_to_target > 0
                        ? ", so the L∞ \(linfText) ball also holds images that are no longer the source \(data.item_noun)." : ".")
            }
            answers.append(
                Conclusion(
                    question:
                        "Does L∞ ε = \(linfText) satisfy condition (1) (\(results.attackName(attack)), the combination image, label-changing examples)?",
                    answer: answer
                ))
        }

        let unrestricted = results.unrestricted.filter { $0.variant == "targeted" }
        if !unrestricted.isEmpty {
            let parts = unrestricted.map { row -> String in
                "against the \(row.model) model the targeted search succeeds on \(Format.value(row.success_rate)) of \(row.count) searches"
                    + (row.auxiliary_source_confidence_on_successes.map {
                        " (the AC-GAN's auxiliary classifier, which the rule requires to say the source, "
                            + "gives it a mean confidence of \(Format.value($0)) on successes)"
                    } ?? "")
                    + ", the embedding's k-NN keeps the source class on \(Format.value(row.condition_one?.overall.knn_keeps_source)) of successes"
                    + " and the other model on \(Format.value(row.condition_one?.overall.reference_keeps_source));"
                    + " the median distance to the nearest training image of the source class is \(Format.value(row.nearest_train_l2_quantiles.last)) in L2"
                    + " and \(Format.value(row.nearest_train_linf_quantiles.last)) in L∞"
            }
            answers.append(
                Conclusion(
                    question: "How do unrestricted examples fare on (1) and (2)?",
                    answer: parts.joined(separator: "; ") + ". (2) cannot hold for them by construction: they have no original image. "
                        + "Where the references disagree with the source class, the example is a class change rather than an adversarial example."
                ))
        }

        for row in results.per_class_eps where row.norm == "linf" {
            let below = row.per_class.filter { ($0.eps ?? 0) < linf - 1e-9 }
            let list = below.map { "\(data.className($0.digit)): \($0.eps.map { Format.eps($0) } ?? "none") (\($0.binding))" }.joined(
                separator: ", ")
            let nonMonotone = row.per_class.filter { !$0.monotone }.map { entry in
                "class \(data.className(entry.digit)) passes again at \(passesAboveFirstFailure(entry).map { Format.eps($0) }.joined(separator: ", "))"
            }
            let monotonicity =
                nonMonotone.isEmpty
                ? ""
                : " Non-monotone: " + nonMonotone.joined(separator: "; ")
                    + " after failing at a smaller ε; ε stops at the first failure."
            answers.append(
                Conclusion(
                    question: "Which classes need a smaller L∞ ε than \(linfText)?",
                    answer: (below.isEmpty
                        ? "None: every class keeps both criteria up to ε = \(linfText)."
                        : "Classes \(Format.classes(below.map(\.digit), data)) — their largest ε up to which every grid value "
                            + "keeps (2) for at least \(Format.eps(row.criteria.min_share_condition_two)) of the class and the "
                            + "combination's k-NN class for at least \(Format.eps(row.criteria.min_share_combination_unchanged)) "
                            + "of pairs, with the binding criterion: \(list).")
                        + monotonicity))
        }

        let both = rows.filter { $0.condition_one.holds && $0.condition_two.holds }
        let confounded = rows.filter { !$0.condition_two.holds && ($0.condition_two.share_with_misclassified_within_eps ?? 0) > 0 }
        func describe(_ list: [AttackSetting]) -> String {
            var seen = Set<String>()
            var names: [String] = []
            for row in list {
                let name = "\(row.method) \(row.norm) ε \(Format.eps(row.eps))"
                if seen.insert(name).inserted { names.append(name) }
            }
            return names.isEmpty ? "none" : names.joined(separator: "; ")
        }
        answers.append(
            Conclusion(
                question: "Which attack settings satisfy both conditions, and which confound robustness with generalization?",
                answer: "Both conditions (by proxy for (1)): \(describe(both)). "
                    + "Settings whose ε-balls hold misclassified test images of the same class, so that a robustness failure there can be "
                    + "a plain generalization error: \(describe(confounded))."))

        let generalization = results.generalization.models
        if let natural = generalization.first(where: { $0.model == "natural" }),
            let robust = generalization.first(where: { $0.model == "robust" })
        {
            var answer =
                "Test error: natural \(Format.value(natural.test_error)), robust \(Format.value(robust.test_error)); "
                + "error on plain AC-GAN samples: natural \(Format.value(natural.plain_sample_error)), robust \(Format.value(robust.plain_sample_error))."
            if let natural = headline("natural", "linf", linf), let robust = headline("robust", "linf", linf) {
                answer +=
                    " \(results.attackName(natural)) L∞ ε = \(linfText) robust accuracy: natural \(Format.value(natural.robust_accuracy)), "
                    + "robust \(Format.value(robust.robust_accuracy))"
                if natural.method != AttackMethod.pgd.rawValue, let naturalPGD = setting("natural", "pgd", "linf", linf),
                    let robustPGD = setting("robust", "pgd", "linf", linf)
                {
                    answer +=
                        " (PGD: natural \(Format.value(naturalPGD.robust_accuracy)), robust \(Format.value(robustPGD.robust_accuracy)))"
                }
                answer += "."
            }
            let search = unrestricted.map { "\($0.model) \(Format.value($0.success_rate))" }.joined(separator: ", ")
            if !search.isEmpty { answer += " Targeted unrestricted success: \(search)." }
            answers.append(Conclusion(question: "Generalization errors against perturbation robustness", answer: answer))
        }
        if let human = results.human { answers.append(human.conclusion()) }
        return answers
    }
}
