import AdvTensor
import TestSupport
import XCTest

@testable import AdvNN

final class TripletLossTests: XCTestCase {
    /// Embeddings spread so that the mined negatives do not switch inside ±h.
    func makeBatch() -> (Tensor, [Int]) {
        var rng = SeededGenerator(seed: 31)
        let embeddings = Tensor.randomNormal([9, 4], std: 0.6, using: &rng)
        return (embeddings, [0, 0, 0, 1, 1, 1, 2, 2, 2])
    }

    func testGradientMatchesFiniteDifferences() {
        let (embeddings, labels) = makeBatch()
        let (loss, _, active) = tripletSemiHardLoss(embeddings: embeddings, labels: labels, margin: 0.5)
        XCTAssertGreaterThan(active, 0, "with no active triplet the gradient is zero and the check vacuous")
        XCTAssertGreaterThan(loss, 0)
        var check = GradientCheck()
        check.step = 1e-3
        let report = check.run(
            input: embeddings,
            lossAsFunction { e in
                let (value, gradient, _) = tripletSemiHardLoss(embeddings: e, labels: labels, margin: 0.5)
                return (value, gradient)
            })
        assertGradientsMatch(report)
    }

    func testHandComputedSemiHardChoice() {
        // One anchor–positive pair per class on a line; negatives at known distances.
        let e = Tensor(shape: [4, 1], scalars: [0, 1, 1.5, 3])  // classes 0, 0, 1, 1
        let (loss, _, _) = tripletSemiHardLoss(embeddings: e, labels: [0, 0, 1, 1], margin: 1)
        // Pairs: (0,1): d_ap = 1; negatives 2 (2.25, semi-hard), 3 (9) -> 1 − 2.25 + 1 = −0.25 -> 0
        //        (1,0): d_ap = 1; negatives 2 (0.25), 3 (4): semi-hard 4 -> 1 − 4 + 1 < 0 -> 0
        //        (2,3): d_ap = 2.25; negatives 0 (2.25, not >), 1 (0.25): none farther -> farthest 0 (2.25) -> 1
        //        (3,2): d_ap = 2.25; negatives 0 (9) semi-hard -> 2.25 − 9 + 1 < 0 -> 0
        XCTAssertEqual(loss, 1.0 / 4.0, accuracy: 1e-6)
    }
}
