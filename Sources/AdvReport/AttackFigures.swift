import AdvAnalysis
import AdvAttacks
import AdvImaging
import AdvTensor
import Foundation

/// Figures and tables of perturbation attacks.
public enum AttackFigures {
    /// The post's figure: one row per example, *original | perturbation | adversarial*, each
    /// labelled with the model's prediction; the perturbation δ is drawn on a red–blue scale
    /// saturated at its own largest |δ| (so small perturbations are visible), with that scale
    /// printed under it. Successful attacks get a red frame around the adversarial tile.
    public static func perturbationRows(
        clean: Tensor, adversarial: Tensor, results: [ExampleResult], rows indices: [Int],
        title: String
    ) -> ImageGrid {
        let (height, width) = (clean.shape[2], clean.shape[3])
        var grid = ImageGrid(
            rows: max(1, indices.count), columns: 3, tileWidth: width, tileHeight: height, scale: 3, padding: 6, textScale: 1)
        grid.title = title
        grid.columnHeader(column: 0, text: "original")
        grid.columnHeader(column: 1, text: "perturbation")
        grid.columnHeader(column: 2, text: "adversarial")
        for (row, index) in indices.enumerated() {
            let result = results[index]
            let x = clean.slice(index..<(index + 1))
            let xAdv = adversarial.slice(index..<(index + 1))
            let delta = (xAdv - x).scalars
            let limit = max(1e-6, delta.reduce(0) { max($0, abs($1)) })
            grid.set(row: row, column: 0, bitmap: Bitmap(image01: x))
            grid.label(row: row, column: 0, text: "label \(result.label), pred \(result.cleanPrediction)")
            grid.set(row: row, column: 1, bitmap: Colormap.redBlue.bitmap(signed: delta, width: width, height: height, limit: limit))
            grid.label(row: row, column: 1, text: String(format: "±%.2f L2 %.2f", limit, result.l2))
            grid.set(row: row, column: 2, bitmap: Bitmap(image01: xAdv))
            grid.label(row: row, column: 2, text: "pred \(result.adversarialPrediction)", color: result.success ? .red : .black)
            if result.success { grid.frame(row: row, column: 2, color: .red) }
        }
        return grid
    }

    /// Up to `count` example indices for a figure: successes first (one per class where
    /// possible), then failures.
    public static func figureIndices(_ results: [ExampleResult], count: Int = 8) -> [Int] {
        var chosen: [Int] = []
        var seenClasses = Set<Int>()
        for (i, r) in results.enumerated() where r.success && !seenClasses.contains(r.label) && chosen.count < count {
            chosen.append(i)
            seenClasses.insert(r.label)
        }
        for (i, r) in results.enumerated() where r.success && !chosen.contains(i) && chosen.count < count { chosen.append(i) }
        for i in results.indices where !chosen.contains(i) && chosen.count < count { chosen.append(i) }
        return chosen
    }

    /// Per-example results as CSV.
    public static func resultsCSV(_ results: [ExampleResult]) -> String {
        var lines = ["index,label,target,clean_prediction,adversarial_prediction,success,l0,l1,l2,linf"]
        for r in results {
            lines.append(
                "\(r.index),\(r.label),\(r.target.map(String.init) ?? ""),\(r.cleanPrediction),\(r.adversarialPrediction),"
                    + "\(r.success ? 1 : 0),\(Int(r.l0)),\(String(format: "%.6g", r.l1)),\(String(format: "%.6g", r.l2)),\(String(format: "%.6g", r.linf))"
            )
        }
        return lines.joined(separator: "\n") + "\n"
    }
}

/// An optional that JSON shows as `null` when absent (the synthesized coding would drop the key),
/// for summary figures that were not measured: a reader sees `null`, never a made-up 0.
@propertyWrapper
public struct ExplicitNull<Value: Codable & Sendable>: Codable, Sendable {
    public var wrappedValue: Value?
    public init(wrappedValue: Value?) { self.wrappedValue = wrappedValue }

    public init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        wrappedValue = container.decodeNil() ? nil : try container.decode(Value.self)
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        if let wrappedValue { try container.encode(wrappedValue) } else { try container.encodeNil() }
    }
}

/// The summary of one attack setting, as `advlab attack --json` prints it.
public struct AttackSummary: Codable, Sendable {
    public var method: String
    public var norm: String
    public var eps: Double?
    public var clean_accuracy: Double
    public var robust_accuracy: Double
    /// null for a class with no image among the attacked ones.
    public var per_class_robust_accuracy: [Double?]
    public var success_rate: Double
    public var max_linf: Double
    public var max_l2: Double
    /// Over the successes; null when nothing succeeded.
    @ExplicitNull public var median_l2: Double?
    public var count: Int
    public var seed: UInt64
    public var settings: [String: Double]
    /// Invariance examples only: what the k-NN and the models said (omitted otherwise).
    public var invariance: InvarianceReport?
    /// AutoAttack and its attacks only: each stage's robust accuracy and time (omitted otherwise).
    public var stages: [AttackStage]?
    /// `attack --chunk` only: the processor each chunk ran on, in chunk order (omitted otherwise).
    public var chunk_machines: [String]?

    public init(method: String, norm: String, eps: Double?, outcome: AttackOutcome, seed: UInt64, settings: [String: Double]) {
        self.method = method
        self.norm = norm
        self.eps = eps
        clean_accuracy = outcome.cleanAccuracy
        robust_accuracy = outcome.robustAccuracy
        per_class_robust_accuracy = outcome.perClassRobustAccuracy().enumerated().map { digit, value in
            outcome.results.contains { $0.label == digit } ? value : nil
        }
        success_rate = outcome.results.isEmpty ? 0 : Double(outcome.results.filter(\.success).count) / Double(outcome.results.count)
        max_linf = Double(outcome.results.map(\.linf).max() ?? 0)
        max_l2 = Double(outcome.results.map(\.l2).max() ?? 0)
        let successfulL2 = outcome.results.filter(\.success).map(\.l2).sorted()
        median_l2 = successfulL2.isEmpty ? nil : Double(successfulL2[successfulL2.count / 2])
        count = outcome.results.count
        self.seed = seed
        self.settings = settings
    }
}
