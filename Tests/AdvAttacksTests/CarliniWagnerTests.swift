import AdvModels
import AdvTensor
import TestSupport
import XCTest

@testable import AdvAttacks

/// C&W-L2 is a minimal-distance attack: the report's minimal-L2 quantiles and its "below the
/// nearest same-class image" share rest on it finding a near-minimal perturbation. On an affine
/// classifier the minimum has a closed form, so the test holds C&W to it.
final class CarliniWagnerTests: XCTestCase {
    /// The smallest L2 perturbation δ that makes the affine classifier z = W x + b say anything but
    /// `label`, with x + δ in [0, 1]^D. For each other class j it solves
    /// min ‖δ‖ s.t. a·δ ≥ m, −x ≤ δ ≤ 1 − x, with a = w_j − w_y and m = z_y − z_j; by the KKT
    /// conditions δ_i = clip(λ a_i, −x_i, 1 − x_i) for the smallest λ ≥ 0 meeting the margin,
    /// found by bisection (a·δ(λ) never decreases in λ). Without the box this is
    /// m / ‖w_y − w_j‖, the textbook distance to the hyperplane. The minimum over j; +∞ when no
    /// class can be reached inside the box. In Double.
    /// weights: [K][D]; bias: K; x: D
    static func minimalL2ToBoundary(weights: [[Double]], bias: [Double], x: [Double], label: Int) -> Double {
        let z = weights.indices.map { k in bias[k] + zip(weights[k], x).reduce(0) { $0 + $1.0 * $1.1 } }
        var best = Double.infinity
        for j in weights.indices where j != label {
            let a = zip(weights[j], weights[label]).map { $0 - $1 }
            let margin = z[label] - z[j]
            if margin <= 0 { return 0 }
            // (a·δ(λ), ‖δ(λ)‖²)
            func evaluate(_ lambda: Double) -> (gain: Double, squared: Double) {
                var gain = 0.0
                var squared = 0.0
                for i in a.indices {
                    let d = min(max(lambda * a[i], -x[i]), 1 - x[i])
                    gain += a[i] * d
                    squared += d * d
                }
                return (gain, squared)
            }
            var high = 1.0
            while evaluate(high).gain < margin && high < 1e12 { high *= 2 }
            if evaluate(high).gain < margin { continue }
            var low = 0.0
            for _ in 0..<80 {
                let middle = (low + high) / 2
                if evaluate(middle).gain >= margin { high = middle } else { low = middle }
            }
            best = min(best, evaluate(high).squared.squareRoot())
        }
        return best
    }

    /// Without the box the closed form is the hyperplane distance, and the box only lengthens it.
    func testClosedFormIsTheHyperplaneDistanceInsideTheBox() {
        let weights: [[Double]] = [[1, 0, 0], [0, 2, 0], [0, 0, -1]]
        let bias: [Double] = [0, 0, 0.2]
        let x: [Double] = [0.6, 0.2, 0.5]
        // z = (0.6, 0.4, −0.3): class 1 at distance 0.2/‖(1, −2, 0)‖ = 0.0894, class 2 at 0.9/‖(1, 0, 1)‖ = 0.636.
        XCTAssertEqual(Self.minimalL2ToBoundary(weights: weights, bias: bias, x: x, label: 0), 0.2 / 5.0.squareRoot(), accuracy: 1e-9)
        // z = (0.6, 0.4) at x = (0.6, 0): the hyperplane is 0.2/√5 away, but the second pixel cannot go
        // below 0, so only the first one moves, by the whole margin 0.2.
        let boxed = Self.minimalL2ToBoundary(weights: [[1, 0], [0, -2]], bias: [0, 0.4], x: [0.6, 0], label: 0)
        XCTAssertEqual(boxed, 0.2, accuracy: 1e-9)
    }

    /// On the logistic-regression fixture (an affine model on raw pixels), C&W's distance on every
    /// correctly classified image is within 5 % of the exact minimum in the box, and never below it.
    /// With the default search (6 binary-search steps of 150 Adam iterations, learning rate 0.05,
    /// 3 candidate classes) the ratio was at most 1.035 (mean 1.002) on the 64 images; with one
    /// candidate class (plain untargeted C&W) it reached 1.29.
    ///
    /// Mutant: an attack whose returned perturbation is twice as long (in `carliniWagnerL2`,
    /// `best = (clean + (best − clean) * 2).clamped(0, 1)` before `makeResults`) was planted and
    /// failed this test; it was then removed.
    func testDistanceIsWithinFivePercentOfTheClosedFormMinimum() throws {
        let f = try AttackFixture.require()
        let count = 64
        let images = f.images.slice(0..<count)
        let labels = Array(f.labels[0..<count])
        let outcome = carliniWagnerL2(model: f.model, images01: images, labels: labels)
        let w = f.model.linear.weight.value
        let b = f.model.linear.bias.value
        let weights = (0..<10).map { k in (0..<784).map { Double(w.scalars[k * 784 + $0]) } }
        let bias = b.scalars.map(Double.init)
        var ratios: [Double] = []
        for (i, result) in outcome.results.enumerated() where result.cleanPrediction == result.label {
            let x = (0..<784).map { Double(images.scalars[i * 784 + $0]) }
            let minimum = Self.minimalL2ToBoundary(weights: weights, bias: bias, x: x, label: labels[i])
            XCTAssertTrue(result.success, "example \(i): C&W found no success (minimum \(minimum))")
            let ratio = Double(result.l2) / minimum
            ratios.append(ratio)
            XCTAssertGreaterThanOrEqual(ratio, 0.999, "example \(i): C&W's L2 \(result.l2) is below the exact minimum \(minimum)")
            XCTAssertLessThanOrEqual(ratio, 1.05, "example \(i): C&W's L2 \(result.l2) is more than 5 % above the minimum \(minimum)")
        }
        XCTAssertGreaterThan(ratios.count, count / 2, "the fixture must classify most images")
        let mean = ratios.reduce(0, +) / Double(max(1, ratios.count))
        print("C&W L2 / exact minimum on \(ratios.count) images: max \(ratios.max() ?? .nan), mean \(mean)")
    }
}
