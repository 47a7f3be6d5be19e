import AdvAttacks
import AdvModels
import AdvTensor
import TestSupport
import XCTest

@testable import AdvAnalysis

/// The nearest other-class image (with shifts) against a brute-force reference, and the shares
/// the invariance report gives.
final class InvarianceSearchTests: XCTestCase {
    func makeImages(count: Int, side: Int, seed: UInt64) -> (Tensor, [Int]) {
        var rng = SeededGenerator(seed: seed)
        let images = Tensor.randomUniform([count, 1, side, side], using: &rng).map { $0 < 0.6 ? 0 : $0 }
        return (images, (0..<count).map { _ in Int(rng.next() % 4) })
    }

    func testNearestOtherClassMatchesBruteForceWithAndWithoutShifts() {
        let (queries, queryLabels) = makeImages(count: 11, side: 7, seed: 1)
        let (memory, memoryLabels) = makeImages(count: 53, side: 7, seed: 2)
        for maxShift in [0, 1, 2] {
            let shifts = shiftGrid(maxShift: maxShift)
            // A block size that does not divide the memory, so block edges are crossed.
            let fast = NearestNeighbors.nearestOtherClassL2(
                queries: queries, queryLabels: queryLabels, memory: memory,
                memoryLabels: memoryLabels, shifts: shifts, blockSize: 10)
            let reference = NearestNeighbors.referenceNearestOtherClassL2(
                queries: queries, queryLabels: queryLabels, memory: memory,
                memoryLabels: memoryLabels, shifts: shifts)
            assertClose(fast.map(\.distance), reference.map(\.distance), rtol: 1e-4, atol: 1e-4, "shift ±\(maxShift)")
            XCTAssertEqual(fast.map(\.index), reference.map(\.index), "shift ±\(maxShift)")
            XCTAssertEqual(fast.map(\.dx), reference.map(\.dx), "shift ±\(maxShift)")
            XCTAssertEqual(fast.map(\.dy), reference.map(\.dy), "shift ±\(maxShift)")
            for (row, match) in fast.enumerated() { XCTAssertNotEqual(memoryLabels[match.index], queryLabels[row]) }
        }
    }

    func testAShiftedTwinIsFoundOnlyWithShifts() {
        // Query: a bar in column 2 (class 0). Memory: the same bar in column 3 (class 1, a
        // shift of one pixel away), a blob elsewhere (class 2), and an exact copy of class 0.
        var bar = [Float](repeating: 0, count: 36)
        for y in 1..<5 { bar[y * 6 + 2] = 1 }
        var shiftedBar = [Float](repeating: 0, count: 36)
        for y in 1..<5 { shiftedBar[y * 6 + 3] = 1 }
        var blob = [Float](repeating: 0, count: 36)
        blob[0] = 1
        blob[1] = 1
        let query = Tensor(shape: [1, 1, 6, 6], scalars: bar)
        let memory = Tensor(shape: [3, 1, 6, 6], scalars: shiftedBar + blob + bar)
        let labels = [1, 2, 0]
        let unshifted = NearestNeighbors.nearestOtherClassL2(queries: query, queryLabels: [0], memory: memory, memoryLabels: labels)
        XCTAssertEqual(unshifted[0].index, 1, "without shifts the blob (L2 √6) beats the bar one column over (L2 √8)")
        let shifted = NearestNeighbors.nearestOtherClassL2(
            queries: query, queryLabels: [0], memory: memory, memoryLabels: labels,
            shifts: shiftGrid(maxShift: 1))
        XCTAssertEqual(shifted[0], ShiftedMatch(index: 0, distance: 0, dx: -1, dy: 0))
        let targets = InvarianceTargets(images01: query, labels: [0], memory01: memory, memoryLabels: labels, maxShift: 1)
        XCTAssertEqual(targets.labels, [1])
        XCTAssertEqual(targets.images01, query, "the target is the memory image as shifted")
    }

