import AdvNN
import AdvTensor
import XCTest

/// Central finite differences against a pullback, for whole models (the idea of
/// Tests/AdvNNTests/GradientCheck.swift, which another test target cannot import, extended for
/// the kinks of big piecewise-linear networks).
///
/// With a fixed cotangent `r`, `L(x) = Σ r·f(x)` (summed in Double). The pullback's `pullback(r)`
/// at coordinate `i` must match `(L(x + h·eᵢ) − L(x − h·eᵢ)) / 2h` within
/// `allowance = absoluteTolerance · scale + relativeTolerance · |numeric|`, where `scale` is the
/// largest |numeric| over the checked coordinates: float32 round-off amplified by 1/2h does not
/// fail small components, while a wrong rule fails every coordinate that is not negligible.
///
/// Kinks: a model with thousands of (Leaky)ReLU units is piecewise linear, and a step of ±h
/// along one coordinate sometimes crosses a unit's kink; the central difference then mixes two
/// slopes and says nothing about the pullback. Such a coordinate shows itself without looking
/// at the pullback: its one-sided slopes `(L(x+h) − L(x))/h` and `(L(x) − L(x−h))/h` disagree
/// by more than twice the allowance. It is skipped and counted; the check fails when more than
/// `maximumKinkFraction` of the coordinates are skipped, so kinks cannot hide a wrong pullback.
///
/// Through many layers the kinks are so dense (every unit of an example moves with each latent
/// coordinate) that the function looks slightly curved at any usable step, and each coordinate
/// can only be held to a few percent. A pullback that is off by a few percent everywhere is
/// still caught by the least-squares slope of numeric on analytic over the coordinates, which
/// must be 1 within `slopeTolerance`: the kinks' errors scatter, they do not scale.
struct FiniteDifferenceCheck {
    var step: Float = 1e-3
    var relativeTolerance = 3e-2
    var absoluteTolerance = 3e-2
    /// Correct pullbacks of the AC-GAN give slopes within 0.9 % of 1 (latent steps, four seeds);
    /// one 3 % too large gives slopes 2–3 % off.
    var slopeTolerance = 1.5e-2
    var maximumKinkFraction = 0.25

    struct Report: CustomStringConvertible {
        var checked = 0
        var kinks = 0
        var maximumKinkFraction = 0.25
        var slopeTolerance = 1.5e-2
        var scale = 0.0
        /// Least-squares slope of the finite differences on the pullback's values: 1 when they agree.
        var slope = 1.0
        var mismatches: [String] = []
        var worstRatio = 0.0
        /// The check could not have failed: the gradient is zero at every checked coordinate.
        var vacuous: Bool { scale < 1e-7 }
        var tooManyKinks: Bool { Double(kinks) > maximumKinkFraction * Double(checked) }
        var slopeOff: Bool { !(abs(slope - 1) <= slopeTolerance) }
        var passed: Bool { checked > 0 && !vacuous && !tooManyKinks && !slopeOff && mismatches.isEmpty }
        var description: String {
            "\(checked) coordinates (\(kinks) skipped at kinks), gradient scale \(String(format: "%.3g", scale)), "
                + "worst \(String(format: "%.3g", worstRatio))× the tolerance, slope \(String(format: "%.4f", slope))"
                + (slopeOff ? " (slope off by more than \(slopeTolerance))" : "")
                + (vacuous ? " (vacuous: zero gradient)" : "")
                + (tooManyKinks ? " (too many kinks to judge)" : "")
                + (mismatches.isEmpty ? "" : "; mismatches: " + mismatches.prefix(5).joined(separator: ", "))
        }
    }

    /// One coordinate's central difference and the gap between its two one-sided slopes.
    struct Difference {
        var central: Double
        var oneSidedGap: Double
    }

    /// The differences of `L_r(x) = Σ r·f(x)` at `coordinates` of `input`, one array per cotangent
    /// `r`; all cotangents share the same `2·coordinates.count + 1` evaluations of `function`.
    func differences(input: Tensor, coordinates: [Int], cotangents: [Tensor], _ function: (Tensor) -> Tensor) -> [[Difference]] {
        func objectives(_ x: Tensor) -> [Double] {
            let y = function(x)
            return cotangents.map { r in
                precondition(r.shape == y.shape, "cotangent \(r.shape) for output \(y.shape)")
                return zip(y.scalars, r.scalars).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
            }
        }
        let h = Double(step)
        let center = objectives(input)
        var result = [[Difference]](repeating: [], count: cotangents.count)
        for index in coordinates {
            var plus = input
            var minus = input
            plus.scalars[index] += step
            minus.scalars[index] -= step
            let (above, below) = (objectives(plus), objectives(minus))
            for k in cotangents.indices {
                result[k].append(
                    Difference(
                        central: (above[k] - below[k]) / (2 * h),
                        oneSidedGap: abs((above[k] - center[k]) / h - (center[k] - below[k]) / h)))
            }
        }
        return result
    }

