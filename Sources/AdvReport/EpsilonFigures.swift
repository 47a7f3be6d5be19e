import AdvAnalysis
import AdvImaging
import Foundation

/// Tables and figures of the per-class ε.
public enum EpsilonFigures {
    /// One line per class: its ε (empty when no grid value passes) and the binding reason.
    public static func tableCSV(_ report: PerClassEpsilonReport) -> String {
        var lines = ["class,eps,binding,monotone,condition_two_images,combination_pairs,seed"]
        for row in report.per_class {
            lines.append(
                "\(row.digit),\(row.eps.map { String(format: "%g", $0) } ?? ""),\(row.binding),\(row.monotone),"
                    + "\(row.condition_two_images),\(row.combination_pairs),\(report.seed)")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// One line per class and grid value: both measured shares and whether they pass.
    public static func sharesCSV(_ report: PerClassEpsilonReport) -> String {
        var lines = ["class,eps,share_condition_two_holds,share_combination_unchanged,passes_condition_two,passes_combination,passes"]
        for row in report.per_class {
            for point in row.grid {
                lines.append(
                    "\(row.digit),\(String(format: "%g", point.eps)),\(String(format: "%.6f", point.share_condition_two_holds)),"
                        + "\(String(format: "%.6f", point.share_combination_unchanged)),\(point.passes_condition_two),"
                        + "\(point.passes_combination),\(point.passes)")
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// Shares against ε per class, one plot per criterion: `combination` (share of pairs whose
    /// k-NN class is unchanged) and `conditionTwo` (share of images for which (2) holds), each
    /// with its threshold as a black line; legend entries carry the class's ε, binding reason and
    /// "non-monotone" for a class that passes again above its first failure.
    public static func sharesPlots(_ report: PerClassEpsilonReport) -> (combination: SVGPlot, conditionTwo: SVGPlot) {
        func plot(_ title: String, threshold: Double, value: (EpsilonGridPoint) -> Double) -> SVGPlot {
            var plot = SVGPlot(title: title + " (\(report.norm), seed \(report.seed))", xLabel: "ε (\(report.norm))", yLabel: "share")
            plot.height = 620
            let lowest = report.per_class.flatMap { $0.grid.map(value) }.min() ?? 0
            plot.yRange = max(0, min(lowest, threshold) - 0.02)...1.0
            for row in report.per_class {
                let name =
                    "\(row.digit): ε " + (row.eps.map { String(format: "%g", $0) } ?? "none") + ", binding \(row.binding)"
                    + (row.monotone ? "" : ", non-monotone")
                plot.addSeries(
                    name, x: row.grid.map(\.eps), y: row.grid.map(value), color: SVGPlot.palette[row.digit % SVGPlot.palette.count])
            }
            plot.addSeries(
                "threshold \(threshold)", x: [report.grid.first ?? 0, report.grid.last ?? 1], y: [threshold, threshold],
                color: "#000000", dashed: true)
            return plot
        }
        return (
            plot("combination keeps the k-NN class", threshold: report.criteria.min_share_combination_unchanged) {
                $0.share_combination_unchanged
            },
            plot("condition (2) holds", threshold: report.criteria.min_share_condition_two) { $0.share_condition_two_holds }
        )
    }
}
