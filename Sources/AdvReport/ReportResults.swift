import AdvAnalysis
import AdvAttacks
import Foundation

/// Everything `advlab report` measured: `results.json`. The Markdown and HTML pages are
/// rendered from this value alone (`ReportMarkdown`, `ReportHTML`), so every number on them
/// is one of these.
public struct ReportResults: Codable, Sendable {
    public var seed: UInt64
    public var quick: Bool
    public var settings: ReportSettings
    /// Model name ("natural", "robust") -> checkpoint path.
    public var models: [String: String]
    public var generator: String
    public var embedding: String
    public var classes: [Int] = Array(0..<10)
    /// The data set, its class names and headline budgets; nil in results written before it
    /// was recorded, which ran on MNIST (`data`).
    public var dataset: StudyDataset?
    /// The SHA-256 of the checkpoints, data files and executable of the run (`advlab report`
    /// adds it after the study); `--verify` checks it against the files on disk.
    public var fingerprint: RunFingerprint?
    public var generalization: Generalization
    public var robustness: [AttackSetting]
    public var minimal_perturbations: [MinimalPerturbation]
    public var condition_two_curves: [ConditionTwoCurve]
    public var unrestricted: [UnrestrictedSetting]
    public var combination: [CombinationSetting]
    /// Label-changing (invariance) examples after Tramèr et al. 2020, per ε, natural model
    /// attacked and robust model as reference.
    public var invariance: [InvarianceReport]
    public var distances: DistanceAnalysis
    public var per_class_eps: [PerClassEpsilonReport]
    /// People's labels (`--human`), folded in by `HumanAgreement.fold`.
    public var human: HumanAgreement?
    public var condition_one_rule: ConditionOneRule
    public var conclusions: [Conclusion]
    /// Figure name -> file name beside the page.
    public var figures: [String: String]
    public var seconds: Double

    /// The data set the study ran on.
    public var data: StudyDataset { dataset ?? .mnist }

    /// results.json: pretty, key-sorted; a value that is not finite (e.g. a quantile of no
    /// examples) is written as the string "nan" or "inf".
    public static func jsonText(_ results: ReportResults) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return String(decoding: try encoder.encode(results), as: UTF8.self)
    }

    public static func decode(_ data: Data) throws -> ReportResults {
        let decoder = JSONDecoder()
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return try decoder.decode(ReportResults.self, from: data)
    }
}

/// The sizes of the study (`--quick` shrinks them).
public struct ReportSettings: Codable, Sendable, Equatable {
    public var test_images: Int
    public var attack_images: Int
    public var attack_steps: Int
    /// PGD and IGS step size = pgd_step_factor · ε / attack_steps (Madry et al. 2018).
    public var pgd_step_factor: Double
    public var linf_grid: [Double]
    public var l2_grid: [Double]
    public var cw_images: Int
    public var cw_iterations: Int
    public var cw_binary_steps: Int
    public var embedding_eps: Double
    public var condition_two_queries: Int
    public var plain_samples_per_class: Int
    public var unrestricted_per_pair: Int
    public var unrestricted_untargeted_per_class: Int
    public var unrestricted_steps: Int
    public var unrestricted_lr: Double
    /// Each latent search starts from the best of this many z0 draws (`LatentSearchConfig.startCandidates`).
    public var unrestricted_start_candidates: Int
    public var noise_eps: Double
    public var combination_eps: Double
    public var combination_per_pair: Int
    public var distance_per_class: Int
    /// Images of each setting offered to the judge page (judge-set.json; the name predates settings).
    public var judge_per_kind: Int
    /// Per-class ε: images x0 per class, each combined with one image of every other class.
    public var eps_pairs_per_class: Int
    /// AutoAttack (Croce & Hein 2020) behind the headline robust accuracy (`StudyDataset.headlines`):
    /// its version (standard: APGD-CE, APGD-T, FAB-T, Square; fast: the two APGD attacks), APGD's
    /// and FAB-T's iterations and Square's queries, turned into settings by `AutoAttackConfig.named`.
    public var autoattack_version: AutoAttackVersion
    public var autoattack_iterations: Int
    public var autoattack_square_queries: Int