    /// Judges a pullback's values `analytic` (shaped like the input) against `differences` taken
    /// at `coordinates`.
    func judge(_ analytic: Tensor, coordinates: [Int], differences: [Difference]) -> Report {
        var report = Report(checked: coordinates.count, maximumKinkFraction: maximumKinkFraction, slopeTolerance: slopeTolerance)
        report.scale = differences.map { abs($0.central) }.max() ?? 0
        var numericTimesAnalytic = 0.0
        var analyticSquared = 0.0
        for (index, difference) in zip(coordinates, differences) {
            let allowance = absoluteTolerance * report.scale + relativeTolerance * abs(difference.central) + 1e-12
            if difference.oneSidedGap > 2 * allowance {
                report.kinks += 1
                continue
            }
            let actual = Double(analytic.scalars[index])
            numericTimesAnalytic += difference.central * actual
            analyticSquared += actual * actual
            let ratio = abs(actual - difference.central) / allowance
            report.worstRatio = max(report.worstRatio, ratio)
            if !(ratio <= 1) { report.mismatches.append("[\(index)] pullback \(actual) vs finite difference \(difference.central)") }
        }
        report.slope = analyticSquared > 0 ? numericTimesAnalytic / analyticSquared : .nan
        return report
    }

    /// Compares `pullback(r)` with central differences at `coordinates` of `input`, one report per
    /// cotangent `r` (the evaluations are shared).
    func run(input: Tensor, coordinates: [Int], cotangents: [Tensor], _ function: (Tensor) -> (Tensor, Pullback)) -> [Report] {
        let pullback = function(input).1
        let numeric = differences(input: input, coordinates: coordinates, cotangents: cotangents) { function($0).0 }
        return zip(cotangents, numeric).map { cotangent, differences in
            let analytic = pullback(cotangent)
            precondition(analytic.shape == input.shape, "pullback returned \(analytic.shape) for input \(input.shape)")
            return judge(analytic, coordinates: coordinates, differences: differences)
        }
    }

    /// `run` with one cotangent.
    func run(input: Tensor, coordinates: [Int], cotangent: Tensor, _ function: (Tensor) -> (Tensor, Pullback)) -> Report {
        run(input: input, coordinates: coordinates, cotangents: [cotangent], function)[0]
    }
}

/// Fails unless the report passed (and is not vacuous).
func assertPasses(_ report: FiniteDifferenceCheck.Report, _ message: String, file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertTrue(report.passed, "\(message): \(report)", file: file, line: line)
}

/// `count` distinct coordinates in `0..<total`, drawn with a seeded generator.
func sampledCoordinates(_ count: Int, of total: Int, seed: UInt64) -> [Int] {
    var rng = SeededGenerator(seed: seed)
    var all = Array(0..<total)
    all.seededShuffle(using: &rng)
    return Array(all.prefix(count)).sorted()
}

/// `[N, a] ++ [N, b] -> [N, a + b]` and back, to check two heads as one output.
func joinColumns(_ left: Tensor, _ right: Tensor) -> Tensor {
    let n = left.shape[0]
    let a = left.shape[1]
    let b = right.shape[1]
    var scalars: [Float] = []
    scalars.reserveCapacity(n * (a + b))
    for row in 0..<n {
        scalars += left.scalars[(row * a)..<((row + 1) * a)]
        scalars += right.scalars[(row * b)..<((row + 1) * b)]
    }
    return Tensor(shape: [n, a + b], scalars: scalars)
}

func splitColumns(_ joined: Tensor, first a: Int) -> (Tensor, Tensor) {
    let n = joined.shape[0]
    let total = joined.shape[1]
    let b = total - a
    var left: [Float] = []
    var right: [Float] = []
    for row in 0..<n {
        left += joined.scalars[(row * total)..<(row * total + a)]
        right += joined.scalars[(row * total + a)..<((row + 1) * total)]
    }
    return (Tensor(shape: [n, a], scalars: left), Tensor(shape: [n, b], scalars: right))
}
