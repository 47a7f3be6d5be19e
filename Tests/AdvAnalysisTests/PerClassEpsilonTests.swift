import AdvTensor
import TestSupport
import XCTest

@testable import AdvAnalysis

/// Per-class ε on planted data: a class with close same-class twins gets a smaller ε, the
/// combination binds where the classifier flips, and the grid search returns the largest grid
/// value up to which every grid value passes.
final class PerClassEpsilonTests: XCTestCase {
    /// A pass above a failure does not raise ε; such a class is flagged as non-monotone.
    ///
    /// Mutant: the old rule, the largest passing grid value (`passes.lastIndex(of: true)` in
    /// `largestSafeIndex`), was planted and failed this test (class 0 got 0.3 instead of 0.1,
    /// class 4 0.4 instead of none); it was then removed.
    func testEpsIsTheLastGridValueBeforeTheFirstFailure() {
        XCTAssertEqual(largestSafeIndex([true, true, false, false]), 1)
        XCTAssertEqual(largestSafeIndex([true, false, true, false]), 0)
        XCTAssertEqual(largestSafeIndex([true, true, true]), 2)
        XCTAssertNil(largestSafeIndex([false, true]))
        XCTAssertNil(largestSafeIndex([]))
        let chosen = choosePerClassEpsilon(
            grid: [0.1, 0.2, 0.3, 0.4],
            shareConditionTwo: [[1, 1, 1, 0.5], [1, 1, 1, 1], [0.9, 0.9, 0.9, 0.9], [1, 1, 1, 1], [0.5, 1, 1, 1]],
            shareCombination: [[1, 0.5, 1, 1], [1, 1, 1, 1], [1, 1, 1, 1], [0.995, 0.99, 0.98, 0.5], [0.5, 1, 1, 1]],
            conditionTwoImages: [1, 1, 1, 1, 1], combinationPairs: [1, 1, 1, 1, 1])
        XCTAssertEqual(chosen.map(\.eps), [0.1, 0.4, nil, 0.2, nil].map { $0.map { Double(Float($0)) } })
        XCTAssertEqual(chosen.map(\.binding), ["combination", "grid", "(2)", "combination", "both"])
        XCTAssertEqual(chosen.map(\.monotone), [false, true, true, true, false])
        XCTAssertEqual(passesAboveFirstFailure(chosen[0]), [Double(Float(0.3))])
        XCTAssertEqual(passesAboveFirstFailure(chosen[4]), [0.2, 0.3, 0.4].map { Double(Float($0)) })
        XCTAssertEqual(passesAboveFirstFailure(chosen[3]), [])
        let none = choosePerClassEpsilon(
            grid: [0.1], shareConditionTwo: [[0.5]], shareCombination: [[0.5]],
            conditionTwoImages: [1], combinationPairs: [1])
        XCTAssertNil(none[0].eps)
        XCTAssertEqual(none[0].binding, "both")
    }

    /// Three classes of 4×4 images; pixel c is 1 for class c (L∞ 1 between classes). Within a
    /// class, images differ in pixels 4…9: class 0 comes in twin pairs at L∞ 0.15 (pairs ≥ 0.85
    /// apart), class 1 images are 0.95 apart, class 2 images 0.9.
    func plantedData() -> (Tensor, [Int]) {
        var scalars: [Float] = []
        var labels: [Int] = []
        for digit in 0..<3 {
            for copy in 0..<6 {
                var image = [Float](repeating: 0, count: 16)
                image[digit] = 1
                switch digit {
                case 0: image[4 + copy / 2] = copy % 2 == 0 ? 1 : 0.85
                case 1: image[4 + copy] = 0.95
                default: image[4 + copy] = 0.9
                }
                scalars += image
                labels.append(digit)
            }
        }
        return (Tensor(shape: [18, 1, 4, 4], scalars: scalars), labels)
    }

