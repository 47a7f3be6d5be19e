import AdvAttacks
import AdvTensor
import Foundation

/// Per-class ε, as the post proposes ("ε should probably be set to a smaller value for such
/// classes"): for each class, the largest ε on a grid such that
///
///  (a) condition (2) holds for at least `minShareConditionTwo` of the class's images — no other
///      dataset image of the same class within ε — and
///  (b) the post's combination image `x0 + ε·sign(x1)` (under L2: the sign image scaled to L2
///      norm ε), with images x1 of every other class, leaves the embedding's k-NN class of x0
///      unchanged for at least `minShareCombinationUnchanged` of the sampled (x0, x1) pairs — a
///      stated proxy for condition (1).
///
/// "Largest ε on the grid" means the largest grid value such that it and every smaller one pass
/// both: a pass above a failure does not count, since the ε-ball of a larger ε holds the smaller
/// one's. `monotone` is false for a class that passes again above its first failure.
public struct PerClassEpsilonCriteria: Codable, Sendable, Equatable {
    public var min_share_condition_two: Double
    public var min_share_combination_unchanged: Double

    public init(minShareConditionTwo: Double = 0.99, minShareCombinationUnchanged: Double = 0.99) {
        min_share_condition_two = minShareConditionTwo
        min_share_combination_unchanged = minShareCombinationUnchanged
    }
}

/// What was measured for one class at one grid value.
public struct EpsilonGridPoint: Codable, Sendable, Equatable {
    public var eps: Double
    /// Share of the class's (query) images with no other same-class image within ε.
    public var share_condition_two_holds: Double
    /// Share of the class's sampled (x0, x1) pairs whose combination keeps x0's k-NN class.
    public var share_combination_unchanged: Double
    public var passes_condition_two: Bool
    public var passes_combination: Bool
    public var passes: Bool
}

/// The per-class ε and why it is not larger.
public struct ClassEpsilon: Codable, Sendable, Equatable {
    public var digit: Int
    /// The largest grid value up to which every grid value passes; nil when the smallest fails.
    public var eps: Double?
    /// What stops ε from growing: "(2)", "combination" or "both" (the conditions failing at the
    /// first failing grid value), "grid" when every grid value passes (ε may be larger than the
    /// grid shows).
    public var binding: String
    /// False when a grid value above the first failure passes again (a non-monotone class: the
    /// largest passing value would overstate its ε).
    public var monotone: Bool
    /// Query images for (2) and sampled pairs for the combination, for this class.
    public var condition_two_images: Int
    public var combination_pairs: Int
    public var grid: [EpsilonGridPoint]
}

public struct PerClassEpsilonReport: Codable, Sendable {
    public var norm: String
    public var grid: [Double]
    public var criteria: PerClassEpsilonCriteria
    public var per_class: [ClassEpsilon]
    /// How condition (2) was measured (all images, or a sample of queries against all images).
    public var condition_two_method: String
    public var combination_method: String
    public var seed: UInt64

    public init(
        norm: String, grid: [Double], criteria: PerClassEpsilonCriteria, per_class: [ClassEpsilon],
        condition_two_method: String, combination_method: String, seed: UInt64
    ) {
        self.norm = norm
        self.grid = grid
        self.criteria = criteria
        self.per_class = per_class
        self.condition_two_method = condition_two_method
        self.combination_method = combination_method
        self.seed = seed
    }
}

/// Index of the largest grid value up to which every value passes (the grid is ascending): the
/// one before the first failure, nil when the first fails.
public func largestSafeIndex(_ passes: [Bool]) -> Int? {
    guard let failure = passes.firstIndex(of: false) else { return passes.isEmpty ? nil : passes.count - 1 }
    return failure == 0 ? nil : failure - 1
}

/// Grid values above the first failure that pass again (empty for a monotone class).
public func passesAboveFirstFailure(_ row: ClassEpsilon) -> [Double] {
    guard let failure = row.grid.firstIndex(where: { !$0.passes }) else { return [] }
    return row.grid[failure...].filter(\.passes).map(\.eps)
}

