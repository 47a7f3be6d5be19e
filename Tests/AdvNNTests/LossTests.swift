import AdvNN
import AdvTensor
import Foundation
import TestSupport
import XCTest

/// Loss values against Double computations from their definitions, and loss gradients against
/// finite differences.
final class LossTests: XCTestCase {
    private var rng = SeededGenerator(seed: 400)

    /// `−log softmax(row)[label]` in Double (log-sum-exp with the maximum subtracted).
    private func crossEntropy(_ row: [Float], label: Int) -> Double {
        let values = row.map(Double.init)
        let largest = values.max()!
        let logTotal = largest + log(values.reduce(0) { $0 + exp($1 - largest) })
        return logTotal - values[label]
    }

    /// Rows include logits far outside exp's Float range, which a naive softmax would overflow.
    private let extremeLogits = Tensor(
        shape: [4, 5],
        scalars: [
            80, -90, 0, 10, 79,
            0.5, -0.25, 1, 2, -3,
            -100, -120, -95, -101, -99,
            0, 0, 0, 0, 0,
        ])
    private let labels = [1, 3, 2, 4]

    func testSoftmaxCrossEntropyValuesMatchDouble() {
        let expected = (0..<4).map { row in crossEntropy(Array(extremeLogits.scalars[(row * 5)..<(row * 5 + 5)]), label: labels[row]) }
        let (losses, gradient) = softmaxCrossEntropyPerExample(logits: extremeLogits, labels: labels)
        assertClose(losses, expected.map(Float.init), rtol: 1e-5, atol: 1e-5)
        XCTAssertTrue(gradient.isFinite)
        let (mean, meanGradient) = softmaxCrossEntropy(logits: extremeLogits, labels: labels)
        let expectedMean = expected.reduce(0, +) / 4
        XCTAssertEqual(Double(mean), expectedMean, accuracy: 1e-4 * max(1, abs(expectedMean)))
        assertClose(meanGradient, gradient * 0.25)
    }

    /// Equal logits over K classes: loss log K, gradient (1/K − onehot) / N.
    func testSoftmaxCrossEntropyUniformLogits() {
        let (loss, gradient) = softmaxCrossEntropy(logits: Tensor.zeros([2, 4]), labels: [0, 3])
        XCTAssertEqual(loss, logf(4), accuracy: 1e-6)
        assertClose(
            gradient,
            Tensor(
                shape: [2, 4],
                scalars: [
                    -0.375, 0.125, 0.125, 0.125,
                    0.125, 0.125, 0.125, -0.375,
                ]))
    }

    func testSoftmaxAndLogSoftmax() {
        let probabilities = softmax(extremeLogits)
        for row in 0..<4 {
            XCTAssertEqual(probabilities.scalars[(row * 5)..<(row * 5 + 5)].reduce(0, +), 1, accuracy: 1e-6)
        }
        XCTAssertTrue(probabilities.scalars.allSatisfy { $0 >= 0 && $0 <= 1 })
        let logProbabilities = logSoftmax(extremeLogits)
        XCTAssertTrue(logProbabilities.isFinite, "log-softmax of −120 next to −95 must not be −∞")
        for row in 0..<4 {
            for label in 0..<5 {
                XCTAssertEqual(
                    Double(logProbabilities[row, label]),
                    -crossEntropy(Array(extremeLogits.scalars[(row * 5)..<(row * 5 + 5)]), label: label),
                    accuracy: 1e-4)
            }
        }
    }

    func testSoftmaxCrossEntropyMeanGradient() {
        let logits = Tensor.randomNormal([4, 5], std: 2, using: &rng)
        let report = GradientCheck().run(input: logits, lossAsFunction { softmaxCrossEntropy(logits: $0, labels: self.labels) })
        assertGradientsMatch(report)
    }

    /// The per-example gradient is that of the **sum** of the losses: with a cotangent r over
    /// the examples, row i of ∂(Σ rᵢ·lossᵢ) is rᵢ times row i of the returned gradient.
    func testSoftmaxCrossEntropyPerExampleGradient() {
        let logits = Tensor.randomNormal([4, 5], std: 2, using: &rng)
        let report = GradientCheck().run(input: logits) { x in
            let (losses, gradient) = softmaxCrossEntropyPerExample(logits: x, labels: self.labels)
            return (
                Tensor(shape: [4], scalars: losses),
                { r in
                    Tensor(shape: gradient.shape) { out in
                        for i in out.indices { out[i] = gradient.scalars[i] * r.scalars[i / 5] }
                    }
                }
            )
        }
        assertGradientsMatch(report)
    }

