import AdvModels
import AdvTensor

/// The norm an attack is bounded in.
public enum PerturbationNorm: String, Codable, Sendable, CaseIterable {
    case linf, l2
}

/// What an attack did to one example.
public struct ExampleResult: Codable, Sendable, Equatable {
    public var index: Int
    public var label: Int
    /// The attacked model's prediction on the clean image.
    public var cleanPrediction: Int
    /// Its prediction on the adversarial image.
    public var adversarialPrediction: Int
    /// Untargeted: the adversarial prediction differs from the label. Targeted: it equals the target.
    public var success: Bool
    public var target: Int?
    public var l0: Float, l1: Float, l2: Float, linf: Float

    /// Correctly classified, clean and under attack (what robust accuracy counts).
    public var isRobust: Bool { cleanPrediction == label && adversarialPrediction == label }
}

/// Adversarial images of a batch with their per-example results.
public struct AttackOutcome: Sendable {
    /// images01 [N, 1, 28, 28], clipped to [0, 1].
    public var adversarialImages: Tensor
    public var results: [ExampleResult]
    /// Forward-and-backward passes of single examples the attack ran (its work, for benchmarks).
    public var gradientEvaluations: Int = 0

    public init(adversarialImages: Tensor, results: [ExampleResult], gradientEvaluations: Int = 0) {
        self.adversarialImages = adversarialImages
        self.results = results
        self.gradientEvaluations = gradientEvaluations
    }

    /// Share of examples the model still classifies correctly under attack: clean-correct and
    /// not flipped (for targeted attacks: not driven to the target and still correct).
    public var robustAccuracy: Double {
        results.isEmpty
            ? 0
            : Double(results.filter(\.isRobust).count)
                / Double(results.count)
    }

    public var cleanAccuracy: Double {
        results.isEmpty ? 0 : Double(results.filter { $0.cleanPrediction == $0.label }.count) / Double(results.count)
    }

    /// Robust accuracy per true class (10 values).
    public func perClassRobustAccuracy(classCount: Int = 10) -> [Double] {
        (0..<classCount).map { c in
            let members = results.filter { $0.label == c }
            return members.isEmpty
                ? 0 : Double(members.filter { $0.adversarialPrediction == c && $0.cleanPrediction == c }.count) / Double(members.count)
        }
    }

    /// Joins outcomes of consecutive batches.
    public static func concatenate(_ parts: [AttackOutcome]) -> AttackOutcome {
        AttackOutcome(
            adversarialImages: Tensor.concatenate(parts.map(\.adversarialImages)), results: parts.flatMap(\.results),
            gradientEvaluations: parts.reduce(0) { $0 + $1.gradientEvaluations })
    }
}

/// Builds per-example results by comparing `adversarial` with `clean` under `model`.
/// clean, adversarial: [N, 1, 28, 28]; labels: N; targets: N or nil
public func makeResults(
    model: ImageClassifier, clean: Tensor, adversarial: Tensor, labels: [Int], targets: [Int]?,
    cleanPredictions: [Int]? = nil, indexOffset: Int = 0
) -> [ExampleResult] {
    let cleanPredicted = cleanPredictions ?? model.predict(clean)
    let adversarialPredicted = model.predict(adversarial)
    let delta = adversarial - clean
    let l0 = delta.normsPerExample(p: 0, zeroTolerance: 1e-6)
    let l1 = delta.normsPerExample(p: 1)
    let l2 = delta.normsPerExample(p: 2)
    let linf = delta.normsPerExample(p: .infinity)
    return labels.indices.map { i in
        let success = targets.map { adversarialPredicted[i] == $0[i] } ?? (adversarialPredicted[i] != labels[i])
        return ExampleResult(
            index: indexOffset + i, label: labels[i], cleanPrediction: cleanPredicted[i],
            adversarialPrediction: adversarialPredicted[i], success: success, target: targets?[i],
            l0: l0[i], l1: l1[i], l2: l2[i], linf: linf[i])
    }
}
