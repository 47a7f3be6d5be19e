import AdvNN
import AdvTensor
import Foundation
import TestSupport
import XCTest

/// The DLR losses of APGD (Croce & Hein 2020): values against their definitions in Double,
/// invariance to shifting and scaling the logits, and gradients against finite differences.
final class DLRLossTests: XCTestCase {
    private var rng = SeededGenerator(seed: 401)

    /// [N, 10] logits whose sorted values are ≥ 0.5 apart, so a finite-difference step of 1e-2
    /// never reorders them (DLR is smooth only between reorderings).
    private func separatedLogits(rows: Int) -> Tensor {
        var scalars: [Float] = []
        for _ in 0..<rows {
            var levels = (0..<10).map { Float($0) * 0.7 - 3 }
            levels.seededShuffle(using: &rng)
            scalars += levels.map { $0 + 0.05 * rng.nextNormal() }
        }
        return Tensor(shape: [rows, 10], scalars: scalars)
    }

    /// Row-wise values in Double, sorted decreasingly.
    private func sortedRow(_ logits: Tensor, _ row: Int) -> (values: [Double], sorted: [Double]) {
        let values = logits.scalars[(row * 10)..<((row + 1) * 10)].map(Double.init)
        return (values, values.sorted(by: >))
    }

    func testValuesMatchTheDefinitions() {
        let logits = separatedLogits(rows: 6)
        let labels = [0, 3, 9, 5, 1, 7]
        let targets = [4, 4, 0, 2, 8, 6]
        let untargeted = dlrLossPerExample(logits: logits, labels: labels).losses
        let targeted = targetedDLRLossPerExample(logits: logits, labels: labels, targets: targets).losses
        for row in 0..<6 {
            let (z, s) = sortedRow(logits, row)
            let otherBest = z.indices.filter { $0 != labels[row] }.map { z[$0] }.max() ?? 0
            XCTAssertEqual(Double(untargeted[row]), -(z[labels[row]] - otherBest) / (s[0] - s[2]), accuracy: 1e-5)
            XCTAssertEqual(Double(targeted[row]), -(z[labels[row]] - z[targets[row]]) / (s[0] - 0.5 * (s[2] + s[3])), accuracy: 1e-5)
        }
        // Untargeted DLR is ≥ 0 exactly where the label is not the top logit.
        let predictions = logits.argmaxRows()
        for row in 0..<6 { XCTAssertEqual(untargeted[row] > 0, predictions[row] != labels[row]) }
    }

    /// The point of the ratio: z ↦ a·z + b (a > 0) leaves both losses unchanged.
    func testInvariantToShiftAndScale() {
        let logits = separatedLogits(rows: 4)
        let labels = [2, 5, 7, 0]
        let targets = [3, 3, 1, 9]
        let moved = logits.map { 13 * $0 - 40 }
        assertClose(
            dlrLossPerExample(logits: moved, labels: labels).losses, dlrLossPerExample(logits: logits, labels: labels).losses,
            rtol: 1e-4, atol: 1e-5)
        assertClose(
            targetedDLRLossPerExample(logits: moved, labels: labels, targets: targets).losses,
            targetedDLRLossPerExample(logits: logits, labels: labels, targets: targets).losses, rtol: 1e-4, atol: 1e-5)
    }

    /// Per-example losses as a layer: the returned gradient is that of their sum, so row i of the
    /// pullback of a cotangent r is rᵢ times row i of it.
    private func perExample(_ loss: @escaping (Tensor) -> ([Float], Tensor)) -> (Tensor) -> (Tensor, Pullback) {
        { x in
            let (losses, gradient) = loss(x)
            let k = x.shape[1]
            return (
                Tensor(shape: [losses.count], scalars: losses),
                { r in
                    Tensor(shape: gradient.shape) { out in
                        for i in out.indices { out[i] = gradient.scalars[i] * r.scalars[i / k] }
                    }
                }
            )
        }
    }

    func testUntargetedGradient() {
        let logits = separatedLogits(rows: 5)
        // Labels both at the top logit (the margin then uses the second) and below it.
        let top = logits.argmaxRows()
        let labels = [top[0], (top[1] + 4) % 10, top[2], (top[3] + 7) % 10, 6]
        let check = GradientCheck(step: 1e-2)
        assertGradientsMatch(check.run(input: logits, perExample { dlrLossPerExample(logits: $0, labels: labels) }))
    }

    func testTargetedGradient() {
        let logits = separatedLogits(rows: 5)
        let top = logits.argmaxRows()
        // Targets among the 3rd/4th largest logits too, where one logit enters the loss twice.
        let labels = [top[0], top[1], 3, top[3], 8]
        let targets = (0..<5).map { row -> Int in
            let order = (0..<10).sorted { logits[row, $0] > logits[row, $1] }
            return order[[1, 2, 3, 9, 5][row]] == labels[row] ? order[4] : order[[1, 2, 3, 9, 5][row]]
        }
        let check = GradientCheck(step: 1e-2)
        assertGradientsMatch(
            check.run(
                input: logits,
                perExample {
                    targetedDLRLossPerExample(logits: $0, labels: labels, targets: targets)
                }))
    }
}
