import Foundation

/// The labels one person gave, as the judge page saves them (or `advlab judge --import-mturk`
/// writes them for one worker).
public struct HumanLabels: Codable, Sendable, Equatable {
    public struct Label: Codable, Sendable, Equatable {
        public var id: String
        /// real, plain-gan, unrestricted or perturbation.
        public var kind: String
        /// The class the image is meant to show (its label, or the source class).
        public var intended: Int
        /// The judge set's setting of the image (absent in files saved before issue 22).
        public var setting: String?
        /// The class the person saw; nil for "not a digit".
        public var answer: Int?

        public init(id: String, kind: String, intended: Int, setting: String?, answer: Int?) {
            self.id = id
            self.kind = kind
            self.intended = intended
            self.setting = setting
            self.answer = answer
        }

        // `answer` is written as null for "not a digit", never left out.
        public func encode(to encoder: Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(id, forKey: .id)
            try container.encode(kind, forKey: .kind)
            try container.encode(intended, forKey: .intended)
            try container.encodeIfPresent(setting, forKey: .setting)
            try container.encode(answer, forKey: .answer)
        }
    }
    /// "advlab-labels" (absent in files saved before issue 22).
    public var format: String?
    public var page_seed: UInt64
    /// The name the person typed (page), or "mturk:<WorkerId>".
    public var annotator: String?
    /// The instruction the person was given: one of `JudgeInstruction`'s names.
    public var instruction: String?
    /// "page" or "mturk".
    public var origin: String?
    public var labels: [Label]
    /// Set by `load`: the file the labels came from (not saved).
    public var file: String?

    public init(page_seed: UInt64, annotator: String?, instruction: String?, origin: String?, labels: [Label]) {
        format = Self.formatName
        self.page_seed = page_seed
        self.annotator = annotator
        self.instruction = instruction
        self.origin = origin
        self.labels = labels
    }

    enum CodingKeys: String, CodingKey { case format, page_seed, annotator, instruction, origin, labels }

    public static let formatName = "advlab-labels"
    public static let kinds = ["real", "plain-gan", "unrestricted", "perturbation"]

    /// Who gave the labels: the typed name, else the file's name.
    public var annotatorName: String { annotator ?? URL(fileURLWithPath: file ?? "labels").lastPathComponent }

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
        if let format = labels.format, format != formatName {
            throw ReportError.invalid(path, "format is \"\(format)\", not \"\(formatName)\"")
        }
        if let instruction = labels.instruction, JudgeInstruction(rawValue: instruction) == nil {
            throw ReportError.invalid(
                path,
                "instruction must be one of \(JudgeInstruction.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        var seen = Set<String>()
        for (index, label) in labels.labels.enumerated() {
            guard (0...9).contains(label.intended) else {
                throw ReportError.invalid(path, "labels[\(index)].intended must be a class in 0…9")
            }
            if let answer = label.answer, !(0...9).contains(answer) {
                throw ReportError.invalid(path, "labels[\(index)].answer must be 0…9 or null")
            }
            guard Self.kinds.contains(label.kind) else {
                throw ReportError.invalid(path, "labels[\(index)].kind must be one of \(Self.kinds.joined(separator: ", "))")
            }
            guard seen.insert(label.id).inserted else {
                throw ReportError.invalid(path, "labels[\(index)].id \(label.id) is labelled twice")
            }
        }
        labels.file = path
        return labels
    }

    /// Checks that every label is of an image in `set` (the report's judge-set.json): its id is
    /// there, with the same kind and intended class. Throws one error naming the first label that
    /// is not, so that labels from another run or another page are never counted.
    public func check(against set: JudgeSet, setPath: String) throws {
        let items = Dictionary(set.items.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        for label in labels {
            guard let item = items[label.id] else {
                throw ReportError.invalid(
                    file ?? "--human",
                    "label id \(label.id) is not in \(setPath); the labels must come from "
                        + "a judge page made from this report (advlab judge --from its folder)")
            }
            guard item.kind == label.kind, item.intended == label.intended else {
                throw ReportError.invalid(
                    file ?? "--human",
                    "label id \(label.id) is a \(label.kind) image of class \(label.intended), "
                        + "but in \(setPath) it is a \(item.kind) image of class \(item.intended)")
            }
        }
    }
}

/// The instruction a page or a HIT gives people, written into their labels.
public enum JudgeInstruction: String, CaseIterable, Codable, Sendable {
    /// Song et al. 2018's Mechanical Turk instruction: "not a digit" only for images that look
    /// like no digit at all.
    case lenient
    /// Only a clear, natural-looking digit counts.
    case strict

    /// The text shown to people; `noun` is the data set's word for one image ("digit").
    public func text(noun: String) -> String {
        switch self {
        case .lenient:
            return "Pick the \(noun) you see. Choose \"not a \(noun)\" only when the image does not look close to any \(noun); "
                + "it is fine if the \(noun) is blurry, noisy or looks artificial. "
                + "If the image shows several, pick the one nearest the middle."
        case .strict:
            return "Pick a \(noun) only if you would read the image as that \(noun) without hesitating, as if a person had written it. "
                + "If it is smudged, noisy or artificial enough that you hesitate, or shows no \(noun), choose \"not a \(noun)\"."
        }
    }
}

public enum ReportError: Error, CustomStringConvertible {
    case unreadable(String)
    case invalid(String, String)

    public var description: String {
        switch self {
        case .unreadable(let path): return "\(path): cannot read the file"
        case .invalid(let path, let problem): return "\(path): \(problem)"
        }
    }
}
