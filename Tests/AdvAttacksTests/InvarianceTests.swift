import AdvTensor
import TestSupport
import XCTest

@testable import AdvAttacks

/// The invariance step and the L2 combination keep their contracts: inside the ε-ball, inside
/// [0, 1], and exactly the move they promise.
final class InvarianceTests: XCTestCase {
    func testInvarianceStepStaysInTheBallAndInRangeAndMovesAsFarAsAllowed() {
        var rng = SeededGenerator(seed: 5)
        let images = Tensor.randomUniform([16, 1, 28, 28], using: &rng).map { $0 < 0.5 ? 0 : $0 }
        let targets = Tensor.randomUniform([16, 1, 28, 28], using: &rng).map { $0 < 0.6 ? 0 : 1 }
        for eps: Float in [0, 0.1, 0.3, 0.4, 1] {
            let adversarial = invarianceImages(images01: images, targets01: targets, eps: eps)
            let delta = adversarial - images
            XCTAssertLessThanOrEqual(delta.maxAbs(), eps + 1e-6, "ε \(eps)")
            XCTAssertTrue(adversarial.scalars.allSatisfy { $0 >= 0 && $0 <= 1 }, "ε \(eps): outside [0, 1]")
            for k in 0..<images.count {
                let x = images.scalars[k]
                let target = targets.scalars[k]
                let moved = adversarial.scalars[k]
                // Within budget the pixel reaches the target; beyond it, it moves exactly ε toward it.
                let expected = abs(target - x) <= eps ? target : x + (target > x ? eps : -eps)
                XCTAssertEqual(moved, expected, accuracy: 1e-6, "ε \(eps) pixel \(k)")
            }
        }
    }

    func testInvarianceStepClipsToTheUnitInterval() {
        // Targets outside [0, 1] (e.g. an un-normalised image) still give images in [0, 1].
        let images = Tensor(shape: [1, 1, 1, 3], scalars: [0.95, 0.05, 0.5])
        let targets = Tensor(shape: [1, 1, 1, 3], scalars: [2, -1, 0.6])
        let adversarial = invarianceImages(images01: images, targets01: targets, eps: 0.3)
        assertClose(adversarial.scalars, [1, 0, 0.6], atol: 1e-6)
    }

    func testShiftMovesPixelsAndZeroFills() {
        let image = Tensor(shape: [1, 1, 3, 3], scalars: [1, 2, 3, 4, 5, 6, 7, 8, 9])
        XCTAssertEqual(shiftedImages(image, dx: 1, dy: 0).scalars, [0, 1, 2, 0, 4, 5, 0, 7, 8])
        XCTAssertEqual(shiftedImages(image, dx: 0, dy: -1).scalars, [4, 5, 6, 7, 8, 9, 0, 0, 0])
        XCTAssertEqual(shiftedImages(image, dx: -2, dy: 2).scalars, [0, 0, 0, 0, 0, 0, 3, 0, 0])
        XCTAssertEqual(shiftGrid(maxShift: 2).count, 25)
        XCTAssertTrue(shiftGrid(maxShift: 2).first! == (0, 0), "the unshifted image comes first (it wins ties)")
    }

    func testL2CombinationHasNormEpsAwayFromTheBounds() {
        var rng = SeededGenerator(seed: 6)
        // Sources at 0.5 so that no pixel clips: the perturbation's L2 norm is exactly ε.
        let sources = Tensor(repeating: 0.5, shape: [4, 1, 28, 28])
        let others = Tensor.randomUniform([4, 1, 28, 28], using: &rng).map { $0 < 0.7 ? 0 : $0 }
        for eps: Float in [0.5, 2, 4.5] {
            let combined = combinationImages(sources: sources, others: others, eps: eps, norm: .l2)
            let norms = (combined - sources).normsPerExample(p: 2)
            assertClose(norms, [Float](repeating: eps, count: 4), rtol: 1e-4, "ε \(eps)")
            // The perturbation points along sign(x1): zero where x1 is zero.
            for k in 0..<others.count where others.scalars[k] == 0 { XCTAssertEqual(combined.scalars[k], 0.5) }
        }
        // Clipped when the source is already at 1: the norm can only shrink.
        let bright = combinationImages(sources: Tensor(repeating: 1, shape: [4, 1, 28, 28]), others: others, eps: 3, norm: .l2)
        XCTAssertEqual(bright.maxAbs(), 1)
        XCTAssertEqual(
            combinationImages(sources: sources, others: others, eps: 0.2, norm: .linf),
            combinationImages(sources: sources, others: others, eps: 0.2))
    }
}