    func testSharesCountTheProxyAndTheModels() {
        let match = ShiftedMatch(index: 0, distance: 1, dx: 0, dy: 0)
        func record(_ label: Int, _ target: Int, knn: Int, model: Int, reference: Int) -> InvarianceRecord {
            InvarianceRecord(
                index: 0, label: label, target: target, nearest: match, knnClean: label, knnAdversarial: knn,
                modelClean: label, modelAdversarial: model, referenceClean: label, referenceAdversarial: reference)
        }
        let records = [
            record(3, 5, knn: 5, model: 3, reference: 5),  // proxy changed, model invariant, reference followed
            record(3, 5, knn: 3, model: 3, reference: 3),  // nothing changed
            record(3, 8, knn: 8, model: 8, reference: 3),  // proxy and model changed
            record(7, 1, knn: 2, model: 1, reference: 7),  // proxy says a third class
        ]
        let shares = InvarianceShares(records)
        XCTAssertEqual(shares.knn_changed_to_target, 0.5)
        XCTAssertEqual(shares.model_still_source, 0.5)
        XCTAssertEqual(shares.model_changed_to_target, 0.5)
        XCTAssertEqual(shares.model_invariant_where_knn_changed, 0.25)
        XCTAssertEqual(shares.model_invariant_given_knn_changed, 0.5)
        XCTAssertEqual(shares.reference_still_source, 0.75)
        XCTAssertEqual(shares.reference_invariant_where_knn_changed, 0.25)
        let report = InvarianceReport(records: records, eps: 0.3, maxShift: 0, knnK: 5)
        XCTAssertEqual(report.per_class[3].count, 3)
        XCTAssertEqual(report.per_class[3].knn_changed_to_target, 2.0 / 3.0, accuracy: 1e-12)
        XCTAssertEqual(report.per_class[7].knn_changed_to_target, 0)
        XCTAssertEqual(report.per_class[0].count, 0)
    }

    /// The whole pipeline on random weights: every example stays in the ε-ball and [0, 1], moves
    /// toward an image of another class, and "success" means exactly "k-NN says the target, the
    /// model still says the label".
    func testInvarianceExamplesKeepTheirContract() {
        var rng = SeededGenerator(seed: 9)
        let (images, labels) = makeImages(count: 6, side: 28, seed: 10)
        let (memory, memoryLabels) = makeImages(count: 30, side: 28, seed: 11)
        let model = MNISTChallengeCNN(using: &rng)
        let knn = EmbeddingKNN(embedding: TripletEmbedding(dimension: 8, using: &rng), images01: memory, labels: memoryLabels)
        let targets = InvarianceTargets(images01: images, labels: labels, memory01: memory, memoryLabels: memoryLabels, maxShift: 1)
        let judges = InvarianceJudges(model: model, knn: knn, k: 5, reference: model, clean: images)
        for eps: Float in [0.1, 0.4] {
            let (outcome, records) = invarianceExamples(images01: images, labels: labels, targets: targets, eps: eps, judges: judges)
            XCTAssertLessThanOrEqual((outcome.adversarialImages - images).maxAbs(), eps + 1e-6)
            XCTAssertTrue(outcome.adversarialImages.scalars.allSatisfy { $0 >= 0 && $0 <= 1 })
            XCTAssertEqual(outcome.adversarialImages, invarianceImages(images01: images, targets01: targets.images01, eps: eps))
            XCTAssertEqual(model.predict(outcome.adversarialImages), records.map(\.model_adversarial))
            XCTAssertEqual(knn.predict(outcome.adversarialImages, ks: [5])[5], records.map(\.knn_adversarial))
            for (result, record) in zip(outcome.results, records) {
                XCTAssertNotEqual(record.target, record.label)
                XCTAssertEqual(record.target, memoryLabels[record.nearest_index])
                XCTAssertEqual(result.target, record.target)
                XCTAssertEqual(result.success, record.knn_adversarial == record.target && record.model_adversarial == record.label)
                XCTAssertEqual(record.reference_adversarial, record.model_adversarial, "the model is its own reference here")
            }
        }
    }
}