/// Chooses each class's ε from the measured shares. grid: ascending G values;
/// shareConditionTwo, shareCombination: [classes][G]
public func choosePerClassEpsilon(
    grid: [Float], shareConditionTwo: [[Double]], shareCombination: [[Double]],
    criteria: PerClassEpsilonCriteria = .init(), conditionTwoImages: [Int], combinationPairs: [Int]
) -> [ClassEpsilon] {
    shareConditionTwo.indices.map { digit in
        let points = grid.indices.map { g in
            let two = shareConditionTwo[digit][g] >= criteria.min_share_condition_two
            let combination = shareCombination[digit][g] >= criteria.min_share_combination_unchanged
            return EpsilonGridPoint(
                eps: Double(grid[g]), share_condition_two_holds: shareConditionTwo[digit][g],
                share_combination_unchanged: shareCombination[digit][g],
                passes_condition_two: two, passes_combination: combination, passes: two && combination)
        }
        let chosen = largestSafeIndex(points.map(\.passes))
        func reason(_ point: EpsilonGridPoint) -> String {
            switch (point.passes_condition_two, point.passes_combination) {
            case (false, false): return "both"
            case (false, true): return "(2)"
            default: return "combination"
            }
        }
        let binding: String
        if let chosen {
            binding = chosen == points.count - 1 ? "grid" : reason(points[chosen + 1])
        } else {
            binding = points.first.map(reason) ?? "grid"
        }
        return ClassEpsilon(
            digit: digit, eps: chosen.map { points[$0].eps }, binding: binding,
            monotone: !points.drop { $0.passes }.contains { $0.passes },
            condition_two_images: conditionTwoImages[digit], combination_pairs: combinationPairs[digit], grid: points)
    }
}

/// For each query image, the distance to the nearest *other* image of its class among all of
/// `images` (exact; L∞ scans pixels in decreasing-variance order so that pairs are abandoned early).
/// images: [N, …]; labels: N; queries: indices into images -> distances, one per query
public func nearestSameClassDistances(
    images: Tensor, labels: [Int], queries: [Int], norm: DistanceNorm,
    classCount: Int = 10
) -> [Float] {
    nearestSameClass(images: images, labels: labels, queries: queries, memory: Array(labels.indices), norm: norm, classCount: classCount)
}

extension Tensor {
    /// A `[N, F]` copy whose features are reordered by decreasing variance over the batch.
    func featuresByDecreasingVariance() -> Tensor {
        let n = batchCount
        let d = featureCount
        var mean = [Double](repeating: 0, count: d)
        var variance = mean
        for i in 0..<n { for k in 0..<d { mean[k] += Double(scalars[i * d + k]) } }
        for k in 0..<d { mean[k] /= Double(max(1, n)) }
        for i in 0..<n {
            for k in 0..<d {
                let v = Double(scalars[i * d + k]) - mean[k]
                variance[k] += v * v
            }
        }
        let order = (0..<d).sorted { variance[$0] > variance[$1] }
        return Tensor(shape: [n, d]) { out in
            scalars.withUnsafeBufferPointer { source in
                for i in 0..<n { for (position, pixel) in order.enumerated() { out[i * d + position] = source[i * d + pixel] } }
            }
        }
    }
}

/// Per class and grid value, the share of query images whose nearest same-class distance is
/// greater than ε (condition (2) holds for them). nearest: per query; labels: the queries' classes
/// -> [classes][G]
public func conditionTwoHoldShares(nearestSameClass nearest: [Float], labels: [Int], grid: [Float], classCount: Int = 10) -> [[Double]] {
    (0..<classCount).map { digit in
        let distances = zip(nearest, labels).filter { $0.1 == digit }.map(\.0)
        return grid.map { eps in Double(distances.filter { $0 > eps }.count) / Double(max(1, distances.count)) }
    }
}

