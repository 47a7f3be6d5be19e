import Foundation

/// The labels a person gave on the judge page (`advlab judge`), as the page saves them.
public struct HumanLabels: Codable, Sendable {
    public struct Label: Codable, Sendable {
        public var id: String
        /// real, plain-gan, unrestricted or perturbation.
        public var kind: String
        /// The class the image is meant to show (its label, or the source class).
        public var intended: Int
        /// The digit the person saw; nil for "not a digit".
        public var answer: Int?
    }
    public var page_seed: UInt64
    public var labels: [Label]
    /// Set by `load`: the file the labels came from.
    public var file: String?

    /// Reads and checks a labels file; throws a message naming the file and the field.
    public static func load(path: String) throws -> HumanLabels {
        guard let data = FileManager.default.contents(atPath: path) else { throw ReportError.unreadable(path) }
        var labels: HumanLabels
        do {
            labels = try JSONDecoder().decode(HumanLabels.self, from: data)
        } catch let DecodingError.keyNotFound(key, _) {
            throw ReportError.invalid(path, "missing field \(key.stringValue)")
        } catch let DecodingError.typeMismatch(_, context) {
            throw ReportError.invalid(path, "wrong type at \(context.codingPath.map(\.stringValue).joined(separator: "."))")
        } catch {
            throw ReportError.invalid(path, "not the JSON the judge page saves")
        }
        for (index, label) in labels.labels.enumerated() {
            guard (0...9).contains(label.intended) else { throw ReportError.invalid(path, "labels[\(index)].intended must be a class in 0…9") }
            if let answer = label.answer, !(0...9).contains(answer) { throw ReportError.invalid(path, "labels[\(index)].answer must be 0…9 or null") }
            guard Self.kinds.contains(label.kind) else { throw ReportError.invalid(path, "labels[\(index)].kind must be one of \(Self.kinds.joined(separator: ", "))") }
        }
        labels.file = path
        return labels
    }

    public static let kinds = ["real", "plain-gan", "unrestricted", "perturbation"]

    /// Checks that every label is of an image in `set` (the report's judge-set.json): its id is
    /// there, with the same kind and intended class. Throws one error naming the first label that
    /// is not, so that labels from another run or another page are never counted.
    public func check(against set: JudgeSet, setPath: String) throws {
        let items = Dictionary(set.items.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        for label in labels {
            guard let item = items[label.id] else {
                throw ReportError.invalid(file ?? "--human", "label id \(label.id) is not in \(setPath); the labels must come from "
                                          + "a judge page made from this report (advlab judge --from its folder)")
            }
            guard item.kind == label.kind, item.intended == label.intended else {
                throw ReportError.invalid(file ?? "--human", "label id \(label.id) is a \(label.kind) image of class \(label.intended), "
                                          + "but in \(setPath) it is a \(item.kind) image of class \(item.intended)")
            }
        }
    }

    /// Per kind: how often the person saw the intended class, and how often no digit at all.
    public func agreement() -> HumanAgreement {
        let kinds = Self.kinds.compactMap { kind -> HumanAgreement.Kind? in
            let members = labels.filter { $0.kind == kind }
            guard !members.isEmpty else { return nil }
            let agreeing = members.filter { $0.answer == $0.intended }.count
            let noDigit = members.filter { $0.answer == nil }.count
            let total = Double(members.count)
            return HumanAgreement.Kind(kind: kind, labelled: members.count, agreement: Double(agreeing) / total, not_a_digit: Double(noDigit) / total)
        }
        return HumanAgreement(file: file ?? "", kinds: kinds)
    }
}

public enum ReportError: Error, CustomStringConvertible {
    case unreadable(String)
    case invalid(String, String)

    public var description: String {
        switch self {
        case let .unreadable(path): return "\(path): cannot read the file"
        case let .invalid(path, problem): return "\(path): \(problem)"
        }
    }
}