    /// The data set's headlines (`StudyDataset.headlines`) that this study's grids hold.
    public func headlinesInGrid(_ dataset: StudyDataset) -> [(norm: PerturbationNorm, eps: Double)] {
        dataset.headlines.filter { headline in
            (headline.norm == .linf ? linf_grid : l2_grid).contains { abs($0 - headline.eps) < 1e-9 }
        }
    }

    public static let full = ReportSettings(
        test_images: 10_000, attack_images: 1000, attack_steps: 40, pgd_step_factor: Double(GradientAttackConfig.defaultStepFactor),
        linf_grid: [0.05, 0.1, 0.2, 0.3, 0.4],
        l2_grid: [0.5, 1, 2, 3, 4.5], cw_images: 300, cw_iterations: 150, cw_binary_steps: 6, embedding_eps: 0.5,
        condition_two_queries: 70_000, plain_samples_per_class: 1000, unrestricted_per_pair: 5,
        // The latent search's defaults (LatentSearchConfig), which advlab unrestricted also runs.
        unrestricted_untargeted_per_class: 20, unrestricted_steps: LatentSearchConfig.defaults.steps,
        unrestricted_lr: Double(LatentSearchConfig.defaults.learningRate),
        unrestricted_start_candidates: LatentSearchConfig.defaults.startCandidates,
        noise_eps: 0.1,
        combination_eps: 0.3, combination_per_pair: 10, distance_per_class: 100, judge_per_kind: 40, eps_pairs_per_class: 30,
        autoattack_version: .standard, autoattack_iterations: 100, autoattack_square_queries: 5000)

    public static let quick = ReportSettings(
        test_images: 2000, attack_images: 100, attack_steps: 40, pgd_step_factor: Double(GradientAttackConfig.defaultStepFactor),
        // L∞ 0.4: a setting of the judge set (JudgeSettings.perturbations).
        linf_grid: [0.1, 0.3, 0.4], l2_grid: [1.5, 4.5],
        cw_images: 20, cw_iterations: 60, cw_binary_steps: 4, embedding_eps: 0.5,
        condition_two_queries: 1000, plain_samples_per_class: 50, unrestricted_per_pair: 1,
        unrestricted_untargeted_per_class: 2, unrestricted_steps: 100, unrestricted_lr: 0.05, unrestricted_start_candidates: 8,
        noise_eps: 0.1,
        combination_eps: 0.3, combination_per_pair: 1, distance_per_class: 30, judge_per_kind: 5, eps_pairs_per_class: 4,
        // The fast version on the quick report's few images, with fewer APGD iterations to keep its time.
        autoattack_version: .fast, autoattack_iterations: 50, autoattack_square_queries: 5000)
}

public struct Generalization: Codable, Sendable {
    public struct ModelErrors: Codable, Sendable {
        public var model: String
        public var test_error: Double
        public var per_class_test_error: [Double]
        public var plain_sample_error: Double
        public var per_class_plain_sample_error: [Double]
    }
    public var test_images: Int
    public var plain_samples_per_class: Int
    public var models: [ModelErrors]
}

/// One perturbation attack setting against one model, with its verdicts on (1) and (2).
public struct AttackSetting: Codable, Sendable {
    public var model: String
    public var method: String
    /// linf, l2 or embedding-l2.
    public var norm: String
    public var eps: Double
    public var count: Int
    public var clean_accuracy: Double
    public var robust_accuracy: Double
    public var per_class_robust_accuracy: [Double]
    public var condition_one: ConditionOneReport
    public var condition_two: ConditionTwoVerdict
    /// AutoAttack rows only (method "autoattack"): each stage's robust accuracy and time, in the
    /// order run; the row's robust accuracy is the last stage's.
    public var stages: [AttackStage]? = nil
}

/// The share of images with a same-class image within ε, along ε, for one norm.
public struct ConditionTwoCurve: Codable, Sendable {
    public var norm: String
    public var images: Int
    public var eps: [Double]
    public var share_with_same_class_within_eps: [Double]
    public var quantile_levels: [Double]
    /// Per class: quantiles (at quantile_levels) of the nearest same-class distance.
    public var per_class_nearest_same_class_quantiles: [[Double]]
}

