import AdvNN
import AdvTensor
import XCTest

/// The gradient checker itself: it passes a correct pullback and — the negative controls —
/// reports failure for the mistakes it exists to catch.
final class GradientCheckTests: XCTestCase {
    /// `y = w ⊙ x²` with a parameter `w` of the input's shape; `inputFactor` and
    /// `parameterFactor` scale the two halves of the pullback (1 and 1 are correct).
    private func squareLayer(weight: Parameter, inputFactor: Float = 1, parameterFactor: Float = 1)
        -> (Tensor) -> (Tensor, Pullback)
    {
        { x in
            let w = weight.value
            let y = w * x * x
            return (
                y,
                { r in
                    weight.gradient += parameterFactor * (r * x * x)
                    return inputFactor * (r * 2 * w * x)
                }
            )
        }
    }

    private func setUpInput() -> (Tensor, Parameter) {
        var rng = SeededGenerator(seed: 100)
        return (Tensor.randomNormal([3, 4], using: &rng), Parameter(Tensor.randomNormal([3, 4], using: &rng)))
    }

    func testCorrectPullbackPasses() {
        let (x, weight) = setUpInput()
        let report = GradientCheck().run(input: x, parameters: [("w", weight)], squareLayer(weight: weight))
        assertGradientsMatch(report)
        XCTAssertEqual(report["input"]?.checked, 12)
        XCTAssertEqual(report["w"]?.checked, 12)
    }

    func testMissingFactorTwoFails() {
        let (x, weight) = setUpInput()
        let report = GradientCheck().run(input: x, parameters: [("w", weight)], squareLayer(weight: weight, inputFactor: 0.5))
        XCTAssertFalse(report.passed)
        XCTAssertEqual(report["input"]?.failures, 12, "every coordinate is off by a factor 2\n\(report)")
        XCTAssertEqual(report["w"]?.passed, true, "the parameter half was right\n\(report)")
    }

    func testSignFlipFails() {
        let (x, weight) = setUpInput()
        let report = GradientCheck().run(
            input: x, parameters: [("w", weight)], squareLayer(weight: weight, inputFactor: -1, parameterFactor: -1))
        XCTAssertFalse(report.passed)
        XCTAssertEqual(report["input"]?.failures, 12, "\(report)")
        XCTAssertEqual(report["w"]?.failures, 12, "\(report)")
    }

    /// Input gradient right, parameter gradient accumulated twice (or not at all): only the
    /// parameter fails.
    func testWrongParameterGradientAloneFails() {
        for factor: Float in [2, 0] {
            let (x, weight) = setUpInput()
            let report = GradientCheck().run(input: x, parameters: [("w", weight)], squareLayer(weight: weight, parameterFactor: factor))
            XCTAssertFalse(report.passed, "parameter factor \(factor)")
            XCTAssertEqual(report["input"]?.passed, true, "\(report)")
            XCTAssertEqual(report["w"]?.failures, 12, "parameter factor \(factor)\n\(report)")
        }
    }

    /// A 10 % error in a single coordinate of a full check is caught.
    func testSingleWrongCoordinateFails() {
        let (x, weight) = setUpInput()
        let correct = squareLayer(weight: weight)
        let report = GradientCheck().run(input: x, parameters: [("w", weight)]) { input in
            let (y, pullback) = correct(input)
            return (
                y,
                { r in
                    var dx = pullback(r)
                    dx.scalars[5] *= 1.1
                    return dx
                }
            )
        }
        XCTAssertFalse(report.passed)
        XCTAssertEqual(report["input"]?.failures, 1, "\(report)")
    }

    /// A function whose gradient is zero cannot tell right from wrong: reported as vacuous.
    func testZeroGradientIsReportedVacuous() {
        let (x, _) = setUpInput()
        let report = GradientCheck().run(input: x) { input in
            (Tensor(repeating: 1, shape: input.shape), { r in Tensor.zeros(like: r) })
        }
        XCTAssertFalse(report.passed)
        XCTAssertEqual(report["input"]?.vacuous, true)
    }

    func testWrongPullbackShapeFails() {
        let (x, _) = setUpInput()
        let report = GradientCheck().run(input: x) { input in (input, { r in r.reshaped([12]) }) }
        XCTAssertFalse(report.passed)
        XCTAssertFalse(report.problems.isEmpty)
    }

    /// Large tensors are checked on a random subset of the requested size.
    func testLargeTensorsAreSubsampled() {
        var rng = SeededGenerator(seed: 101)
        let x = Tensor.randomNormal([40, 30], using: &rng)
        var check = GradientCheck()
        check.coordinatesPerTensor = 50
        let report = check.run(input: x) { input in (input * input, { r in r * 2 * input }) }
        assertGradientsMatch(report)
        XCTAssertEqual(report["input"]?.checked, 50)
    }
}
