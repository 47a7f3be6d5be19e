import AdvTensor
import Foundation

/// Condition (2) of the post, measured exactly: the ε-ball around an image must not contain
/// another dataset image of the same class — in particular not one the model misclassifies,
/// which would make "turn a correctly classified image into that one" a trivial attack that
/// measures generalization, not robustness.
public struct ConditionTwoReport: Codable, Sendable {
    public struct PerClass: Codable, Sendable {
        public var digit: Int
        public var images: Int
        /// Share of the class's images with another image of the class within ε.
        public var share_with_same_class_within_eps: Double
        /// Share of the class's images with a misclassified test image of the class within ε.
        public var share_with_misclassified_within_eps: Double
        public var misclassified_test_images: Int
        /// Median and minimum distance to the nearest same-class image.
        public var median_nearest_same_class: Double
        public var min_nearest_same_class: Double
        public var holds: Bool
    }
    public var norm: String
    public var eps: Double
    public var images: Int
    public var per_class: [PerClass]
    public var share_with_same_class_within_eps: Double
    public var share_with_misclassified_within_eps: Double
    /// (2) holds when no image's ε-ball holds another image of its class (tolerance: `tolerance`).
    public var holds: Bool
    public var tolerance: Double
    public var verdict: String
}

/// Evaluates condition (2) for `norm` and `eps` over `images` (e.g. train + test), given each
/// image's nearest same-class distance and its nearest misclassified-same-class distance.
public func conditionTwo(labels: [Int], nearestSameClass: [Float], nearestMisclassified: [Float], misclassifiedPerClass: [Int],
                         norm: DistanceNorm, eps: Float, tolerance: Double = 0.0, classCount: Int = 10) -> ConditionTwoReport {
    var perClass: [ConditionTwoReport.PerClass] = []
    for digit in 0..<classCount {
        let members = labels.indices.filter { labels[$0] == digit }
        let distances = members.map { nearestSameClass[$0] }.sorted()
        let within = members.filter { nearestSameClass[$0] <= eps }.count
        let withinMisclassified = members.filter { nearestMisclassified[$0] <= eps }.count
        let share = Double(within) / Double(max(1, members.count))
        perClass.append(.init(digit: digit, images: members.count, share_with_same_class_within_eps: share,
                              share_with_misclassified_within_eps: Double(withinMisclassified) / Double(max(1, members.count)),
                              misclassified_test_images: misclassifiedPerClass[digit],
                              median_nearest_same_class: distances.isEmpty ? .nan : Double(distances[distances.count / 2]),
                              min_nearest_same_class: Double(distances.first ?? .nan), holds: share <= tolerance))
    }
    let within = nearestSameClass.filter { $0 <= eps }.count
    let withinMisclassified = nearestMisclassified.filter { $0 <= eps }.count
    let share = Double(within) / Double(max(1, labels.count))
    let holds = share <= tolerance
    let failing = perClass.filter { !$0.holds }.map { String($0.digit) }
    let verdict = holds
        ? String(format: "(2) holds for %@ ε = %g: no image has another image of its class within ε (smallest same-class distance %.3f)",
                 norm.rawValue, Double(eps), Double(nearestSameClass.min() ?? .nan))
        : String(format: "(2) is violated for %@ ε = %g: %.2f%% of images have a same-class image within ε (classes %@), %.2f%% a misclassified one",
                 norm.rawValue, Double(eps), 100 * share, failing.joined(separator: ","), 100 * Double(withinMisclassified) / Double(max(1, labels.count)))
    return ConditionTwoReport(norm: norm.rawValue, eps: Double(eps), images: labels.count, per_class: perClass,
                              share_with_same_class_within_eps: share,
                              share_with_misclassified_within_eps: Double(withinMisclassified) / Double(max(1, labels.count)),
                              holds: holds, tolerance: tolerance, verdict: verdict)
}

/// For every image, the distance to the nearest image among `candidates` of the same class
/// (e.g. the misclassified test images), excluding itself. images: [N, …]
public func nearestAmongSameClass(images: Tensor, labels: [Int], candidates: [Int], norm: DistanceNorm,
                                  classCount: Int = 10) -> [Float] {
    nearestSameClass(images: images, labels: labels, queries: Array(labels.indices), memory: candidates, norm: norm, classCount: classCount)
}

/// For each query (an index into `images`), the distance to the nearest `memory` image of the
/// same class other than itself; +∞ when there is none. images: [N, …] -> queries.count distances
public func nearestSameClass(images: Tensor, labels: [Int], queries: [Int], memory: [Int], norm: DistanceNorm,
                             classCount: Int = 10) -> [Float] {
    precondition(norm == .l2 || norm == .linf, "nearestSameClass supports l2 and linf")
    // L∞ does not depend on the pixel order; putting the pixels where images differ most first
    // lets the kernel abandon a pair after a few of them.
    let images = norm == .linf ? images.featuresByDecreasingVariance() : images
    var result = [Float](repeating: .infinity, count: queries.count)
    for digit in 0..<classCount {
        let memoryIndices = memory.filter { labels[$0] == digit }
        let queryRows = queries.indices.filter { labels[queries[$0]] == digit }
        guard !memoryIndices.isEmpty, !queryRows.isEmpty else { continue }
        let queryImages = images.gather(queryRows.map { queries[$0] }), memoryImages = images.gather(memoryIndices)
        // Exclude each query's own entry when it is itself in the memory.
        let position = Dictionary(uniqueKeysWithValues: memoryIndices.enumerated().map { ($1, $0) })
        let exclude = queryRows.map { position[queries[$0]] ?? -1 }
        let matches = norm == .l2 ? NearestNeighbors.nearestL2(queries: queryImages, memory: memoryImages, exclude: exclude)
            : NearestNeighbors.nearestLinf(queries: queryImages, memory: memoryImages, exclude: exclude)
        for (row, queryRow) in queryRows.enumerated() { result[queryRow] = matches[row].distance }
    }
    return result
}