/// C&W-L2: the smallest L2 perturbation that flips each image.
public struct MinimalPerturbation: Codable, Sendable {
    public var model: String
    public var count: Int
    public var success_rate: Double
    public var quantile_levels: [Double]
    /// Quantiles (at quantile_levels) of the L2 distance over successes.
    public var l2_quantiles: [Double]
    public var per_class_median_l2: [Double]
    /// Share of images whose minimal perturbation is smaller than their nearest same-class image
    /// (so the model's boundary sits inside the region (2) asks for).
    public var share_below_nearest_same_class: Double
    public var condition_one: ConditionOneReport
}

/// One latent-space search setting (Song et al. 2018) against one model.
public struct UnrestrictedSetting: Codable, Sendable {
    public var model: String
    /// targeted, untargeted or noise-augmented.
    public var variant: String
    public var count: Int
    public var success_rate: Double
    /// [source][target] success rates (targeted variants), nil on the diagonal.
    public var per_pair: [[Double?]]?
    public var per_source_success_rate: [Double]
    /// The auxiliary classifier's mean confidence in the source on successes (nil without one).
    public var auxiliary_source_confidence_on_successes: Double?
    /// The validity panel's judges (the triplet 5-NN, the robust judge, the natural model when
    /// the robust one is attacked); nil in results written before the panel.
    public var panel: [String]?
    /// Why a judge of the panel is missing (its checkpoint is absent), or nil.
    public var panel_missing: String?
    /// Fraction of the searches that succeed AND every judge says the source.
    public var valid_success_rate: Double?
    /// Fraction of the successes every judge reads as the source.
    public var panel_agreement_on_successes: Double?
    /// Per judge, the fraction of the successes it reads as the source.
    public var judge_agreement_on_successes: [String: Double?]?
    /// The control: the fraction of the successes whose starting image G(z0, s) every judge reads
    /// as the source; nil in results written before it or without a success.
    public var panel_agreement_on_starts_of_successes: Double?
    public var condition_one: ConditionOneReport?
    /// Quantiles 0, 50 % of the L2 and L∞ distance of successes to the nearest training image of the source class.
    public var nearest_train_l2_quantiles: [Double]
    public var nearest_train_linf_quantiles: [Double]
    public var condition_two_reason: String
}

/// The post's combination image x0 + ε·sign(x1).
public struct CombinationSetting: Codable, Sendable {
    public var eps: Double
    public var count: Int
    /// Model name -> share still classified as the source class.
    public var still_source: [String: Double]
    /// Model name -> share classified as the other image's class.
    public var became_other: [String: Double]
    public var knn_still_source: Double
    public var knn_became_other: Double
    public var condition_one: ConditionOneReport
    public var condition_two: ConditionTwoVerdict
}

public struct DistanceAnalysis: Codable, Sendable {
    public var per_class: Int
    /// Norm ("l2", "linf", "embedding-l2") -> 10×10 mean pairwise distances.
    public var mean_pairwise: [String: [[Double]]]
    public var rows_not_closest_to_self: [String: [Int]]
}

/// One plain-language finding, computed from the numbers above.
public struct Conclusion: Codable, Sendable {
    public var question: String
    public var answer: String
}

extension ReportResults {
    /// Why a folder's results.json could not be read, naming the flag and the folder.
    public struct LoadProblem: Error, CustomStringConvertible {
        public let description: String
    }

    /// A finished report's results.json (`--render DIR`, `--compare A B`); a missing or foreign
    /// file is a `LoadProblem` naming `flag` and the folder.
    public static func load(folder: String, flag: String) throws -> ReportResults {
        guard let data = FileManager.default.contents(atPath: folder + "/results.json") else {
            throw LoadProblem(description: "\(flag) \(folder): no results.json in the folder")
        }
        do { return try decode(data) } catch {
            throw LoadProblem(description: "\(flag) \(folder)/results.json: not the report's results (\(error))")
        }
    }
}
