import AdvNN
import AdvTensor
import Foundation
import TestSupport
import XCTest

/// Adam and SGD against hand computations of their first steps, checkpoint round trips, and
/// Adam learning a small problem for real.
final class OptimizerTests: XCTestCase {
    private let startValues: [Float] = [0.5, -1, 2]
    /// Gradients for steps 1, 2, 3 (fixed, so the expected trajectory is easy to compute).
    private let gradients: [[Float]] = [[0.1, -2, 0.5], [0.3, 1, -0.5], [-0.2, 0.5, 0.25]]

    private func makeParameter() -> Parameter { Parameter(Tensor(shape: [3], scalars: startValues)) }

    private func setGradient(_ parameter: Parameter, step: Int) {
        parameter.gradient = Tensor(shape: [3], scalars: gradients[step])
    }

    /// Adam by the paper, in Double: m ← β₁m + (1−β₁)g, v ← β₂v + (1−β₂)g²,
    /// w ← w − lr·(m / (1 − β₁ᵗ)) / (√(v / (1 − β₂ᵗ)) + ε), with g including the L2 term.
    private func handAdam(steps: Int, learningRate: Double, weightDecay: Double) -> [Double] {
        let (beta1, beta2, epsilon) = (0.9, 0.999, 1e-8)
        var w = startValues.map(Double.init)
        var m = [Double](repeating: 0, count: 3)
        var v = [Double](repeating: 0, count: 3)
        for t in 1...steps {
            for i in 0..<3 {
                let g = Double(gradients[t - 1][i]) + weightDecay * w[i]
                m[i] = beta1 * m[i] + (1 - beta1) * g
                v[i] = beta2 * v[i] + (1 - beta2) * g * g
                let mHat = m[i] / (1 - pow(beta1, Double(t)))
                let vHat = v[i] / (1 - pow(beta2, Double(t)))
                w[i] -= learningRate * mHat / (vHat.squareRoot() + epsilon)
            }
        }
        return w
    }

    func testAdamFirstStepsMatchHandComputation() {
        for weightDecay: Float in [0, 0.1] {
            let parameter = makeParameter()
            let adam = Adam([("w", parameter)], learningRate: 0.01, weightDecay: weightDecay)
            for step in 0..<3 {
                setGradient(parameter, step: step)
                adam.step()
                let expected = handAdam(steps: step + 1, learningRate: 0.01, weightDecay: Double(weightDecay))
                assertClose(
                    parameter.value.scalars, expected.map(Float.init), rtol: 1e-5, atol: 1e-6,
                    "step \(step + 1), weight decay \(weightDecay)")
            }
            XCTAssertEqual(adam.stepCount, 3)
        }
        // Bias correction makes the first step lr·g/|g| (up to ε): exactly lr in size.
        let parameter = makeParameter()
        setGradient(parameter, step: 0)
        Adam([("w", parameter)], learningRate: 0.01).step()
        assertClose(parameter.value.scalars, [0.49, -0.99, 1.99], rtol: 0, atol: 1e-6)
    }

    /// PyTorch's SGD: v ← μv + g (v₁ = g), w ← w − lr·v, or w ← w − lr·(g + μv) with Nesterov.
    func testSGDMomentumMatchesHandComputation() {
        for (nesterov, weightDecay) in [(false, Float(0)), (true, 0), (false, 0.1)] {
            let parameter = makeParameter()
            let sgd = SGD([("w", parameter)], learningRate: 0.1, momentum: 0.9, weightDecay: weightDecay, nesterov: nesterov)
            var w = startValues.map(Double.init)
            var v = [Double](repeating: 0, count: 3)
            for step in 0..<3 {
                setGradient(parameter, step: step)
                sgd.step()
                for i in 0..<3 {
                    let g = Double(gradients[step][i]) + Double(weightDecay) * w[i]
                    v[i] = 0.9 * v[i] + g
                    w[i] -= 0.1 * (nesterov ? g + 0.9 * v[i] : v[i])
                }
                assertClose(
                    parameter.value.scalars, w.map(Float.init), rtol: 1e-5, atol: 1e-6,
                    "step \(step + 1), nesterov \(nesterov), weight decay \(weightDecay)")
            }
        }
        // Two steps by hand: w₁ = 0.5 − 0.1·0.1 = 0.49; v₂ = 0.9·0.1 + 0.3 = 0.39; w₂ = 0.49 − 0.039.
        let parameter = makeParameter()
        let sgd = SGD([("w", parameter)], learningRate: 0.1, momentum: 0.9)
        setGradient(parameter, step: 0)
        sgd.step()
        setGradient(parameter, step: 1)
        sgd.step()
        XCTAssertEqual(parameter.value.scalars[0], 0.451, accuracy: 1e-6)
    }

