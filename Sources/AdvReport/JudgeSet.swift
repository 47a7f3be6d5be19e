import AdvAttacks
import AdvImaging
import AdvModels
import AdvTensor
import Foundation

/// One image for people to label: what it is and which class it is meant to show.
public struct JudgeItem: Codable, Sendable, Equatable {
    public var id: String
    /// real, plain-gan, unrestricted or perturbation (see `HumanLabels.kinds`).
    public var kind: String
    /// The class the image is meant to show: its label, the requested class, or the source class.
    public var intended: Int
    /// The setting it comes from (`JudgeSettings`), e.g. "pgd linf 0.3 vs natural": the people's
    /// labels are counted per setting.
    public var setting: String
    /// The other class involved, where there is one: a search's or an invariance example's target,
    /// the combination's other image's class.
    public var other: Int?
    /// Where exactly it came from, e.g. "test image 9995" (not shown to people).
    public var detail: String?
    /// `height` × `width` grey levels, row-major.
    public var pixels: [UInt8]
    /// The image's size; nil in sets written before it was recorded, which hold 28×28 images.
    public var width: Int?
    public var height: Int?
    /// The image's (height, width).
    public var size: (height: Int, width: Int) { (height ?? 28, width ?? 28) }

    /// image01: [1, 1, H, W] in [0, 1] (a flat 784 values: 28×28).
    public init(id: String, kind: String, intended: Int, setting: String, other: Int? = nil, detail: String? = nil, image01: Tensor) {
        self.id = id
        self.kind = kind
        self.intended = intended
        self.setting = setting
        self.other = other
        self.detail = detail
        pixels = image01.scalars.map { Bitmap.byte(fromUnit: $0) }
        if image01.shape.count == 4 {
            height = image01.shape[2]
            width = image01.shape[3]
        } else {
            (height, width) = (28, 28)
        }
    }
}

/// What the lab's own judge says about one setting, to stand beside the people's answers.
public struct JudgeSetting: Codable, Sendable, Equatable {
    public var setting: String
    public var kind: String
    /// The triplet embedding's 5-NN: share of the setting's examples (all of them, not only those
    /// on the page) it reads as the intended class; nil where the lab has no such figure.
    public var knn_keeps_intended: Double?
    /// The validity panel (`UnrestrictedPanel`: the 5-NN, the robust judge of another
    /// architecture, the natural model unless attacked): share of the setting's successes that
    /// every judge reads as the source, the lab's valid share to stand beside the people's; nil
    /// outside the unrestricted settings and in sets written before it.
    public var panel_keeps_intended: Double? = nil
}

/// The set of items a report offers to the judge page (`judge-set.json` in the report folder).
public struct JudgeSet: Codable, Sendable {
    public var seed: UInt64
    public var items: [JudgeItem]
    /// Every setting offered, in the study's order, with the lab's own judgement (absent in sets
    /// written before issue 22).
    public var settings: [JudgeSetting]?

    public init(seed: UInt64, items: [JudgeItem], settings: [JudgeSetting]? = nil) {
        self.seed = seed
        self.items = items
        self.settings = settings
    }

    public static func load(folder: String) throws -> JudgeSet {
        try load(path: folder + "/judge-set.json", missingHint: "run advlab report --out \(folder) first")
    }

    /// Reads and checks a judge set; `missingHint` says how to make one.
    public static func load(path: String, missingHint: String) throws -> JudgeSet {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ReportError.invalid(path, "missing; \(missingHint)")
        }
        do {
            let set = try JSONDecoder().decode(JudgeSet.self, from: data)
            for (index, item) in set.items.enumerated() {
                let (height, width) = item.size
                guard (1...1024).contains(height), (1...1024).contains(width) else {
                    throw ReportError.invalid(path, "items[\(index)]: width and height must be in 1…1024")
                }
                guard item.pixels.count == height * width else {
                    throw ReportError.invalid(path, "items[\(index)].pixels must hold \(height)×\(width) = \(height * width) values")
                }
                guard (0...9).contains(item.intended) else { throw ReportError.invalid(path, "items[\(index)].intended must be 0…9") }
                guard HumanLabels.kinds.contains(item.kind) else {
                    throw ReportError.invalid(path, "items[\(index)].kind is not a known kind")
                }
            }
            return set
        } catch let error as ReportError {
            throw error
        } catch {
            throw ReportError.invalid(path, "not a judge set written by advlab")
        }
    }

    public func write(to path: String) throws {
        try AtomicFile.write(String(decoding: try JSONEncoder().encode(self), as: UTF8.self), to: path)
    }

    /// The settings in order of first appearance: `settings` when recorded, else from the items.
    public var settingList: [JudgeSetting] {
        var list = settings ?? []
        var seen = Set(list.map(\.setting))
        for item in items where seen.insert(item.setting).inserted {
            list.append(JudgeSetting(setting: item.setting, kind: item.kind, knn_keeps_intended: nil))
        }
        return list
    }

    /// Several sets as one (for a page made from several reports).
    public static func merged(_ sets: [JudgeSet]) -> JudgeSet {
        var settings: [JudgeSetting] = []
        for setting in sets.flatMap(\.settingList) where !settings.contains(where: { $0.setting == setting.setting }) {
            settings.append(setting)
        }
        return JudgeSet(seed: sets.first?.seed ?? 0, items: sets.flatMap(\.items), settings: settings)
    }

    /// The successes of a latent search as one setting, ids `unrestricted-<record>` (what
    /// `advlab unrestricted` writes beside its records, for `advlab judge --from-unrestricted`).
    public static func search(_ outcome: LatentSearchOutcome, setting: String, seed: UInt64) -> JudgeSet {
        let items = outcome.records.indices.filter { outcome.records[$0].success }.map { index in
            JudgeItem(
                id: "unrestricted-\(index)", kind: "unrestricted", intended: outcome.records[index].source, setting: setting,
                other: outcome.records[index].target, detail: "record \(index)", image01: outcome.images.slice(index..<(index + 1)))
        }
        return JudgeSet(seed: seed, items: items, settings: [JudgeSetting(setting: setting, kind: "unrestricted", knn_keeps_intended: nil)])
    }
}

