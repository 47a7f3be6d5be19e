import AdvAnalysis
import Foundation

/// People's labels from the judge page or MTurk, folded into the report (`--human`, one file per
/// annotator): per annotator the attention checks, per setting the answers and the agreement.
public struct HumanAgreement: Codable, Sendable {
    public struct Annotator: Codable, Sendable {
        public var name: String
        public var file: String
        public var instruction: String?
        public var labelled: Int
        /// Real test images among the labels: the attention checks.
        public var attention_checks: Int
        /// Share of the attention checks not answered with the image's label (nil without any).
        public var attention_wrong: Double?
        /// More than `HumanAgreement.attention_max_wrong` of the checks wrong.
        public var flagged: Bool
        /// Left out of every setting's figures (`--exclude-flagged`).
        public var excluded: Bool
    }

    public struct Setting: Codable, Sendable {
        public var setting: String
        public var kind: String
        /// Images of the setting that got at least one counted label.
        public var items: Int
        public var annotators: Int
        public var labels: Int
        /// Share of the labels giving the intended class, with its 95 % Wilson interval.
        public var intended: Double
        public var intended_low: Double
        public var intended_high: Double
        /// Share answering "not a <noun>".
        public var not_a_class: Double
        /// Share answering the other class, where the setting's images have one (a target).
        public var other: Double?
        /// Fleiss' κ over the images labelled by at least two counted annotators.
        public var kappa: Double?
        /// The lab's own judge beside the people: the k-NN's share of the intended class on the
        /// setting's examples (`JudgeSetting.knn_keeps_intended`).
        public var knn_keeps_intended: Double?
        /// The validity panel's share of the setting's successes that every judge reads as the
        /// source (`JudgeSetting.panel_keeps_intended`); unrestricted settings only. Optional
        /// in the JSON, so results written before it still decode.
        public var panel_keeps_intended: Double? = nil
    }

    /// An annotator is flagged above this share of wrong attention checks (issue 22).
    public var attention_max_wrong: Double
    /// The confidence of the intervals, in percent (z = `Agreement.z95`).
    public var interval_percent: Double
    public var exclude_flagged: Bool
    /// The data set's word for one image ("digit"), as in "not a digit".
    public var noun: String
    public var annotators: [Annotator]
    public var settings: [Setting]

    public static let attentionMaximumWrong = 0.1
    public static let intervalPercent = 95.0

