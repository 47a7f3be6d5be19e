import AdvAnalysis
import AdvImaging
import Foundation

/// Tables and figures of distances between images: the post's class-pair heatmap (the report's
/// distance section and `advlab distances`) and every image's nearest neighbours
/// (`advlab distances --nearest`).
public enum DistanceFigures {
    /// The class-pair heatmap of mean pairwise distances, each row's closest other class marked
    /// where it is not the row's own.
    public static func classPairHeatmap(_ result: ClassPairDistances, classNames: [String], title: String) -> Heatmap {
        var heatmap = Heatmap(values: result.meanPairwise.map { $0.map(Float.init) }, rowLabels: classNames, columnLabels: classNames)
        heatmap.title = title
        heatmap.rowAxisTitle = "class"
        heatmap.columnAxisTitle = "class"
        heatmap.markedRows = result.rowsNotClosestToSelf
        heatmap.markedCells = result.rowsNotClosestToSelf.map { (row: $0, column: result.closestClass[$0]) }
        return heatmap
    }

    /// The mean pairwise distances as CSV: a header `class,0,1,…` and one line per class.
    public static func classPairCSV(_ result: ClassPairDistances) -> String {
        (["class," + result.meanPairwise.indices.map(String.init).joined(separator: ",")]
            + result.meanPairwise.enumerated().map {
                "\($0.offset)," + $0.element.map { String(format: "%.6g", $0) }.joined(separator: ",")
            })
            .joined(separator: "\n") + "\n"
    }

    /// One norm's nearest-neighbour summary (`nearest.json`): per class, the quantiles at
    /// `levels` of the nearest same-class and other-class distances, and the smallest of each.
    public struct NearestSummary: Codable, Sendable, Equatable {
        public static let levels = [0, 0.01, 0.05, 0.5, 0.95]
        public var norm: String
        public var seconds: Double
        /// Per class: at `levels` (0, 1, 5, 50, 95 %).
        public var same_class_quantiles: [[Double]]
        public var other_class_quantiles: [[Double]]
        public var same_class_min: Double
        public var other_class_min: Double

        /// neighbors, labels: one per image.
        public init(norm: DistanceNorm, seconds: Double, neighbors: ClassNeighbors, labels: [Int], classCount: Int) {
            let same = neighbors.sameClass.map(\.distance)
            let other = neighbors.otherClass.map(\.distance)
            self.norm = norm.rawValue
            self.seconds = seconds
            same_class_quantiles = perClassLowerQuantiles(same, labels: labels, classCount: classCount, levels: Self.levels)
            other_class_quantiles = perClassLowerQuantiles(other, labels: labels, classCount: classCount, levels: Self.levels)
            same_class_min = Double(same.min() ?? .nan)
            other_class_min = Double(other.min() ?? .nan)
        }
    }

    /// Every image's nearest same-class and other-class neighbour as CSV; images below
    /// `trainCount` are the training split's.
    public static func nearestCSV(_ neighbors: ClassNeighbors, labels: [Int], trainCount: Int) -> String {
        var csv = "index,split,label,nearest_same_class,nearest_same_class_index,nearest_other_class,nearest_other_class_index\n"
        for i in labels.indices {
            csv +=
                "\(i),\(i < trainCount ? "train" : "test"),\(labels[i]),\(neighbors.sameClass[i].distance),\(neighbors.sameClass[i].index),"
                + "\(neighbors.otherClass[i].distance),\(neighbors.otherClass[i].index)\n"
        }
        return csv
    }

    /// Per-class distributions of nearest same-class distance (solid) and other-class (dashed),
    /// as cumulative curves on 61 points from 0 to the largest distance: the share of the class's
    /// images whose neighbour is within x.
    public static func nearestCurves(_ neighbors: ClassNeighbors, labels: [Int], norm: DistanceNorm, classNames: [String]) -> SVGPlot {
        let same = neighbors.sameClass.map(\.distance)
        let other = neighbors.otherClass.map(\.distance)
        // "70,000": thousands grouped as in prose.
        let count = labels.count >= 1000 ? "\(labels.count / 1000)," + String(format: "%03d", labels.count % 1000) : "\(labels.count)"
        var plot = SVGPlot(
            title: "nearest-neighbour distance, \(norm.rawValue), all \(count) images (solid: same class, dashed: other class)",
            xLabel: "\(norm.rawValue) distance", yLabel: "share of the class within x")
        let top = Double(max(same.filter(\.isFinite).max() ?? 1, other.filter(\.isFinite).max() ?? 1))
        let xs = (0...60).map { top * Double($0) / 60 }
        for (digit, name) in classNames.enumerated() {
            let members = labels.indices.filter { labels[$0] == digit }
            let sameSorted = members.map { Double(same[$0]) }.sorted()
            let otherSorted = members.map { Double(other[$0]) }.sorted()
            let color = SVGPlot.palette[digit % SVGPlot.palette.count]
            plot.addSeries(name, x: xs, y: xs.map { shareAtMost(sameSorted, $0) }, color: color)
            plot.addSeries(name + " other", x: xs, y: xs.map { shareAtMost(otherSorted, $0) }, color: color, dashed: true)
        }
        return plot
    }

    /// The share of `sorted` at most `x` (0 for an empty list).
    static func shareAtMost(_ sorted: [Double], _ x: Double) -> Double {
        var low = 0
        var high = sorted.count
        while low < high {
            let mid = (low + high) / 2
            if sorted[mid] <= x { low = mid + 1 } else { high = mid }
        }
        return Double(low) / Double(max(1, sorted.count))
    }
}
