import AdvTensor
import Foundation

/// Condition (2) of the post, measured exactly: the ε-ball around an image must not contain
/// another dataset image of the same class — in particular not one the model misclassifies,
/// which would make "turn a correctly classified image into that one" a trivial attack that
/// measures generalization, not robustness. `advlab conditions` and the report both state it
/// through `conditionTwo(_:norm:eps:classCount:)`, from `ConditionTwoDistances`.
public struct ConditionTwoVerdict: Codable, Sendable, Equatable {
    public var norm: String
    public var eps: Double
    /// Images whose ε-ball was searched (each against all of the dataset's images).
    public var images: Int
    public var share_with_same_class_within_eps: Double
    public var per_class_share_with_same_class_within_eps: [Double]
    /// Share whose ε-ball holds a test image of the same class that the model misclassifies
    /// (nil when no model was asked).
    public var share_with_misclassified_within_eps: Double?
    public var per_class_share_with_misclassified_within_eps: [Double]?
    /// Per class: the searched images, and the median and smallest distance to their nearest
    /// same-class image.
    public var per_class_images: [Int]
    public var per_class_median_nearest_same_class: [Double]
    public var per_class_min_nearest_same_class: [Double]
    /// (2) holds when no searched image has another image of its class within ε.
    public var holds: Bool
    public var per_class_holds: [Bool]
    public var reason: String
}

/// What condition (2) is computed from: a set of query images (indices into the dataset's
/// images, train then test), each one's distance to its nearest same-class image among all
/// images, and optionally to its nearest same-class test image that a model misclassifies.
public struct ConditionTwoDistances: Sendable {
    public var queries: [Int]
    /// The class of each query.
    public var labels: [Int]
    public var nearestSameClass: [Float]
    public var nearestMisclassified: [Float]?

    public init(queries: [Int], labels: [Int], nearestSameClass: [Float], nearestMisclassified: [Float]? = nil) {
        self.queries = queries
        self.labels = labels
        self.nearestSameClass = nearestSameClass
        self.nearestMisclassified = nearestMisclassified
    }

    /// The queries condition (2) asks about: every image, or `count` of them drawn with `seed`
    /// (sorted). The report and `advlab conditions --queries` use this one draw.
    public static func queries(total: Int, count: Int?, seed: UInt64) -> [Int] {
        var indices = Array(0..<total)
        guard let count, count < total else { return indices }
        var rng = SeededGenerator(seed: seed &+ 11)
        indices.seededShuffle(using: &rng)
        return Array(indices.prefix(count)).sorted()
    }

    /// Nearest same-class distances of `queries` among all `images` (itself excluded): over every
    /// image the class-blocked kernels (L∞ seeded with `seeds`, the L2 neighbours, when given),
    /// else one search per query. Returns the distances and, for every image, the neighbours.
    /// images: [N, …]
    public static func nearestSameClass(
        images: Tensor, labels: [Int], queries: [Int], norm: DistanceNorm,
        seeds: ClassNeighbors? = nil, classCount: Int
    ) -> (distances: [Float], neighbors: ClassNeighbors?) {
        if queries.count == labels.count {
            let neighbors = NearestNeighbors.classNeighbors(images: images, labels: labels, norm: norm, seeds: seeds)
            return (neighbors.sameClass.map(\.distance), neighbors)
        }
        return (
            AdvAnalysis.nearestSameClass(
                images: images, labels: labels, queries: queries, memory: Array(labels.indices), norm: norm,
                classCount: classCount), nil
        )
    }
}

extension ConditionTwoDistances {
    /// Indices (into train then test images, the test split starting at `testOffset`) of the test
    /// images whose prediction is wrong: the "misclassified" images of condition (2).
    public static func misclassifiedTestImages(predictions: [Int], testLabels: [Int], testOffset: Int) -> [Int] {
        testLabels.indices.filter { predictions[$0] != testLabels[$0] }.map { $0 + testOffset }
    }

    /// For each query, the distance to its nearest same-class image among `misclassified`.
    public static func nearestMisclassified(
        images: Tensor, labels: [Int], queries: [Int], misclassified: [Int], norm: DistanceNorm,
        classCount: Int
    ) -> [Float] {
        AdvAnalysis.nearestSameClass(
            images: images, labels: labels, queries: queries, memory: misclassified, norm: norm, classCount: classCount)
    }
}