    func testBinaryCrossEntropyWithLogitsValue() {
        let logits = Tensor(shape: [2, 3], scalars: [-30, -1, 0, 0.5, 2, 40])
        let targets = Tensor(shape: [2, 3], scalars: [0, 1, 0.3, 1, 0, 1])
        // −t·log σ(x) − (1 − t)·log(1 − σ(x)) = log(1 + eˣ) − t·x
        let expected =
            zip(logits.scalars, targets.scalars).reduce(0.0) { total, pair in
                let (x, t) = (Double(pair.0), Double(pair.1))
                return total + (max(x, 0) + log1p(exp(-abs(x)))) - t * x
            } / 6
        let (loss, gradient) = binaryCrossEntropyWithLogits(logits: logits, targets: targets)
        XCTAssertEqual(Double(loss), expected, accuracy: 1e-6 * max(1, expected))
        let expectedGradient = zip(logits.scalars, targets.scalars).map { x, t -> Float in
            let probability = 1 / (1 + exp(-Double(x)))
            return Float((probability - Double(t)) / 6)
        }
        assertClose(gradient.scalars, expectedGradient, rtol: 1e-5, atol: 1e-7)
    }

    func testBinaryCrossEntropyConstantTarget() {
        let logits = Tensor.randomNormal([3, 1], using: &rng)
        for target: Float in [0, 1] {
            let constant = binaryCrossEntropyWithLogits(logits: logits, target: target)
            let full = binaryCrossEntropyWithLogits(logits: logits, targets: Tensor(repeating: target, shape: [3, 1]))
            XCTAssertEqual(constant.loss, full.loss)
            XCTAssertEqual(constant.gradient, full.gradient)
        }
    }

    func testBinaryCrossEntropyWithLogitsGradient() {
        let logits = Tensor.randomNormal([3, 4], std: 2, using: &rng)
        let targets = Tensor.randomUniform([3, 4], using: &rng)
        let report = GradientCheck().run(input: logits, lossAsFunction { binaryCrossEntropyWithLogits(logits: $0, targets: targets) })
        assertGradientsMatch(report)
    }

    func testMeanSquaredErrorValueAndGradient() {
        let predictions = Tensor(shape: [2, 2], scalars: [1, 2, 3, 4])
        let targets = Tensor(shape: [2, 2], scalars: [0, 2, 5, 3.5])
        let (loss, gradient) = meanSquaredError(predictions: predictions, targets: targets)
        XCTAssertEqual(loss, (1 + 0 + 4 + 0.25) / 4)
        XCTAssertEqual(gradient.scalars, [0.5, 0, -1, 0.25])

        let x = Tensor.randomNormal([3, 5], using: &rng)
        let t = Tensor.randomNormal([3, 5], using: &rng)
        assertGradientsMatch(GradientCheck().run(input: x, lossAsFunction { meanSquaredError(predictions: $0, targets: t) }))
    }
}

/// The GAN source losses: hinge values from the definition, gradients against finite differences
/// (logits kept away from the hinge's kink at ±1), and each side's sign.
final class GANLossTests: XCTestCase {
    private var rng = SeededGenerator(seed: 410)

    /// Values 0.1 or more away from ±1, where the hinge bends.
    private func awayFromKinks(_ shape: [Int]) -> Tensor {
        Tensor.randomNormal(shape, std: 2, using: &rng).map { abs(abs($0) - 1) < 0.1 ? $0 + 0.25 : $0 }
    }

    func testHingeValues() {
        let logits = Tensor(shape: [4, 1], scalars: [2, 0.5, -0.5, -3])
        XCTAssertEqual(hingeLoss(logits: logits, sign: 1).loss, (0 + 0.5 + 1.5 + 4) / 4)
        XCTAssertEqual(hingeLoss(logits: logits, sign: -1).loss, (3 + 1.5 + 0.5 + 0) / 4)
        XCTAssertEqual(hingeLoss(logits: logits, sign: 1).gradient.scalars, [0, -0.25, -0.25, -0.25])
        XCTAssertEqual(GANLoss.hinge.generator(logits).loss, -(2 + 0.5 - 0.5 - 3) / 4)
    }

    func testEverySideGradient() {
        let logits = awayFromKinks([6, 1])
        for loss in GANLoss.allCases {
            let sides: [(String, (Tensor) -> (Float, Tensor))] = [
                ("real", { loss.discriminatorReal($0) }), ("fake", { loss.discriminatorFake($0) }), ("generator", { loss.generator($0) }),
            ]
            for (side, function) in sides {
                assertGradientsMatch(GradientCheck().run(input: logits, lossAsFunction(function)), "\(loss) \(side)")
            }
        }
    }

    /// Each side pushes the right way: lowering the loss raises real logits and lowers fake ones
    /// for the discriminator, and raises fake logits for the generator.
    func testSidesPushTheRightWay() {
        let logits = Tensor(shape: [2, 1], scalars: [0.2, -0.3])
        for loss in GANLoss.allCases {
            XCTAssertTrue(loss.discriminatorReal(logits).gradient.scalars.allSatisfy { $0 < 0 }, "\(loss) real")
            XCTAssertTrue(loss.discriminatorFake(logits).gradient.scalars.allSatisfy { $0 > 0 }, "\(loss) fake")
            XCTAssertTrue(loss.generator(logits).gradient.scalars.allSatisfy { $0 < 0 }, "\(loss) generator")
        }
    }
}
