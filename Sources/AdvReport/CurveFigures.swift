import AdvAttacks
import AdvImaging
import Foundation

/// Curves of the lab: one builder per plot, called by the report and by the command that draws
/// the same plot (`advlab attack --eps-grid`'s curve.svg, the report's condition (2) curves).
public enum CurveFigures {
    /// A quantity against x for all classes (solid, "all classes") and for each class (dashed,
    /// named by `classNames`). perClass: one row of y values per class, each as long as `x`.
    public static func perClass(
        title: String, xLabel: String, yLabel: String, x: [Double], overall: [Double], perClass: [[Double]], classNames: [String]
    ) -> SVGPlot {
        var plot = SVGPlot(title: title, xLabel: xLabel, yLabel: yLabel)
        plot.addSeries("all classes", x: x, y: overall)
        for (label, y) in perClass.enumerated() {
            plot.addSeries(label < classNames.count ? classNames[label] : String(label), x: x, y: y, dashed: true)
        }
        return plot
    }

    /// `advlab attack --eps-grid`'s curve.svg: robust accuracy against ε, overall and per class
    /// (NaN where a class had no image). summaries: one per ε of `eps`, in order.
    public static func robustAccuracy(
        _ summaries: [AttackSummary], eps: [Double], method: String, norm: String, model: String, seed: UInt64, classNames: [String]
    ) -> SVGPlot {
        perClass(
            title: "\(method) \(norm) robust accuracy vs ε (\(model), seed \(seed))", xLabel: "ε (\(norm))",
            yLabel: "robust accuracy", x: eps, overall: summaries.map(\.robust_accuracy),
            perClass: classNames.indices.map { label in
                summaries.map { label < $0.per_class_robust_accuracy.count ? $0.per_class_robust_accuracy[label] ?? .nan : .nan }
            },
            classNames: classNames)
    }

    /// `advlab attack --method invariance --eps-grid`'s curve.svg: the shares of `InvarianceReport`
    /// against ε; the reference model's share (dashed) when there is one.
    public static func invariance(_ summaries: [AttackSummary], eps: [Double], shifts: Int, seed: UInt64, withReference: Bool) -> SVGPlot {
        var plot = SVGPlot(title: "invariance examples vs ε (shifts ±\(shifts), seed \(seed))", xLabel: "ε (linf)", yLabel: "share")
        plot.addSeries("k-NN changed to target", x: eps, y: summaries.map { $0.invariance?.overall.knn_changed_to_target ?? .nan })
        plot.addSeries("model still source", x: eps, y: summaries.map { $0.invariance?.overall.model_still_source ?? .nan })
        plot.addSeries(
            "model invariant where k-NN changed", x: eps,
            y: summaries.map { $0.invariance?.overall.model_invariant_where_knn_changed ?? .nan })
        if withReference {
            plot.addSeries(
                "reference still source", x: eps, y: summaries.map { $0.invariance?.overall.reference_still_source ?? .nan }, dashed: true)
        }
        return plot
    }

    /// The report's robust accuracy against ε for one norm ("linf", "l2"), from results.json's
    /// rows alone: both models, every gradient method as a curve (the robust model dashed), and
    /// AutoAttack's headline figures as diamonds in PGD's colour on PGD's curve.
    public static func robustness(_ rows: [AttackSetting], norm: String, settings: ReportSettings, seed: UInt64) -> SVGPlot {
        var plot = SVGPlot(
            title: "robust accuracy vs ε (\(norm == "linf" ? "L∞" : "L2"), \(settings.attack_images) test images, seed \(seed))",
            xLabel: norm == "linf" ? "ε (L∞)" : "ε (L2)", yLabel: "robust accuracy")
        plot.yRange = 0...1
        plot.identifier = "robust\(norm)"
        for (index, name) in ["natural", "robust"].enumerated() {
            for (methodIndex, method) in ["fgsm", "igs", "pgd"].enumerated() {
                let points = rows.filter { $0.model == name && $0.method == method && $0.norm == norm }.sorted { $0.eps < $1.eps }
                guard !points.isEmpty else { continue }
                plot.addSeries(
                    "\(name) \(method)", x: points.map(\.eps), y: points.map(\.robust_accuracy),
                    color: SVGPlot.palette[methodIndex], dashed: index == 1)
            }
        }
        for name in ["natural", "robust"] {
            let points = rows.filter { $0.model == name && $0.method == AttackMethod.autoattack.rawValue && $0.norm == norm }
                .sorted { $0.eps < $1.eps }
            guard !points.isEmpty else { continue }
            plot.addPoints(
                "\(name) AutoAttack (\(settings.autoattack_version.rawValue))", x: points.map(\.eps), y: points.map(\.robust_accuracy),
                color: SVGPlot.palette[2], marker: .diamond)
        }
        return plot
    }
}

/// `advlab attack --eps-grid`'s curve.json: one summary per ε, with the run's seed and models
/// (the embedding and reference model of invariance examples; omitted otherwise).
public struct AttackCurve: Codable, Sendable {
    public var curve: [AttackSummary]
    public var seed: UInt64
    public var model: String
    public var embedding: String?
    public var reference_model: String?

    public init(curve: [AttackSummary], seed: UInt64, model: String, embedding: String? = nil, reference_model: String? = nil) {
        self.curve = curve
        self.seed = seed
        self.model = model
        self.embedding = embedding
        self.reference_model = reference_model
    }
}
