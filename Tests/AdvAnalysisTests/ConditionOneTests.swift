import AdvAnalysis
import AdvTensor
import XCTest

/// SSIM against scikit-image, and the condition-(1) proxies on perturbations whose answer is known.
final class ConditionOneTests: XCTestCase {
    /// The three fixtures used for the scikit-image reference values below.
    func fixtures() -> (smooth: Tensor, smoothShifted: Tensor, block: Tensor, blockChecker: Tensor) {
        var smooth = [Float]()
        var shifted = [Float]()
        var block = [Float]()
        var checker = [Float]()
        for i in 0..<28 {
            for j in 0..<28 {
                let x = (sin(Double(i) * 0.7 + Double(j) * 0.3) + 1) / 2
                smooth.append(Float(x))
                shifted.append(Float(min(1, max(0, x + 0.2 * cos(Double(i) * 1.3 - Double(j) * 0.5)))))
                let z: Double = (8..<20).contains(i) && (10..<18).contains(j) ? 1 : 0
                block.append(Float(z))
                checker.append(Float(min(1, z + 0.3 * Double((i + j) % 2))))
            }
        }
        func image(_ values: [Float]) -> Tensor { Tensor(shape: [1, 1, 28, 28], scalars: values) }
        return (image(smooth), image(shifted), image(block), image(checker))
    }

    /// Reference values from scikit-image 0.25 (`structural_similarity(a, b, data_range=1,
    /// gaussian_weights=True, sigma=1.5, use_sample_covariance=False)`) on the same arrays.
    func testSSIMMatchesScikitImage() {
        let f = fixtures()
        XCTAssertEqual(SSIM.similarities(f.smooth, f.smoothShifted)[0], 0.9118110082677842, accuracy: 1e-5)
        XCTAssertEqual(SSIM.similarities(f.block, f.blockChecker)[0], 0.5548458843857199, accuracy: 1e-5)
        XCTAssertEqual(SSIM.similarities(f.smooth, f.smooth)[0], 1, accuracy: 1e-9)
        // Batched rows are independent of their neighbours.
        let batch = SSIM.similarities(Tensor.concatenate([f.smooth, f.block]), Tensor.concatenate([f.smoothShifted, f.blockChecker]))
        XCTAssertEqual(batch[0], 0.9118110082677842, accuracy: 1e-5)
        XCTAssertEqual(batch[1], 0.5548458843857199, accuracy: 1e-5)
    }

    func testProxiesSeparateAVisibleBackgroundPerturbationFromAnInkOnlyOne() {
        let block = fixtures().block
        // ±0.3 on every pixel (background included): the proxies must call it visible.
        var noisy = block.scalars
        for i in noisy.indices { noisy[i] = min(1, max(0, noisy[i] + (i % 3 == 0 ? 0.3 : -0.3))) }
        // Dimming the stroke slightly: no background pixel changes, SSIM stays high.
        let dimmed = block.scalars.map { $0 == 1 ? Float(0.97) : $0 }
        let clean = Tensor.concatenate([block, block])
        let adversarial = Tensor(shape: [2, 1, 28, 28], scalars: noisy + dimmed)
        let measurements = ConditionOneMeasurements(
            clean: clean, adversarial: adversarial, labels: [3, 4], success: [true, true],
            knnLabels: [3, 4], referenceLabels: [5, 4])
        let noisyValues = measurements.values([0])
        let dimmedValues = measurements.values([1])
        XCTAssertEqual(noisyValues.background_changed, 1.0 / 3.0, accuracy: 0.01, "only the +0.3 pixels survive clipping at 0")
        XCTAssertEqual(dimmedValues.background_changed, 0)
        XCTAssertEqual(dimmedValues.ink_change, -0.03, accuracy: 1e-6)
        XCTAssertLessThan(noisyValues.ssim, 0.6)
        XCTAssertGreaterThan(dimmedValues.ssim, 0.99)
        XCTAssertEqual(noisyValues.reference_keeps_source, 0)
        XCTAssertEqual(dimmedValues.reference_keeps_source, 1)
        XCTAssertFalse(ConditionOneMeasurements.verdict(noisyValues, rule: .init()).holds)
        XCTAssertTrue(ConditionOneMeasurements.verdict(dimmedValues, rule: .init()).holds)
        let report = measurements.report()
        XCTAssertEqual(report.per_class_holds[3], false)
        XCTAssertEqual(report.per_class_holds[4], true)
        XCTAssertEqual(report.per_class_holds[0], false, "a class without examples has no evidence either way")
    }

    func testKNNThatSeesAnotherClassBreaksTheVerdict() {
        let block = fixtures().block
        let measurements = ConditionOneMeasurements(clean: block, adversarial: block, labels: [2], success: [true], knnLabels: [7])
        let values = measurements.values([0])
        XCTAssertEqual(values.knn_keeps_source, 0)
        let verdict = ConditionOneMeasurements.verdict(values, rule: .init())
        XCTAssertFalse(verdict.holds)
        XCTAssertTrue(verdict.reasons.first?.contains("k-NN") ?? false, "the reason names the failing proxy: \(verdict.reasons)")
    }
}