/// (x0, x1) index pairs for the combination: for each class, `perClass` random images x0 of the
/// class, each paired with one random image x1 of every other class.
public func sampleCombinationPairs(
    labels: [Int], perClass: Int, classCount: Int = 10,
    using rng: inout some RandomNumberGenerator
) -> [(source: Int, other: Int)] {
    let members = (0..<classCount).map { digit in labels.indices.filter { labels[$0] == digit } }
    var pairs: [(source: Int, other: Int)] = []
    for digit in 0..<classCount {
        var sources = members[digit]
        sources.seededShuffle(using: &rng)
        for source in sources.prefix(perClass) {
            for other in 0..<classCount where other != digit && !members[other].isEmpty {
                pairs.append((source, members[other][Int(rng.next() % UInt64(members[other].count))]))
            }
        }
    }
    return pairs
}

/// Per class of x0 and grid value, the share of pairs whose combination image keeps x0's class
/// under `classify` (e.g. the embedding's k-NN). images01: [N, 1, 28, 28]; labels: N -> [classes][G]
public func combinationUnchangedShares(
    images01: Tensor, labels: [Int], pairs: [(source: Int, other: Int)], grid: [Float],
    norm: PerturbationNorm, classCount: Int = 10, batchSize: Int = 2000,
    classify: (Tensor) -> [Int]
) -> [[Double]] {
    let sources = pairs.map(\.source)
    let others = pairs.map(\.other)
    let uniqueSources = Array(Set(sources)).sorted()
    let cleanClass = Dictionary(uniqueKeysWithValues: zip(uniqueSources, classify(images01.gather(uniqueSources))))
    var unchanged = [[Int]](repeating: [Int](repeating: 0, count: grid.count), count: classCount)
    var total = [Int](repeating: 0, count: classCount)
    for source in sources { total[labels[source]] += 1 }
    for (g, eps) in grid.enumerated() {
        for range in batchRanges(count: pairs.count, size: batchSize) {
            let x0 = images01.gather(Array(sources[range]))
            let x1 = images01.gather(Array(others[range]))
            let predictions = classify(combinationImages(sources: x0, others: x1, eps: eps, norm: norm))
            for (offset, prediction) in predictions.enumerated() {
                let source = sources[range.lowerBound + offset]
                if prediction == cleanClass[source] { unchanged[labels[source]][g] += 1 }
            }
        }
    }
    return (0..<classCount).map { digit in unchanged[digit].map { Double($0) / Double(max(1, total[digit])) } }
}

/// The whole measurement: condition (2) for `conditionQueries` (indices into `conditionImages`,
/// searched against all of them), the combination on `pairs` of `pairImages`, then the choice.
public func measurePerClassEpsilon(
    norm: PerturbationNorm, grid: [Float], conditionImages: Tensor, conditionLabels: [Int],
    conditionQueries: [Int], pairImages01: Tensor, pairLabels: [Int],
    pairs: [(source: Int, other: Int)], criteria: PerClassEpsilonCriteria = .init(),
    classCount: Int = 10, classify: (Tensor) -> [Int]
) -> [ClassEpsilon] {
    let nearest = nearestSameClassDistances(
        images: conditionImages, labels: conditionLabels, queries: conditionQueries,
        norm: norm == .l2 ? .l2 : .linf, classCount: classCount)
    let queryLabels = conditionQueries.map { conditionLabels[$0] }
    let shareTwo = conditionTwoHoldShares(nearestSameClass: nearest, labels: queryLabels, grid: grid, classCount: classCount)
    let shareCombination = combinationUnchangedShares(
        images01: pairImages01, labels: pairLabels, pairs: pairs, grid: grid,
        norm: norm, classCount: classCount, classify: classify)
    let queriesPerClass = (0..<classCount).map { digit in queryLabels.filter { $0 == digit }.count }
    let pairsPerClass = (0..<classCount).map { digit in pairs.filter { pairLabels[$0.source] == digit }.count }
    return choosePerClassEpsilon(
        grid: grid, shareConditionTwo: shareTwo, shareCombination: shareCombination, criteria: criteria,
        conditionTwoImages: queriesPerClass, combinationPairs: pairsPerClass)
}