/// The names of the judge set's settings: one function per family, so the study, the checks and
/// the report spell them alike.
public enum JudgeSettings {
    public static let real = "real test images"

    public static func plainSamples(generator: String) -> String { "plain \(generator) samples" }

    /// The generator named by a `plainSamples` setting, else nil.
    public static func generator(ofPlainSamples setting: String) -> String? {
        guard setting.hasPrefix("plain "), setting.hasSuffix(" samples") else { return nil }
        return String(setting.dropFirst("plain ".count).dropLast(" samples".count))
    }

    public static func unrestricted(generator: String, variant: String, model: String) -> String {
        "unrestricted \(generator) \(variant) vs \(model)"
    }

    public static func perturbation(method: String, norm: String, eps: Double, model: String) -> String {
        "\(method) \(norm) \(Format.eps(eps)) vs \(model)"
    }

    public static func combination(eps: Double) -> String { "combination linf \(Format.eps(eps))" }

    public static func invariance(eps: Double) -> String { "invariance linf \(Format.eps(eps))" }

    /// The perturbation attacks whose examples people are asked about (issue 22), against every
    /// model, wherever the study's grid holds them: PGD at the data set's judged L∞ radii (MNIST
    /// 0.3 and 0.4) and its headline L2 radius (MNIST 4.5).
    public static func perturbations(_ dataset: StudyDataset) -> [(method: String, norm: String, eps: Double)] {
        dataset.judged_linf_eps.map { ("pgd", "linf", $0) } + [("pgd", "l2", dataset.headline_l2_eps)]
    }

    /// The short name of a generator (`GeneratorArchitectures`), else its architecture string.
    public static func generatorName(_ generator: any ConditionalGenerator, _ discriminator: any ConditionalDiscriminator) -> String {
        let architecture = generator.architecture + "+" + discriminator.architecture
        return GeneratorArchitectures.all.first { $0.architecture == architecture }?.name ?? generator.architecture
    }

    /// The settings a report's results call for: every unrestricted row, every judged
    /// perturbation in its robustness rows, the combination and invariance examples, the two
    /// controls. `ReportChecks` asks that judge-set.json cover each of them.
    public static func expected(_ results: ReportResults, generator: String) -> [String] {
        var names = [real, plainSamples(generator: generator)]
        names += results.unrestricted.map { unrestricted(generator: generator, variant: $0.variant, model: $0.model) }
        for (method, norm, eps) in perturbations(results.data) {
            names += results.robustness.filter { $0.method == method && $0.norm == norm && abs($0.eps - eps) < 1e-9 }
                .map { perturbation(method: method, norm: norm, eps: eps, model: $0.model) }
        }
        names += results.combination.map { combination(eps: $0.eps) }
        names += results.invariance.map { invariance(eps: $0.eps) }
        return names
    }
}

/// Stratified picks for the judge set and the page.
public enum JudgeSampling {
    /// Up to `count` of `candidates`, spread evenly over their strata: members are shuffled
    /// within each stratum, the strata (in a shuffled order) take turns giving their next member
    /// until `count` are taken or every stratum is empty. The result keeps that turn order.
    public static func stratified<Element>(
        _ candidates: [Element], count: Int, stratum: (Element) -> String,
        using rng: inout SeededGenerator
    ) -> [Element] {
        var groups: [String: [Element]] = [:]
        var keys: [String] = []
        for candidate in candidates {
            let key = stratum(candidate)
            if groups[key] == nil { keys.append(key) }
            groups[key, default: []].append(candidate)
        }
        keys.seededShuffle(using: &rng)
        let queues = keys.map { key -> [Element] in
            var members = groups[key] ?? []
            members.seededShuffle(using: &rng)
            return members
        }
        var chosen: [Element] = []
        var round = 0
        while chosen.count < count, queues.contains(where: { round < $0.count }) {
            for queue in queues.indices where round < queues[queue].count && chosen.count < count {
                chosen.append(queues[queue][round])
            }
            round += 1
        }
        return chosen
    }

    /// The stratum of an item: its intended class, and its other class where it has one.
    public static func classStratum(_ item: JudgeItem) -> String { item.other.map { "\(item.intended)→\($0)" } ?? "\(item.intended)" }
}
