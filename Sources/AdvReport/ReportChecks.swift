import AdvAttacks
import Foundation

/// Checks a written report folder: every number on `report.md` and `index.html` is a value of
/// `results.json` at the precision shown, every figure the pages reference exists and is a
/// PNG or SVG file, and the AutoAttack figures hang together (`autoAttackProblems`); the pages
/// equal those rendered again from results.json, which agrees with itself and whose fingerprint
/// matches the files on disk (`ReportVerification`; data files are looked for in
/// `dataDirectory`). Returns the problems found (empty: the report is consistent).
public enum ReportChecks {
    public static func problems(folder: String, dataDirectory: String? = nil) -> [String] {
        var problems: [String] = []
        func read(_ name: String) -> String? {
            guard let data = FileManager.default.contents(atPath: folder + "/" + name) else {
                problems.append("\(name): missing")
                return nil
            }
            return String(decoding: data, as: UTF8.self)
        }
        guard let json = read("results.json"), let markdown = read("report.md"), let html = read("index.html") else { return problems }
        let values: [Double]
        let results: ReportResults
        do {
            results = try ReportResults.decode(Data(json.utf8))
            values = try JSONDecoder().decode(JSONValue.self, from: Data(json.utf8)).numbers
        } catch {
            return problems + ["results.json: does not parse as the report's results (\(error))"]
        }
        problems += autoAttackProblems(results)
        problems += unmatchedNumbers(in: markdown, values: values).map { "report.md: \($0) is not a value in results.json" }
        problems += unmatchedNumbers(in: visibleText(ofHTML: html), values: values).map {
            "index.html: \($0) is not a value in results.json"
        }
        problems += ReportVerification.renderingProblems(results: results, markdown: markdown, html: html)
        problems += ReportVerification.consistencyProblems(results)
        if let fingerprint = results.fingerprint {
            problems += fingerprint.problems(dataDirectory: dataDirectory)
        } else {
            problems.append("results.json: no fingerprint of the checkpoints and data the study read")
        }
        let referenced = Set(figureReferences(markdown: markdown) + figureReferences(html: html))
        for file in referenced.sorted() {
            guard let data = FileManager.default.contents(atPath: folder + "/" + file), !data.isEmpty else {
                problems.append("\(file): referenced by the report but missing or empty")
                continue
            }
            let isPNG = data.prefix(8) == Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
            let isSVG = String(decoding: data.prefix(200), as: UTF8.self).contains("<svg")
            if !(isPNG || isSVG) { problems.append("\(file): neither a PNG nor an SVG file") }
        }
        if FileManager.default.fileExists(atPath: folder + "/judge-set.json") {
            problems += judgeSetProblems(folder: folder, results: results)
        }
        return problems
    }

    /// The headline figures are AutoAttack's and agree with themselves and with PGD: every model
    /// with a PGD row at a headline setting has an AutoAttack row there; its stages are the
    /// version's, in order; their robust accuracies never rise and the last is the row's; the row
    /// is not above PGD's at the same model and ε (AutoAttack's stages are stronger attacks); and
    /// (1)'s proxies count as successes exactly the examples AutoAttack fooled. Each problem
    /// names the field, e.g. `robustness[12].stages[1].robust_accuracy`.
    static func autoAttackProblems(_ results: ReportResults) -> [String] {
        var problems: [String] = []
        let autoattack = AttackMethod.autoattack.rawValue
        for headline in results.data.headlines {
            let norm = headline.norm.rawValue
            for pgd in results.robustness
            where pgd.method == AttackMethod.pgd.rawValue && pgd.norm == norm && abs(pgd.eps - headline.eps) < 1e-9
                && results.setting(pgd.model, autoattack, norm, headline.eps) == nil
            {
                problems.append(
                    "results.json: robustness has no \(autoattack) row for the \(pgd.model) model at \(norm) ε \(Format.eps(headline.eps)), "
                        + "a headline setting")
            }
        }
        let version = results.settings.autoattack_version
        for (index, row) in results.robustness.enumerated() where row.method == autoattack {
            let field = "results.json: robustness[\(index)]"
            guard let stages = row.stages, let last = stages.last else {
                problems.append("\(field).stages: missing or empty for an AutoAttack row")
                continue
            }
            let names = stages.map(\.name)
            if names != version.stages.map(\.rawValue) {
                problems.append(
                    "\(field).stages: \(names.joined(separator: ", ")) are not the \(version.rawValue) version's "
                        + version.stages.map(\.rawValue).joined(separator: ", ") + " (settings.autoattack_version)")
            }
            for (position, (before, stage)) in zip(stages, stages.dropFirst()).enumerated()
            where stage.robust_accuracy > before.robust_accuracy {
                problems.append(
                    "\(field).stages[\(position + 1)].robust_accuracy \(stage.robust_accuracy) rises above the stage before it "
                        + "(\(before.robust_accuracy))")
            }
            if last.robust_accuracy != row.robust_accuracy {
                problems.append(
                    "\(field).robust_accuracy \(row.robust_accuracy) is not its last stage's (stages[\(stages.count - 1)].robust_accuracy "
                        + "\(last.robust_accuracy))")
            }
            if let pgd = results.setting(row.model, AttackMethod.pgd.rawValue, row.norm, row.eps), row.robust_accuracy > pgd.robust_accuracy
            {
                problems.append(
                    "\(field).robust_accuracy \(row.robust_accuracy) is above PGD's \(pgd.robust_accuracy) for the \(row.model) model "
                        + "at \(row.norm) ε \(Format.eps(row.eps)) (AutoAttack includes stronger attacks)")
            }
            let fooled = row.count - Int((row.robust_accuracy * Double(row.count)).rounded())
            if row.condition_one.overall.successes != fooled {
                problems.append(
                    "\(field).condition_one.overall.successes \(row.condition_one.overall.successes) is not the \(fooled) examples "
                        + "AutoAttack fooled: (1)'s proxies must be computed on AutoAttack's own examples")
            }
        }
        return problems
    }

