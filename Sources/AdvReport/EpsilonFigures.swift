import AdvAnalysis
import AdvImaging
import Foundation

/// Tables and figures of the per-class ε.
public enum EpsilonFigures {
    /// One line per class: its ε (empty when no grid value passes) and the binding reason.
    public static func tableCSV(_ report: PerClassEpsilonReport) -> String {
        var lines = ["class,eps,binding,monotone,condition_two_images,combination_pairs,seed"]
        for row in report.per_class {
            lines.append("\(row.digit),\(row.eps.map { String(format: "%g", $0) } ?? ""),\(row.binding),\(row.monotone),"
                         + "\(row.condition_two_images),\(row.combination_pairs),\(report.seed)")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// One line per class and grid value: both measured shares and whether they pass.
    public static func sharesCSV(_ report: PerClassEpsilonReport) -> String {
        var lines = ["class,eps,share_condition_two_holds,share_combination_unchanged,passes_condition_two,passes_combination,passes"]
        for row in report.per_class {
            for point in row.grid {
                lines.append("\(row.digit),\(String(format: "%g", point.eps)),\(String(format: "%.6f", point.share_condition_two_holds)),"
                             + "\(String(format: "%.6f", point.share_combination_unchanged)),\(point.passes_condition_two),"
                             + "\(point.passes_combination),\(point.passes)")
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// Shares against ε per class: solid lines the combination's unchanged k-NN share, dashed the
    /// share for which (2) holds, and the 0.99 threshold in black.
    public static func sharesPlot(_ report: PerClassEpsilonReport) -> SVGPlot {
        var plot = SVGPlot(title: "per-class ε (\(report.norm), seed \(report.seed)): solid = combination keeps k-NN class, dashed = (2) holds",
                           xLabel: "ε (\(report.norm))", yLabel: "share")
        let lower = min(report.criteria.min_share_combination_unchanged, report.criteria.min_share_condition_two)
        let lowest = report.per_class.flatMap { $0.grid.flatMap { [$0.share_combination_unchanged, $0.share_condition_two_holds] } }.min() ?? 0
        plot.yRange = max(0, min(lowest, lower) - 0.02)...1.0
        for row in report.per_class {
            let color = SVGPlot.palette[row.digit % SVGPlot.palette.count]
            let label = "class \(row.digit): ε " + (row.eps.map { String(format: "%g", $0) } ?? "none") + " (\(row.binding))"
            plot.addSeries(label, x: row.grid.map(\.eps), y: row.grid.map(\.share_combination_unchanged), color: color)
            plot.addSeries("class \(row.digit) (2)", x: row.grid.map(\.eps), y: row.grid.map(\.share_condition_two_holds), color: color, dashed: true)
        }
        plot.addSeries("threshold \(report.criteria.min_share_combination_unchanged)", x: [report.grid.first ?? 0, report.grid.last ?? 1],
                       y: [report.criteria.min_share_combination_unchanged, report.criteria.min_share_combination_unchanged], color: "#000000")
        return plot
    }
}