    func testAClassWithCloseTwinsGetsASmallerEps() {
        let (images, labels) = plantedData()
        let nearest = nearestSameClassDistances(images: images, labels: labels, queries: Array(labels.indices), norm: .linf, classCount: 3)
        let reference = NearestNeighbors.referenceNearest(queries: images, memory: images, p: .infinity, exclude: Array(labels.indices))
        XCTAssertEqual(nearest.enumerated().filter { labels[$0.offset] == 0 }.map(\.element).max() ?? 0, 0.15, accuracy: 1e-5)
        for (i, distance) in nearest.enumerated() where labels[i] != 0 { XCTAssertGreaterThanOrEqual(distance, 0.6 - 1e-6) }
        // The reference over all images is no larger (it may find another class), never smaller.
        for (i, distance) in nearest.enumerated() { XCTAssertGreaterThanOrEqual(distance + 1e-6, reference[i].distance) }
        var rng = SeededGenerator(seed: 3)
        let pairs = sampleCombinationPairs(labels: labels, perClass: 6, classCount: 3, using: &rng)
        XCTAssertEqual(pairs.count, 3 * 6 * 2)
        for pair in pairs { XCTAssertNotEqual(labels[pair.source], labels[pair.other]) }
        // A classifier by the brightest class pixel: the combination never flips it below ε 1.
        let classify: (Tensor) -> [Int] = { batch in
            (0..<batch.batchCount).map { row in (0..<3).max { batch.scalars[row * 16 + $0] < batch.scalars[row * 16 + $1] } ?? 0 }
        }
        let grid: [Float] = [0.05, 0.1, 0.14, 0.2, 0.3, 0.5]
        let result = measurePerClassEpsilon(
            norm: .linf, grid: grid, conditionImages: images, conditionLabels: labels,
            conditionQueries: Array(labels.indices), pairImages01: images, pairLabels: labels,
            pairs: pairs, classCount: 3, classify: classify)
        XCTAssertEqual(result[0].eps, Double(Float(0.14)), "class 0: the twins at 0.15 stop ε just below")
        XCTAssertEqual(result[0].binding, "(2)")
        XCTAssertEqual(result[1].eps, Double(Float(0.5)))
        XCTAssertEqual(result[1].binding, "grid")
        XCTAssertLessThan(result[0].eps ?? 1, result[1].eps ?? 0)
        XCTAssertEqual(result[0].grid[3].share_condition_two_holds, 0, "every class-0 image has its twin within 0.2")
        XCTAssertEqual(result[0].condition_two_images, 6)
        XCTAssertEqual(result[2].combination_pairs, 12)
    }

    func testTheCombinationBindsWhereTheClassifierFlips() {
        let (images, labels) = plantedData()
        var rng = SeededGenerator(seed: 4)
        let pairs = sampleCombinationPairs(labels: labels, perClass: 6, classCount: 3, using: &rng)
        // The class pixel must stay above 0.25 more than any other class pixel: adding ε·sign(x1)
        // to the other class's pixel flips the verdict once ε ≥ 0.75 (the pixel of x0 is 1, x1's 1).
        let classify: (Tensor) -> [Int] = { batch in
            (0..<batch.batchCount).map { row in
                let values = (0..<3).map { batch.scalars[row * 16 + $0] }
                let best = (0..<3).max { values[$0] < values[$1] } ?? 0
                return values.enumerated().allSatisfy { $0.offset == best || values[best] - $0.element > 0.25 } ? best : -1
            }
        }
        let result = measurePerClassEpsilon(
            norm: .linf, grid: [0.5, 0.7, 0.8, 0.9], conditionImages: images, conditionLabels: labels,
            conditionQueries: Array(labels.indices), pairImages01: images, pairLabels: labels,
            pairs: pairs, classCount: 3, classify: classify)
        XCTAssertEqual(result[1].eps, Double(Float(0.7)))
        XCTAssertEqual(result[1].binding, "combination")
        XCTAssertEqual(result[1].grid[2].share_combination_unchanged, 0)
        XCTAssertNil(result[0].eps, "class 0 fails (2) already at the smallest grid value")
        XCTAssertEqual(result[0].binding, "(2)")
        XCTAssertEqual(result[2].eps, Double(Float(0.7)))
    }

    func testSampledQueriesFindTheExactNearestAmongAllImages() {
        var rng = SeededGenerator(seed: 7)
        let images = Tensor.randomUniform([60, 1, 5, 5], using: &rng).map { $0 < 0.5 ? 0 : $0 }
        let labels = (0..<60).map { _ in Int(rng.next() % 3) }
        let queries = [3, 17, 18, 40, 59]
        for (norm, p) in [(DistanceNorm.l2, 2.0), (.linf, Double.infinity)] {
            let fast = nearestSameClassDistances(images: images, labels: labels, queries: queries, norm: norm, classCount: 3)
            for (row, query) in queries.enumerated() {
                let members = labels.indices.filter { labels[$0] == labels[query] && $0 != query }
                let reference = NearestNeighbors.referenceNearest(queries: images.gather([query]), memory: images.gather(members), p: p)
                XCTAssertEqual(fast[row], reference[0].distance, accuracy: 1e-5, "\(norm) query \(query)")
            }
        }
    }
}
