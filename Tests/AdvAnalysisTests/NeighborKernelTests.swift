import AdvTensor
import TestSupport
import XCTest

@testable import AdvAnalysis

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
        var same = [Float](repeating: .infinity, count: labels.count)
        var other = same
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

    /// Images whose pixels are k/255 with few levels (so L∞ and L2 ties are common), like MNIST.
    func makeByteData(count: Int, features: Int, levels: [Int], seed: UInt64) -> (Tensor, [Int]) {
        var rng = SeededGenerator(seed: seed)
        let scalars = (0..<(count * features)).map { _ in Float(levels[Int(rng.next() % UInt64(levels.count))]) / 255 }
        let labels = (0..<count).map { _ in Int(rng.next() % 4) }
        return (Tensor(shape: [count, features], scalars: scalars), labels)
    }

    /// The fast kernel against `referenceClassNeighbors`: distances within Float rounding, and
    /// every index a real neighbour at the reported distance of the right class relation.
    func assertMatchesReference(
        _ fast: ClassNeighbors, _ images: Tensor, _ labels: [Int], norm: DistanceNorm, _ context: String,
        file: StaticString = #filePath, line: UInt = #line
    ) {
        let reference = NearestNeighbors.referenceClassNeighbors(images: images, labels: labels, norm: norm)
        assertClose(
            fast.sameClass.map(\.distance), reference.sameClass.map(\.distance), rtol: 1e-6, atol: 1e-6,
            "\(context) same class", file: file, line: line)
        assertClose(
            fast.otherClass.map(\.distance), reference.otherClass.map(\.distance), rtol: 1e-6, atol: 1e-6,
            "\(context) other class", file: file, line: line)
        let d = images.featureCount
        for i in labels.indices {
            for (match, isSame) in [(fast.sameClass[i], true), (fast.otherClass[i], false)] {
                XCTAssertNotEqual(match.index, i, "\(context): image \(i) is its own neighbour", file: file, line: line)
                XCTAssertEqual(labels[match.index] == labels[i], isSame, "\(context): image \(i)", file: file, line: line)
                let truth = norm.distance(
                    Array(images.scalars[(i * d)..<(i * d + d)]), Array(images.scalars[(match.index * d)..<(match.index * d + d)]), count: d
                )
                XCTAssertEqual(
                    match.distance, truth, accuracy: 1e-5 * max(1, truth),
                    "\(context): image \(i)'s neighbour is not at the reported distance",
                    file: file, line: line)
            }
        }
    }

    func testClassNeighborsMatchTheReferenceOnFloatData() {
        // Not k/255, so L∞ takes the Float kernel; L2 blocks smaller than the data, odd sizes on purpose.
        let (images, labels) = makeData(count: 157, features: 37, seed: 1)
        for norm in [DistanceNorm.l2, .linf] {
            assertMatchesReference(
                NearestNeighbors.classNeighbors(images: images, labels: labels, norm: norm, block: 23), images, labels,
                norm: norm, "\(norm) float")
        }
    }

    func testClassNeighborsMatchTheReferenceOnByteDataWithTies() {
        // k/255 pixels take the UInt8 L∞ kernel; 45 features pad to 3 vectors, 3 levels make ties everywhere,
        // 261 images are 16 query blocks and a ragged one per class.
        for (levels, seed) in [([0, 128, 255], UInt64(5)), (Array(0...255), 6), ([0, 255], 7)] {
            let (images, labels) = makeByteData(count: 261, features: 45, levels: levels, seed: seed)
            let l2 = NearestNeighbors.classNeighbors(images: images, labels: labels, norm: .l2, block: 64)
            assertMatchesReference(l2, images, labels, norm: .l2, "l2 levels \(levels.count)")
            assertMatchesReference(
                NearestNeighbors.classNeighbors(images: images, labels: labels, norm: .linf), images, labels,
                norm: .linf, "linf levels \(levels.count)")
            assertMatchesReference(
                NearestNeighbors.classNeighbors(images: images, labels: labels, norm: .linf, seeds: l2), images, labels,
                norm: .linf, "linf seeded levels \(levels.count)")
        }
        // Fewer features than the UInt8 kernel's 32-pixel head, and a class with a single image.
        let (images, labels) = makeByteData(count: 40, features: 5, levels: [0, 64, 255], seed: 8)
        let single = labels.indices.map { $0 == 7 ? 9 : labels[$0] }
        for norm in [DistanceNorm.l2, .linf] {
            let fast = NearestNeighbors.classNeighbors(images: images, labels: single, norm: norm)
            XCTAssertEqual(fast.sameClass[7].index, -1, "\(norm): a class of one image has no same-class neighbour")
            XCTAssertEqual(fast.sameClass[7].distance, .infinity)
            let reference = NearestNeighbors.referenceClassNeighbors(images: images, labels: single, norm: norm)
            XCTAssertEqual(fast.otherClass.map(\.distance), reference.otherClass.map(\.distance), "\(norm) other class, 5 features")
            XCTAssertEqual(fast.sameClass.map(\.distance).filter(\.isFinite), reference.sameClass.map(\.distance).filter(\.isFinite))
        }
    }

    /// A planted near-duplicate (one pixel 3/255 away, same label) is each other's nearest
    /// same-class neighbour; a planted copy with another label is the nearest other-class one.
    func testPlantedNearDuplicateIsFound() {
        var (images, labels) = makeByteData(count: 300, features: 60, levels: Array(0...255), seed: 9)
        let d = images.featureCount
        var duplicate = Array(images.scalars[(17 * d)..<(18 * d)])
        duplicate[40] = duplicate[40] >= 0.5 ? duplicate[40] - 3 / 255 : duplicate[40] + 3 / 255
        var twin = Array(images.scalars[(17 * d)..<(18 * d)])
        twin[2] = twin[2] >= 0.5 ? twin[2] - 5 / 255 : twin[2] + 5 / 255
        images = Tensor(shape: [302, d], scalars: images.scalars + duplicate + twin)
        labels += [labels[17], (labels[17] + 1) % 4]
        for norm in [DistanceNorm.l2, .linf] {
            let fast = NearestNeighbors.classNeighbors(images: images, labels: labels, norm: norm)
            XCTAssertEqual(fast.sameClass[17].index, 300, "\(norm)")
            XCTAssertEqual(fast.sameClass[300].index, 17, "\(norm)")
            XCTAssertEqual(fast.sameClass[17].distance, 3 / 255, accuracy: 1e-6, "\(norm)")
            XCTAssertEqual(fast.otherClass[17].index, 301, "\(norm)")
            XCTAssertEqual(fast.otherClass[17].distance, 5 / 255, accuracy: 1e-6, "\(norm)")
        }
    }

    func testNearestL2AndLinfMatchTheReference() {
        let (queries, _) = makeData(count: 13, features: 41, seed: 2)
        let (memory, _) = makeData(count: 71, features: 41, seed: 3)
        let exclude = (0..<13).map { $0 * 5 }
        for (p, fast) in [
            (2.0, NearestNeighbors.nearestL2(queries: queries, memory: memory, exclude: exclude, blockSize: 16)),
            (Double.infinity, NearestNeighbors.nearestLinf(queries: queries, memory: memory, exclude: exclude)),
        ] {
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
        var inside = Array(scalars[0..<10])
        inside[3] += 0.25  // L∞ 0.25 from image 0
        var outside = Array(scalars[0..<10])
        outside[3] += 0.35  // L∞ 0.35 from image 0
        _ = rng.next()
        let images = Tensor(shape: [8, 10], scalars: scalars + inside + outside)
        let labels = [0, 1, 2, 0, 1, 2, 0, 1]  // `inside` has class 0 like image 0; `outside` class 1
        let neighbors = NearestNeighbors.classNeighbors(images: images, labels: labels, norm: .linf)
        let misclassified = [6]  // pretend the planted image is a test error
        let queries = ConditionTwoDistances.queries(total: labels.count, count: nil, seed: 0)
        let nearestMisclassified = ConditionTwoDistances.nearestMisclassified(
            images: images, labels: labels, queries: queries,
            misclassified: misclassified, norm: .linf, classCount: 3)
        let distances = ConditionTwoDistances(
            queries: queries, labels: labels, nearestSameClass: neighbors.sameClass.map(\.distance),
            nearestMisclassified: nearestMisclassified)
        let report = conditionTwo(distances, norm: "linf", eps: 0.3, classCount: 3)
        XCTAssertFalse(report.holds)
        XCTAssertEqual(
            report.per_class_share_with_same_class_within_eps[0], 2.0 / 3.0, accuracy: 1e-9, "image 0 and its plant see each other")
        XCTAssertEqual(
            report.per_class_share_with_misclassified_within_eps?[0] ?? -1, 1.0 / 3.0, accuracy: 1e-9,
            "only image 0 has the error within ε")
        XCTAssertTrue(report.per_class_holds[1], "the plant at 0.35 is another class and outside ε anyway")
        XCTAssertEqual(report.per_class_images, [3, 3, 2])
        let tighter = conditionTwo(distances, norm: "linf", eps: 0.2, classCount: 3)
        XCTAssertTrue(tighter.holds, "at ε 0.2 the plant at 0.25 is outside every ball")
    }

    /// Condition (2) under both norms on k/255 images (the UInt8 L∞ kernel): a same-class image
    /// planted inside ε is found, one of the same class planted just outside ε is not.
    func testConditionTwoSeparatesSameClassPlantsInsideAndOutsideEps() {
        // Six base images, pairwise ≥ 1 apart in L∞ and L2 (one bright pixel each); plants of class 0.
        let d = 40
        var scalars: [Float] = []
        for i in 0..<6 { for k in 0..<d { scalars.append(k == 5 * i ? 1 : 0) } }
        for (norm, eps, insideStep, outsideStep) in [(DistanceNorm.linf, Float(0.3), 64, 90), (.l2, 0.3, 64, 90)] {
            var inside = Array(scalars[0..<d])
            inside[33] = Float(insideStep) / 255  // 0.251 from image 0
            var outside = Array(scalars[(3 * d)..<(4 * d)])
            outside[37] = Float(outsideStep) / 255  // 0.353 from image 3
            let images = Tensor(shape: [8, d], scalars: scalars + inside + outside)
            let labels = [0, 1, 2, 0, 1, 2, 0, 0]
            let neighbors = NearestNeighbors.classNeighbors(images: images, labels: labels, norm: norm)
            let queries = Array(labels.indices)
            let nearestMisclassified = ConditionTwoDistances.nearestMisclassified(
                images: images, labels: labels, queries: queries,
                misclassified: [7], norm: norm, classCount: 3)
            let distances = ConditionTwoDistances(
                queries: queries, labels: labels, nearestSameClass: neighbors.sameClass.map(\.distance),
                nearestMisclassified: nearestMisclassified)
            let report = conditionTwo(distances, norm: norm.rawValue, eps: Double(eps), classCount: 3)
            XCTAssertEqual(neighbors.sameClass[6].index, 0, "\(norm)")
            XCTAssertEqual(neighbors.sameClass[7].index, 3, "\(norm)")
            XCTAssertFalse(report.holds, "\(norm)")
            XCTAssertEqual(
                report.per_class_share_with_same_class_within_eps[0], 2.0 / 4.0, accuracy: 1e-9,
                "\(norm): image 0 and its plant see each other; image 3 and the plant outside ε do not")
            XCTAssertEqual(
                report.per_class_share_with_misclassified_within_eps?[0], 0, "\(norm): the misclassified plant is outside every ball")
            XCTAssertTrue(report.per_class_holds[1] && report.per_class_holds[2], "\(norm)")
            let wider = conditionTwo(distances, norm: norm.rawValue, eps: 0.36, classCount: 3)
            XCTAssertEqual(
                wider.per_class_share_with_same_class_within_eps[0], 1, accuracy: 1e-9, "\(norm): at ε 0.36 both plants are inside")
            XCTAssertEqual(
                wider.per_class_share_with_misclassified_within_eps?[0] ?? -1, 0.25, accuracy: 1e-9,
                "\(norm): image 3 has the error within 0.36")
        }
    }
}
