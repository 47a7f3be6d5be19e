import Foundation

/// Checks a written report folder: every number on `report.md` and `index.html` is a value of
/// `results.json` at the precision shown, and every figure the pages reference exists and is a
/// PNG or SVG file; the pages equal those rendered again from results.json, which agrees with
/// itself and whose fingerprint matches the files on disk (`ReportVerification`; data files are
/// looked for in `dataDirectory`). Returns the problems found (empty: the report is consistent).
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
