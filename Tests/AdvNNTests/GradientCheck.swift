import AdvNN
import AdvTensor
import XCTest

/// Central finite-difference check of a value-with-pullback function.
///
/// A fixed random cotangent `r` (standard normal, shaped like the output `y`) turns the function
/// into the scalar `L(x, θ) = Σ r·y`, summed in Double. The pullback's answer `pullback(r)` must
/// match `(L(x + h·eᵢ) − L(x − h·eᵢ)) / 2h` at every checked coordinate `i` of the input, and
/// every parameter's accumulated `gradient` must match the same difference taken by perturbing
/// `parameter.value` in place (and restoring it).
///
/// A coordinate passes when `|analytic − numeric| ≤ absoluteTolerance · scale + relativeTolerance · |numeric|`,
/// where `scale` is the largest |numeric| value of that tensor: errors are judged relative to
/// the size of the tensor's true gradient, so the float32 rounding in `L` (amplified by 1/2h)
/// does not fail small components, while a sign flip or a missing factor fails every coordinate
/// that is not itself negligible. A tensor whose gradient is zero everywhere (numerically and
/// analytically) fails as *vacuous*: such a check could not detect a wrong pullback.
struct GradientCheck {
    /// Finite-difference step `h` (the engine is float32: 1e-2…1e-3 balances truncation and rounding).
    var step: Float = 1e-2
    var relativeTolerance: Double = 2e-2
    var absoluteTolerance: Double = 2e-3
    /// Tensors larger than this are checked on a seeded random subset of coordinates.
    var coordinatesPerTensor = 200
    /// Seeds the cotangent and the coordinate subsets.
    var seed: UInt64 = 0x5EED

    /// Checks `function` at `input`; `parameters` are the ones its pullback should accumulate
    /// into (their gradients are zeroed first and left holding the analytic gradient).
    /// An empty `input` (count 0) checks the parameters alone.
    func run(
        input: Tensor, parameters: [(String, Parameter)] = [],
        _ function: (Tensor) -> (Tensor, Pullback)
    ) -> GradientCheckReport {
        var rng = SeededGenerator(seed: seed)
        for (_, parameter) in parameters { parameter.zeroGradient() }
        let (output, pullback) = function(input)
        let cotangent = Tensor.randomNormal(output.shape, using: &rng)
        let inputGradient = pullback(cotangent)
        var report = GradientCheckReport()
        guard inputGradient.shape == input.shape else {
            report.problems.append("pullback returned shape \(inputGradient.shape) for input \(input.shape)")
            return report
        }

        func objective(_ x: Tensor) -> Double {
            let y = function(x).0
            precondition(y.shape == cotangent.shape, "output shape changed from \(cotangent.shape) to \(y.shape)")
            var total = 0.0
            for (value, weight) in zip(y.scalars, cotangent.scalars) { total += Double(value) * Double(weight) }
            return total
        }

        let h = Double(step)
        if input.count > 0 {
            let numeric = coordinates(input.count, using: &rng).map { index -> (Int, Double) in
                var plus = input
                var minus = input
                plus.scalars[index] += step
                minus.scalars[index] -= step
                return (index, (objective(plus) - objective(minus)) / (2 * h))
            }
            report.results.append(compare("input", analytic: inputGradient.scalars, numeric: numeric))
        }
        for (name, parameter) in parameters {
            let analytic = parameter.gradient.scalars
            let numeric = coordinates(parameter.value.count, using: &rng).map { index -> (Int, Double) in
                let original = parameter.value.scalars[index]
                parameter.value.scalars[index] = original + step
                let plus = objective(input)
                parameter.value.scalars[index] = original - step
                let minus = objective(input)
                parameter.value.scalars[index] = original
                return (index, (plus - minus) / (2 * h))
            }
            report.results.append(compare(name, analytic: analytic, numeric: numeric))
        }
        return report
    }

    /// Every index when there are few, else a seeded random subset of `coordinatesPerTensor`.
    private func coordinates(_ count: Int, using rng: inout SeededGenerator) -> [Int] {
        var indices = Array(0..<count)
        guard count > coordinatesPerTensor else { return indices }
        indices.seededShuffle(using: &rng)
        return Array(indices.prefix(coordinatesPerTensor)).sorted()
    }

    private func compare(_ name: String, analytic: [Float], numeric: [(Int, Double)]) -> GradientCheckReport.TensorResult {
        var scale = 0.0
        var analyticScale = 0.0
        for (index, value) in numeric {
            scale = max(scale, abs(value))
            analyticScale = max(analyticScale, abs(Double(analytic[index])))
        }
        var result = GradientCheckReport.TensorResult(name: name, checked: numeric.count, scale: scale)
        guard scale > 1e-6 || analyticScale > 1e-6 else {
            result.vacuous = true
            return result
        }
        for (index, expected) in numeric {
            let actual = Double(analytic[index])
            let ratio = abs(actual - expected) / (absoluteTolerance * scale + relativeTolerance * abs(expected))
            result.worstRatio = max(result.worstRatio, ratio)
            if !(ratio <= 1) {
                result.failures += 1
                if result.examples.count < 5 { result.examples.append("[\(index)] pullback \(actual) vs finite difference \(expected)") }
            }
        }
        return result
    }
}

/// The outcome of a `GradientCheck`, tensor by tensor.
struct GradientCheckReport: CustomStringConvertible {
    struct TensorResult {
        var name: String
        var checked: Int
        /// Largest |finite difference| seen, the unit of the absolute tolerance.
        var scale: Double
        /// Largest error over its allowance (≤ 1 passes).
        var worstRatio = 0.0
        var failures = 0
        var examples: [String] = []
        var vacuous = false

        var passed: Bool { failures == 0 && !vacuous }
    }

    var results: [TensorResult] = []
    var problems: [String] = []

    var passed: Bool { problems.isEmpty && !results.isEmpty && results.allSatisfy(\.passed) }

    /// The result for one tensor ("input" or a parameter name).
    subscript(_ name: String) -> TensorResult? { results.first { $0.name == name } }

    var description: String {
        var lines = problems
        for result in results {
            if result.vacuous {
                lines.append("\(result.name): gradient is zero at all \(result.checked) checked coordinates (vacuous check)")
            } else if result.failures > 0 {
                lines.append(
                    "\(result.name): \(result.failures) of \(result.checked) coordinates off (worst \(String(format: "%.3g", result.worstRatio))× the tolerance, gradient scale \(String(format: "%.3g", result.scale))): "
                        + result.examples.joined(separator: ", "))
            } else {
                lines.append(
                    "\(result.name): \(result.checked) coordinates within tolerance (worst \(String(format: "%.3g", result.worstRatio))×)")
            }
        }
        return lines.joined(separator: "\n")
    }
}

/// Fails the test, printing the report, unless every checked tensor passed.
func assertGradientsMatch(
    _ report: GradientCheckReport, _ message: @autoclosure () -> String = "",
    file: StaticString = #filePath, line: UInt = #line
) {
    if !report.passed { XCTFail("gradient check failed \(message())\n\(report)", file: file, line: line) }
}

/// Wraps a loss `(value, ∂value/∂input)` as a function with a one-element output, so the
/// gradient checker can treat it like a layer.
func lossAsFunction(_ loss: @escaping (Tensor) -> (Float, Tensor)) -> (Tensor) -> (Tensor, Pullback) {
    { x in
        let (value, gradient) = loss(x)
        return (Tensor(shape: [1], scalars: [value]), { r in gradient * r.scalars[0] })
    }
}
