/// The lab's one quantile rule: the order statistic at index ⌊q·n⌋ (clamped to the last) of
/// values sorted ascending, with no interpolation, so a quantile is always one of the measured
/// values; NaN when there are none. Level 0 is the minimum, 0.5 the upper median.
public func lowerQuantile(_ sorted: [Double], _ level: Double) -> Double {
    sorted.isEmpty ? .nan : sorted[min(sorted.count - 1, Int(level * Double(sorted.count)))]
}

/// `lowerQuantile` at each of `levels`.
public func lowerQuantiles(_ sorted: [Double], _ levels: [Double]) -> [Double] { levels.map { lowerQuantile(sorted, $0) } }

/// Per class, `lowerQuantiles` at `levels` of the values of its members. values, labels: one per image.
public func perClassLowerQuantiles(_ values: [Float], labels: [Int], classCount: Int, levels: [Double]) -> [[Double]] {
    (0..<classCount).map { label in
        lowerQuantiles(labels.indices.filter { labels[$0] == label }.map { Double(values[$0]) }.sorted(), levels)
    }
}