    /// Saving an optimizer's state after some steps and loading it into a fresh optimizer over a
    /// copy of the parameters gives bit-identical next steps.
    func testStateRoundTripContinuesIdentically() throws {
        let makers: [(String, ([(String, Parameter)]) -> Optimizer)] = [
            ("Adam", { Adam($0, learningRate: 0.01, weightDecay: 0.01) }),
            ("SGD", { SGD($0, learningRate: 0.1, momentum: 0.9, nesterov: true) }),
        ]
        for (name, make) in makers {
            let original = makeParameter()
            let optimizer = make([("w", original)])
            for step in 0..<2 {
                setGradient(original, step: step)
                optimizer.step()
            }

            let state = Dictionary(uniqueKeysWithValues: optimizer.namedState)
            let copy = Parameter(original.value)
            let resumed = make([("w", copy)])
            try resumed.loadState(state)

            setGradient(original, step: 2)
            optimizer.step()
            setGradient(copy, step: 2)
            resumed.step()
            XCTAssertEqual(copy.value, original.value, "\(name) after loadState")
            XCTAssertEqual(resumed.namedState.map(\.0), optimizer.namedState.map(\.0), name)
            XCTAssertEqual(resumed.namedState.map(\.1), optimizer.namedState.map(\.1), name)

            // Without the state the next step differs (so the check above can fail).
            let fresh = Parameter(copy.value)
            let restarted = make([("w", fresh)])
            setGradient(fresh, step: 2)
            restarted.step()
            setGradient(copy, step: 2)
            resumed.step()
            XCTAssertNotEqual(fresh.value, copy.value, "\(name): state made no difference")
        }
    }

    func testLoadStateRejectsMismatchedState() {
        let adam = Adam([("layer.weight", makeParameter())])
        XCTAssertThrowsError(try adam.loadState([:]))
        XCTAssertThrowsError(try adam.loadState(["step": Tensor(shape: [1], scalars: [3])])) { error in
            XCTAssertTrue("\(error)".contains("layer.weight"), "\(error)")
        }
        XCTAssertThrowsError(
            try adam.loadState([
                "step": Tensor(shape: [1], scalars: [3]),
                "exp_avg.layer.weight": Tensor.zeros([4]),
                "exp_avg_sq.layer.weight": Tensor.zeros([4]),
            ])
        ) { error in
            XCTAssertTrue("\(error)".contains("layer.weight"), "\(error)")
        }
        XCTAssertEqual(adam.stepCount, 0, "a failed load changes nothing")

        let sgd = SGD([("layer.bias", makeParameter())], learningRate: 0.1)
        XCTAssertThrowsError(try sgd.loadState(["momentum_buffer.layer.bias": Tensor.zeros([2])])) { error in
            XCTAssertTrue("\(error)".contains("layer.bias"), "\(error)")
        }
    }

    /// Adam on softmax regression over two Gaussian blobs that only an offset line separates
    /// (x + y = 7, far from the origin), starting from all-zero weights (50 % accuracy): it must
    /// reach > 95 % training accuracy within 200 full-batch steps (it gets there in about 50).
    func testAdamLearnsSeparableTwoClassProblem() {
        var rng = SeededGenerator(seed: 500)
        let count = 200
        var points = [Float]()
        var labels = [Int]()
        for i in 0..<count {
            let label = i % 2
            let center: Float = label == 0 ? 3 : 4
            points += [center + 0.25 * rng.nextNormal(), center + 0.25 * rng.nextNormal()]
            labels.append(label)
        }
        let inputs = Tensor(shape: [count, 2], scalars: points)
        let model = Linear(inputSize: 2, outputSize: 2, using: &rng)
        model.weight.value = Tensor.zeros([2, 2])
        model.bias.value = Tensor.zeros([2])
        let adam = Adam(model.namedParameters, learningRate: 0.05)

        func accuracy() -> Double {
            let predictions = model(inputs).argmaxRows()
            return Double(zip(predictions, labels).filter { $0 == $1 }.count) / Double(count)
        }
        XCTAssertEqual(accuracy(), 0.5)
        let initialLoss = softmaxCrossEntropy(logits: model(inputs), labels: labels).loss
        var loss = initialLoss
        for _ in 0..<200 {
            model.zeroGradients()
            let (logits, pullback) = model.forward(inputs, mode: .train)
            let (value, gradient) = softmaxCrossEntropy(logits: logits, labels: labels)
            _ = pullback(gradient)
            adam.step()
            loss = value
        }
        XCTAssertGreaterThan(accuracy(), 0.95, "loss \(initialLoss) → \(loss)")
        XCTAssertLessThan(loss, initialLoss / 2)
    }
}
