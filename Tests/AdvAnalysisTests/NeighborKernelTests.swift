@testable import AdvAnalysis
import AdvTensor
import TestSupport
import XCTest

/// The fast distance kernels against plain references, and condition (2) on planted data.
final class NeighborKernelTests: XCTestCase {
    /// Random sparse "images" with labels; sparse like MNIST so the L∞ early exit is exercised.
    func makeData(count: Int, features: Int = 50, seed: UInt64) -> (Tensor, [Int]) {
        var rng = SeededGenerator(seed: seed)
        let images = Tensor.randomUniform([count, features], using: &rng).map { $0 < 0.6 ? 0 : $0 }
        let labels = (0..<count).map { _ in Int(rng.next() % 3) }
        return (images, labels)
    }

    func referenceClassNeighbors(_ images: Tensor, _ labels: [Int], p: Double) -> (same: [Float], other: [Float]) {
        let d = images.featureCount
        var same = [Float](repeating: .infinity, count: labels.count), other = same
        for i in labels.indices {
            for j in labels.indices where j != i {
                var value = 0.0
                for k in 0..<d {
                    let diff = abs(Double(images.scalars[i * d + k]) - Double(images.scalars[j * d + k]))
                    value = p.isInfinite ? max(value, diff) : value + diff * diff
                }
                let distance = Float(p.isInfinite ? value : value.squareRoot())
                if labels[i] == labels[j] { same[i] = min(same[i], distance) } else { other[i] = min(other[i], distance) }
            }
        }
        return (same, other)
    }

    func testClassNeighborsMatchTheReferenceAcrossBlocks() {
        // Blocks smaller than the data so that block edges are crossed; odd sizes on purpose.
        let (images, labels) = makeData(count: 157, features: 37, seed: 1)
        for (norm, p) in [(DistanceNorm.l2, 2.0), (.linf, Double.infinity)] {
            let fast = NearestNeighbors.classNeighbors(images: images, labels: labels, norm: norm, queryBlock: 19, memoryBlock: 23)
            let reference = referenceClassNeighbors(images, labels, p: p)
            assertClose(fast.sameClass.map(\.distance), reference.same, rtol: 1e-4, atol: 1e-4, "\(norm) same class")
            assertClose(fast.otherClass.map(\.distance), reference.other, rtol: 1e-4, atol: 1e-4, "\(norm) other class")
            for (i, match) in fast.sameClass.enumerated() {
                XCTAssertNotEqual(match.index, i, "an image is never its own neighbour")
                XCTAssertEqual(labels[match.index], labels[i])
            }
            for (i, match) in fast.otherClass.enumerated() { XCTAssertNotEqual(labels[match.index], labels[i]) }
        }
    }

    func testNearestL2AndLinfMatchTheReference() {
        let (queries, _) = makeData(count: 13, features: 41, seed: 2)
        let (memory, _) = makeData(count: 71, features: 41, seed: 3)
        let exclude = (0..<13).map { $0 * 5 }
        for (p, fast) in [(2.0, NearestNeighbors.nearestL2(queries: queries, memory: memory, exclude: exclude, blockSize: 16)),
                          (Double.infinity, NearestNeighbors.nearestLinf(queries: queries, memory: memory, exclude: exclude))] {
            let reference = NearestNeighbors.referenceNearest(queries: queries, memory: memory, p: p, exclude: exclude)
            assertClose(fast.map(\.distance), reference.map(\.distance), rtol: 1e-4, atol: 1e-4, "p = \(p)")
            XCTAssertEqual(fast.map(\.index), reference.map(\.index), "p = \(p)")
        }
    }

    func testClassPairDistancesOnAHandExample() {
        // Class 0: two identical images; class 1: one image at L∞ 1 from them.
        let images = Tensor(shape: [3, 2], scalars: [0, 0, 0, 0, 1, 0.5])
        let result = classPairDistances(images: images, labels: [0, 0, 1], norm: .linf, classCount: 2)
        XCTAssertEqual(result.meanPairwise[0][0], 0)
        XCTAssertEqual(result.meanPairwise[0][1], 1)
        XCTAssertEqual(result.meanPairwise[1][0], 1)
        XCTAssertTrue(result.meanPairwise[1][1].isNaN, "a single image has no same-class pair")
        let l2 = classPairDistances(images: images, labels: [0, 0, 1], norm: .l2, classCount: 2)
        XCTAssertEqual(l2.meanPairwise[0][1], Double((1.25 as Float).squareRoot()), accuracy: 1e-6)
    }

    /// A same-class image planted inside ε is found; one planted just outside is not.
    func testConditionTwoFindsAPlantedNeighbourInsideEpsOnly() {
        var rng = SeededGenerator(seed: 4)
        // Base images far apart (L∞ ≥ 0.5 between any two), then two plants next to image 0.
        var scalars: [Float] = []
        for i in 0..<6 { for k in 0..<10 { scalars.append(k == i ? 1 : 0) } }
        var inside = Array(scalars[0..<10]); inside[3] += 0.25          // L∞ 0.25 from image 0
        var outside = Array(scalars[0..<10]); outside[3] += 0.35        // L∞ 0.35 from image 0
        _ = rng.next()
        let images = Tensor(shape: [8, 10], scalars: scalars + inside + outside)
        let labels = [0, 1, 2, 0, 1, 2, 0, 1]   // `inside` has class 0 like image 0; `outside` class 1
        let neighbors = NearestNeighbors.classNeighbors(images: images, labels: labels, norm: .linf)
        let misclassified = [6]                 // pretend the planted image is a test error
        let nearestMisclassified = nearestAmongSameClass(images: images, labels: labels, candidates: misclassified, norm: .linf, classCount: 3)
        let report = conditionTwo(labels: labels, nearestSameClass: neighbors.sameClass.map(\.distance),
                                  nearestMisclassified: nearestMisclassified, misclassifiedPerClass: [1, 0, 0],
                                  norm: .linf, eps: 0.3, classCount: 3)
        XCTAssertFalse(report.holds)
        XCTAssertEqual(report.per_class[0].share_with_same_class_within_eps, 2.0 / 3.0, accuracy: 1e-9, "image 0 and its plant see each other")
        XCTAssertEqual(report.per_class[0].share_with_misclassified_within_eps, 1.0 / 3.0, accuracy: 1e-9, "only image 0 has the error within ε")
        XCTAssertTrue(report.per_class[1].holds, "the plant at 0.35 is another class and outside ε anyway")
        let tighter = conditionTwo(labels: labels, nearestSameClass: neighbors.sameClass.map(\.distance),
                                   nearestMisclassified: nearestMisclassified, misclassifiedPerClass: [1, 0, 0],
                                   norm: .linf, eps: 0.2, classCount: 3)
        XCTAssertTrue(tighter.holds, "at ε 0.2 the plant at 0.25 is outside every ball")
    }
}