/// Condition (2) for `norm` and radius `eps` from `distances`: overall and per class, the share
/// of queries with a same-class image within ε (and a misclassified one, when known), and the
/// verdict in words.
public func conditionTwo(_ distances: ConditionTwoDistances, norm: String, eps: Double, classCount: Int) -> ConditionTwoVerdict {
    let labels = distances.labels
    let nearest = distances.nearestSameClass
    func share(_ rows: [Int], _ values: [Float]) -> Double {
        rows.isEmpty ? 0 : Double(rows.filter { Double(values[$0]) <= eps }.count) / Double(rows.count)
    }
    let all = Array(labels.indices)
    let members = (0..<classCount).map { label in labels.indices.filter { labels[$0] == label } }
    let perClass = members.map { share($0, nearest) }
    let overall = share(all, nearest)
    let misclassified = distances.nearestMisclassified.map { share(all, $0) }
    let perClassMisclassified = distances.nearestMisclassified.map { values in members.map { share($0, values) } }
    let sortedPerClass = members.map { rows in rows.map { Double(nearest[$0]) }.sorted() }
    let holds = overall == 0
    let closest = nearest.min().map(Double.init) ?? .nan
    let reason =
        holds
        ? String(
            format: "no image among %d has another image of its class within %@ ε = %g (closest same-class pair at %.3f)",
            labels.count, norm, eps, closest)
        : String(
            format: "%.4f of %d images have another image of their class within %@ ε = %g%@, "
                + "so an ε-ball can turn one dataset image into another of its class",
            overall, labels.count, norm, eps,
            misclassified.map { String(format: ", and %.4f a misclassified test image of their class", $0) } ?? "")
    return ConditionTwoVerdict(
        norm: norm, eps: eps, images: labels.count, share_with_same_class_within_eps: overall,
        per_class_share_with_same_class_within_eps: perClass, share_with_misclassified_within_eps: misclassified,
        per_class_share_with_misclassified_within_eps: perClassMisclassified,
        per_class_images: members.map(\.count),
        per_class_median_nearest_same_class: sortedPerClass.map { lowerQuantile($0, 0.5) },
        per_class_min_nearest_same_class: sortedPerClass.map { $0.first ?? .nan },
        holds: holds, per_class_holds: perClass.map { $0 == 0 }, reason: reason)
}

/// For each query (an index into `images`), the distance to the nearest `memory` image of the
/// same class other than itself; +∞ when there is none. images: [N, …] -> queries.count distances
public func nearestSameClass(
    images: Tensor, labels: [Int], queries: [Int], memory: [Int], norm: DistanceNorm,
    classCount: Int = 10
) -> [Float] {
    precondition(norm == .l2 || norm == .linf, "nearestSameClass supports l2 and linf")
    // L∞ does not depend on the pixel order; putting the pixels where images differ most first
    // lets the kernel abandon a pair after a few of them.
    let images = norm == .linf ? images.featuresByDecreasingVariance() : images
    var result = [Float](repeating: .infinity, count: queries.count)
    for digit in 0..<classCount {
        let memoryIndices = memory.filter { labels[$0] == digit }
        let queryRows = queries.indices.filter { labels[queries[$0]] == digit }
        guard !memoryIndices.isEmpty, !queryRows.isEmpty else { continue }
        let queryImages = images.gather(queryRows.map { queries[$0] })
        let memoryImages = images.gather(memoryIndices)
        // Exclude each query's own entry when it is itself in the memory.
        let position = Dictionary(uniqueKeysWithValues: memoryIndices.enumerated().map { ($1, $0) })
        let exclude = queryRows.map { position[queries[$0]] ?? -1 }
        let matches =
            norm == .l2
            ? NearestNeighbors.nearestL2(queries: queryImages, memory: memoryImages, exclude: exclude)
            : NearestNeighbors.nearestLinf(queries: queryImages, memory: memoryImages, exclude: exclude)
        for (row, queryRow) in queryRows.enumerated() { result[queryRow] = matches[row].distance }
    }
    return result
}