    /// Folds `labels` (one file per annotator, each checked against `set`) into the per-setting
    /// figures. Throws naming the file when two files come from the same annotator. The report
    /// and `advlab report --render --human` both call this.
    public static func fold(
        _ labels: [HumanLabels], set: JudgeSet, setPath: String, excludeFlagged: Bool,
        noun: String
    ) throws -> HumanAgreement {
        var names: [String: String] = [:]
        for file in labels {
            try file.check(against: set, setPath: setPath)
            if let earlier = names[file.annotatorName] {
                throw ReportError.invalid(
                    file.file ?? "--human",
                    "annotator \(file.annotatorName) also gave \(earlier); "
                        + "pass one labels file per person")
            }
            names[file.annotatorName] = file.file ?? "--human"
        }
        let items = Dictionary(set.items.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        let annotators = labels.map { file -> Annotator in
            let checks = file.labels.filter { $0.kind == "real" }
            let wrong = checks.filter { $0.answer != $0.intended }.count
            let share = checks.isEmpty ? nil : Double(wrong) / Double(checks.count)
            let flagged = (share ?? 0) > attentionMaximumWrong
            return Annotator(
                name: file.annotatorName, file: file.file ?? "", instruction: file.instruction, labelled: file.labels.count,
                attention_checks: checks.count, attention_wrong: share, flagged: flagged, excluded: flagged && excludeFlagged)
        }
        // (annotator, label) pairs that count.
        let counted = zip(labels, annotators).filter { !$0.1.excluded }.flatMap { file, annotator in
            file.labels.map { (annotator.name, $0) }
        }
        let settings = set.settingList.compactMap { setting -> Setting? in
            let members = counted.filter { items[$0.1.id]?.setting == setting.setting }
            guard !members.isEmpty else { return nil }
            let answers = members.map(\.1)
            let agreeing = answers.filter { $0.answer == $0.intended }.count
            let interval = Agreement.wilsonInterval(successes: agreeing, total: answers.count) ?? (0, 1)
            let withOther = answers.filter { items[$0.id]?.other != nil }
            let other =
                withOther.isEmpty
                ? nil
                : Double(withOther.filter { $0.answer != nil && $0.answer == items[$0.id]?.other }.count) / Double(withOther.count)
            // Categories 0…9 and "not a class" (index 10).
            var perItem: [String: [Int]] = [:]
            for label in answers { perItem[label.id, default: Array(repeating: 0, count: 11)][label.answer ?? 10] += 1 }
            let total = Double(answers.count)
            return Setting(
                setting: setting.setting, kind: setting.kind, items: perItem.count, annotators: Set(members.map(\.0)).count,
                labels: answers.count, intended: Double(agreeing) / total, intended_low: interval.low,
                intended_high: interval.high,
                not_a_class: Double(answers.filter { $0.answer == nil }.count) / total, other: other,
                kappa: Agreement.fleissKappa(counts: perItem.keys.sorted().compactMap { perItem[$0] }),
                knn_keeps_intended: setting.knn_keeps_intended, panel_keeps_intended: setting.panel_keeps_intended)
        }
        return HumanAgreement(
            attention_max_wrong: attentionMaximumWrong, interval_percent: intervalPercent,
            exclude_flagged: excludeFlagged, noun: noun,
            annotators: annotators, settings: settings)
    }

    /// The setting's figures, for the conclusions.
    public func setting(_ name: String) -> Setting? { settings.first { $0.setting == name } }
}

extension HumanAgreement {
    /// The report's people's-labels section.
    func blocks() -> [ReportBlock] {
        var blocks: [ReportBlock] = [.heading(level: 2, text: "People's labels", anchor: "human")]
        let instructions = Set(annotators.compactMap(\.instruction)).sorted()
        blocks.append(
            .paragraph(
                "Labels from the judge page or Mechanical Turk, one file per annotator"
                    + (instructions.isEmpty ? "" : ", under the \(instructions.joined(separator: " and ")) instruction")
                    + ". Real test images are the attention checks: an annotator who answers more than \(Format.eps(attention_max_wrong)) of them "
                    + "with anything but the image's label is flagged"
                    + (exclude_flagged ? " and left out (--exclude-flagged)." : "; flagged annotators are still counted.")
                    + " Per setting: the share of labels giving the intended class (the label, the requested class, the source class) "
                    + "with its \(Format.eps(interval_percent)) % "
                    + "Wilson interval, the share answering \"not a \(noun)\", the share giving the other class where there is one (a target), "
                    + "Fleiss' κ over the images labelled by at least two counted annotators, and beside them the lab's own judge, "
                    + "the triplet embedding's k-NN, on all of the setting's examples, and for unrestricted examples the validity "
                    + "panel's valid share: the successes that every judge the search never sees reads as the source."))
        blocks.append(
            .table(
                header: ["annotator", "instruction", "labels", "attention checks", "checks wrong", "flagged", "counted"],
                rows: annotators.map { person in
                    [
                        person.name, person.instruction ?? "not recorded", String(person.labelled),
                        String(person.attention_checks),
                        Format.value(person.attention_wrong), person.flagged ? "yes" : "no", person.excluded ? "no" : "yes",
                    ]
                }, numericColumns: [2, 3, 4]))
        blocks.append(
            .table(
                header: [
                    "setting", "images", "annotators", "labels", "intended class",
                    "\(Format.eps(interval_percent)) % Wilson", "not a \(noun)",
                    "other class", "Fleiss' κ", "k-NN: intended class", "panel: valid share",
                ],
                rows: settings.map { row in
                    [
                        row.setting, String(row.items), String(row.annotators), String(row.labels), Format.value(row.intended),
                        Format.value(row.intended_low) + "–" + Format.value(row.intended_high), Format.value(row.not_a_class),
                        Format.value(row.other), Format.value(row.kappa), Format.value(row.knn_keeps_intended),
                        Format.value(row.panel_keeps_intended),
                    ]
                }, numericColumns: [1, 2, 3, 4, 6, 7, 8, 9, 10]))
        return blocks
    }

    /// The conclusion drawn from the people's labels.
    func conclusion() -> Conclusion {
        let flagged = annotators.filter(\.flagged).map(\.name)
        let parts = settings.map { row in
            "\(row.setting): \(Format.value(row.intended)) (\(Format.value(row.intended_low))–\(Format.value(row.intended_high))) "
                + "give the intended class, \(Format.value(row.not_a_class)) \"not a \(noun)\""
                + (row.knn_keeps_intended.map { ", the k-NN \(Format.value($0))" } ?? "")
                + (row.kappa.map { ", κ \(Format.value($0))" } ?? "")
        }
        let unrestricted = settings.filter { $0.kind == "unrestricted" }
        var answer = "Annotators: \(annotators.map(\.name).joined(separator: ", ")). " + parts.joined(separator: "; ") + "."
        if !unrestricted.isEmpty {
            let valid = unrestricted.map { row in
                "\(row.setting) \(Format.value(row.intended)) by people, \(Format.value(row.knn_keeps_intended)) by the k-NN"
                    + (row.panel_keeps_intended.map { ", \(Format.value($0)) by the panel" } ?? "")
            }
            answer += " Unrestricted examples valid (read as the source class): " + valid.joined(separator: "; ") + "."
        }
        answer +=
            flagged.isEmpty
            ? " No annotator failed the attention checks."
            : " Flagged by the attention checks: \(flagged.joined(separator: ", "))"
                + (exclude_flagged ? ", left out." : ", still counted.")
        return Conclusion(question: "Which class do people see in each setting?", answer: answer)
    }
}
