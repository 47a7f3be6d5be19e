import AdvTensor
import Foundation

/// Condition (1) of the post — "imperceptible side by side with the original" — cannot be
/// measured without people, so the lab measures **proxies** and says so: how many background
/// pixels changed visibly, how the total ink changed, SSIM, how far the example moved in the
/// triplet embedding relative to its class's spread, and whether independent references (the
/// embedding's k-NN, the other classifier) still give the source class.
public struct ConditionOneRule: Codable, Sendable, Equatable {
    /// A background pixel (clean value 0) counts as changed above this |δ| (about 13/255).
    public var backgroundChangeThreshold: Double = 0.05
    /// At most this share of background pixels may change visibly.
    public var maximumBackgroundChanged: Double = 0.01
    /// Mean SSIM must reach this.
    public var minimumSSIM: Double = 0.9
    /// Among successful examples, the embedding's k-NN must still give the source class this often.
    public var minimumKNNKeepsSource: Double = 0.9
    public init() {}
}

/// The proxy values over one set of examples.
public struct ConditionOneProxyValues: Codable, Sendable, Equatable {
    public var examples: Int
    /// Examples where the attack succeeded (the ones k-NN and the reference are asked about).
    public var successes: Int
    /// Mean over examples of the share of background pixels changed by more than the threshold.
    public var background_changed: Double
    /// Mean over examples of Σx' / Σx − 1.
    public var ink_change: Double
    public var ssim: Double
    /// Median of ‖e(x') − e(x)‖₂ over the source class's spread (median distance to its centroid).
    public var embedding_shift: Double?
    /// Among successes, the share the embedding's k-NN (k = 5) still labels as the source class.
    public var knn_keeps_source: Double?
    /// Among successes, the share the other classifier still labels as the source class.
    public var reference_keeps_source: Double?
}

/// Proxies overall and per class, with the verdict and its reasons.
public struct ConditionOneReport: Codable, Sendable, Equatable {
    public var overall: ConditionOneProxyValues
    public var per_class: [ConditionOneProxyValues]
    public var per_class_holds: [Bool]
    public var holds: Bool
    /// One sentence per proxy that decided the verdict, with its value and threshold.
    public var reasons: [String]
}

/// Per-example inputs to the proxies (computed once per attack setting).
public struct ConditionOneMeasurements: Sendable {
    public var labels: [Int]
    public var success: [Bool]
    public var backgroundChanged: [Double]
    public var inkChange: [Double]
    public var ssim: [Double]
    public var embeddingShift: [Double]?
    public var knnLabels: [Int]?
    public var referenceLabels: [Int]?

    /// clean, adversarial: [N, 1, 28, 28] in [0, 1]; embeddings of both ([N, D]) and each
    /// class's spread when an embedding is available.
    public init(
        clean: Tensor, adversarial: Tensor, labels: [Int], success: [Bool], rule: ConditionOneRule = .init(),
        cleanEmbeddings: Tensor? = nil, adversarialEmbeddings: Tensor? = nil, classSpread: [Double]? = nil,
        knnLabels: [Int]? = nil, referenceLabels: [Int]? = nil
    ) {
        precondition(
            clean.shape == adversarial.shape && clean.batchCount == labels.count && labels.count == success.count,
            "condition (1): clean, adversarial, labels and success must describe the same N examples")
        let n = labels.count
        let f = clean.count / max(1, n)
        self.labels = labels
        self.success = success
        var background = [Double](repeating: 0, count: n)
        var ink = background
        for i in 0..<n {
            var backgroundCount = 0
            var changed = 0
            var cleanInk = 0.0
            var adversarialInk = 0.0
            for j in (i * f)..<((i + 1) * f) {
                let x = clean.scalars[j]
                let xAdv = adversarial.scalars[j]
                cleanInk += Double(x)
                adversarialInk += Double(xAdv)
                if x == 0 {
                    backgroundCount += 1
                    if Double(abs(xAdv - x)) > rule.backgroundChangeThreshold { changed += 1 }
                }
            }
            background[i] = backgroundCount == 0 ? 0 : Double(changed) / Double(backgroundCount)
            ink[i] = cleanInk == 0 ? 0 : adversarialInk / cleanInk - 1
        }
        backgroundChanged = background
        inkChange = ink
        ssim = SSIM.similarities(clean, adversarial)
        if let cleanEmbeddings, let adversarialEmbeddings, let classSpread {
            let d = cleanEmbeddings.count / max(1, n)
            embeddingShift = (0..<n).map { i in
                var sum = 0.0
                for j in (i * d)..<((i + 1) * d) {
                    let diff = Double(adversarialEmbeddings.scalars[j] - cleanEmbeddings.scalars[j])
                    sum += diff * diff
                }
                return sum.squareRoot() / max(1e-12, classSpread[labels[i]])
            }
        } else {
            embeddingShift = nil
        }
        self.knnLabels = knnLabels
        self.referenceLabels = referenceLabels
    }