    /// judge-set.json offers every setting the results call for (`JudgeSettings.expected`), for
    /// each generator whose plain samples it holds.
    static func judgeSetProblems(folder: String, results: ReportResults) -> [String] {
        let set: JudgeSet
        do { set = try JudgeSet.load(folder: folder) } catch { return ["\(error)"] }
        let offered = Set(set.settingList.map(\.setting))
        let generators = set.settingList.filter { $0.kind == "plain-gan" }
            .compactMap { JudgeSettings.generator(ofPlainSamples: $0.setting) }
        guard !generators.isEmpty else { return ["judge-set.json: no plain generator samples (a control)"] }
        return generators.flatMap { JudgeSettings.expected(results, generator: $0) }.filter { !offered.contains($0) }
            .map { "judge-set.json: setting \"\($0)\" is not offered" }
    }

    /// A JSON value, to collect its numbers (booleans and strings such as "nan" are not numbers).
    indirect enum JSONValue: Decodable {
        case number(Double)
        case other
        case array([JSONValue])
        case object([String: JSONValue])

        init(from decoder: Decoder) throws {
            let container = try decoder.singleValueContainer()
            if container.decodeNil() || (try? container.decode(Bool.self)) != nil || (try? container.decode(String.self)) != nil {
                self = .other
            } else if let number = try? container.decode(Double.self) {
                self = .number(number)
            } else if let array = try? container.decode([JSONValue].self) {
                self = .array(array)
            } else {
                self = .object(try container.decode([String: JSONValue].self))
            }
        }

        var numbers: [Double] {
            switch self {
            case .number(let value): return [value]
            case .other: return []
            case .array(let values): return values.flatMap(\.numbers)
            case .object(let values): return values.values.flatMap(\.numbers)
            }
        }
    }

    /// Numbers standing alone in `text` (not part of a name such as L2, PGD-40 or z0, nor a
    /// citation's year after "et al. ") that no value formats to at the same number of decimals.
    static func unmatchedNumbers(in text: String, values: [Double]) -> [String] {
        guard let pattern = try? NSRegularExpression(pattern: #"(?<![\p{L}\d_.\-/#])(?<!et al\. )-?\d+(?:\.\d+)?(?![\p{L}\d_])"#) else {
            return ["pattern"]
        }
        let range = NSRange(text.startIndex..., in: text)
        var unmatched: [String] = []
        var formatted: [Int: Set<String>] = [:]
        for match in pattern.matches(in: text, range: range) {
            guard let tokenRange = Range(match.range, in: text) else { continue }
            let token = String(text[tokenRange])
            let decimals = token.split(separator: ".").dropFirst().first?.count ?? 0
            if formatted[decimals] == nil {
                formatted[decimals] = Set(values.map { String(format: "%.\(decimals)f", $0) })
            }
            if !(formatted[decimals] ?? []).contains(token) { unmatched.append(token) }
        }
        return unmatched
    }

    /// The text a reader sees: no style or script blocks, no tags, entities decoded.
    static func visibleText(ofHTML html: String) -> String {
        var text = html
        for block in ["style", "script", "head"] {
            text = text.replacingOccurrences(of: "<\(block)[^>]*>[\\s\\S]*?</\(block)>", with: " ", options: .regularExpression)
        }
        text = text.replacingOccurrences(of: "<[^>]*>", with: " ", options: .regularExpression)
        for (entity, character) in [("&lt;", "<"), ("&gt;", ">"), ("&quot;", "\""), ("&amp;", "&")] {
            text = text.replacingOccurrences(of: entity, with: character)
        }
        return text
    }

    static func figureReferences(markdown: String) -> [String] {
        captures(#"!\[[^\]]*\]\(([^)]+)\)"#, in: markdown)
    }

    static func figureReferences(html: String) -> [String] {
        captures(#"<img[^>]*\ssrc="([^"]+)""#, in: html)
    }

    static func captures(_ pattern: String, in text: String) -> [String] {
        guard let regex = try? NSRegularExpression(pattern: pattern) else { return [] }
        return regex.matches(in: text, range: NSRange(text.startIndex..., in: text)).compactMap {
            Range($0.range(at: 1), in: text).map { String(text[$0]) }
        }
    }
}