    /// The proxies over the examples in `subset`.
    public func values(_ subset: [Int]) -> ConditionOneProxyValues {
        func mean(_ values: [Double]) -> Double { subset.isEmpty ? 0 : subset.map { values[$0] }.reduce(0, +) / Double(subset.count) }
        let successes = subset.filter { success[$0] }
        func keeps(_ predicted: [Int]?) -> Double? {
            guard let predicted, !successes.isEmpty else { return nil }
            return Double(successes.filter { predicted[$0] == labels[$0] }.count) / Double(successes.count)
        }
        let shifts = embeddingShift.map { shift in subset.map { shift[$0] }.sorted() }
        return ConditionOneProxyValues(
            examples: subset.count, successes: successes.count,
            background_changed: mean(backgroundChanged), ink_change: mean(inkChange), ssim: mean(ssim),
            embedding_shift: shifts.flatMap { $0.isEmpty ? nil : $0[$0.count / 2] },
            knn_keeps_source: keeps(knnLabels), reference_keeps_source: keeps(referenceLabels))
    }

    /// Overall and per-class proxies with the verdict of `rule`.
    public func report(rule: ConditionOneRule = .init(), classCount: Int = 10) -> ConditionOneReport {
        let overall = values(Array(labels.indices))
        let perClass = (0..<classCount).map { digit in values(labels.indices.filter { labels[$0] == digit }) }
        let (holds, reasons) = Self.verdict(overall, rule: rule)
        return ConditionOneReport(
            overall: overall, per_class: perClass,
            per_class_holds: perClass.map { $0.examples > 0 && Self.verdict($0, rule: rule).holds },
            holds: holds, reasons: reasons)
    }

    /// (1) holds by proxy when few background pixels change visibly, SSIM stays high and the
    /// embedding's k-NN still sees the source class in the successful examples.
    public static func verdict(_ values: ConditionOneProxyValues, rule: ConditionOneRule) -> (holds: Bool, reasons: [String]) {
        var failures: [String] = []
        var passes: [String] = []
        func check(_ passed: Bool, _ sentence: String) { if passed { passes.append(sentence) } else { failures.append(sentence) } }
        check(
            values.background_changed <= rule.maximumBackgroundChanged,
            String(
                format: "%.3f of background pixels change by more than %.2f (limit %.3f)",
                values.background_changed, rule.backgroundChangeThreshold, rule.maximumBackgroundChanged))
        check(values.ssim >= rule.minimumSSIM, String(format: "mean SSIM %.3f (needs %.2f)", values.ssim, rule.minimumSSIM))
        if let keeps = values.knn_keeps_source {
            check(
                keeps >= rule.minimumKNNKeepsSource,
                String(
                    format: "the embedding's k-NN keeps the source class on %.3f of successes (needs %.2f)", keeps,
                    rule.minimumKNNKeepsSource))
        }
        return failures.isEmpty ? (true, passes) : (false, failures)
    }
}
