import AdvNN
import AdvTensor
import CLAPACK
import XCTest

/// The ResNet AC-GAN's layers against central finite differences (`GradientCheck`), and
/// spectral normalisation's contract: σ of the normalised weight is 1, and the power iteration
/// finds the largest singular value that LAPACK's SVD gives.
final class ResNetLayerGradientTests: XCTestCase {
    private var rng = SeededGenerator(seed: 300)

    /// Evaluation mode with parameter gradients: u and v stay fixed, so the function is
    /// deterministic and its gradient is the one PyTorch and the paper use (u, v constants).
    static let fixedVectors = ForwardMode(training: false, parameterGradients: true)

    func testSpectralNormConvolution() {
        let layer = SpectralNorm(Conv2d(inputChannels: 2, outputChannels: 3, kernelSize: 3, padding: 1, using: &rng), using: &rng)
        for _ in 0..<3 { _ = layer.forward(Tensor.randomNormal([1, 2, 4, 4], using: &rng), mode: .train) }
        let x = Tensor.randomNormal([2, 2, 5, 4], using: &rng)
        let report = GradientCheck().run(input: x, parameters: layer.namedParameters) { layer.forward($0, mode: Self.fixedVectors) }
        assertGradientsMatch(report)
    }

    func testSpectralNormLinear() {
        let layer = SpectralNorm(Linear(inputSize: 5, outputSize: 4, using: &rng), using: &rng)
        _ = layer.forward(Tensor.randomNormal([2, 5], using: &rng), mode: .train)
        let x = Tensor.randomNormal([3, 5], using: &rng)
        let report = GradientCheck().run(input: x, parameters: layer.namedParameters) { layer.forward($0, mode: Self.fixedVectors) }
        assertGradientsMatch(report)
    }

    /// The same check rejects ∂W = ∂W̄ / σ, the gradient without the projection term −⟨∂W̄, W̄⟩ u vᵀ / σ
    /// (a plausible slip: it treats σ as a constant).
    func testSpectralNormCheckSeesTheProjectionTerm() {
        let layer = SpectralNorm(Linear(inputSize: 4, outputSize: 3, using: &rng), using: &rng)
        _ = layer.forward(Tensor.randomNormal([2, 4], using: &rng), mode: .train)
        let x = Tensor.randomNormal([3, 4], using: &rng)
        let withoutProjection: (Tensor) -> (Tensor, Pullback) = { input in
            let (y, _) = layer.forward(input, mode: Self.fixedVectors)  // sets the inner weight to W̄
            return (
                y,
                { dy in
                    layer.inner.weight.zeroGradient()
                    let dx = layer.inner.forward(input, mode: Self.fixedVectors).1(dy)
                    layer.weightOriginal.gradient += layer.inner.weight.gradient * (1 / layer.sigma)
                    return dx
                }
            )
        }
        let report = GradientCheck().run(input: x, parameters: [("weight_orig", layer.weightOriginal)], withoutProjection)
        XCTAssertFalse(report.passed, "a gradient without the projection term passed: \(report)")
    }

    /// After enough training-mode passes the power iteration converges: σ(W) equals the largest
    /// singular value (by LAPACK's SVD), and the layer's effective weight W/σ has spectral norm 1.
    func testPowerIterationFindsTheLargestSingularValue() throws {
        let layer = SpectralNorm(Conv2d(inputChannels: 3, outputChannels: 5, kernelSize: 3, using: &rng), using: &rng)
        for _ in 0..<200 { _ = layer.forward(Tensor.randomNormal([1, 3, 3, 3], using: &rng), mode: .train) }
        let w = layer.weightOriginal.value
        let largest = try XCTUnwrap(singularValues(w.scalars, rows: 5, columns: 27).first)
        XCTAssertEqual(Double(layer.sigma), largest, accuracy: 1e-4 * largest)
        let effective = try XCTUnwrap(singularValues(layer.inner.weight.value.scalars, rows: 5, columns: 27).first)
        XCTAssertEqual(effective, 1, accuracy: 1e-4)
    }

    func testUpsampleNearest() {
        let layer = Upsample2d(factor: 2)
        let x = Tensor.randomNormal([2, 3, 3, 2], using: &rng)
        let (y, _) = layer.forward(x, mode: .eval)
        XCTAssertEqual(y.shape, [2, 3, 6, 4])
        XCTAssertEqual(y[1, 2, 5, 3], x[1, 2, 2, 1])
        XCTAssertEqual(y[0, 1, 2, 1], x[0, 1, 1, 0])
        assertGradientsMatch(GradientCheck().run(input: x) { layer.forward($0, mode: .train) })
        // The general path (factor 3) against the definition y[i, j] = x[i / 3, j / 3].
        let three = Upsample2d(factor: 3)
        let y3 = three.forward(x, mode: .eval).0
        XCTAssertEqual(y3.shape, [2, 3, 9, 6])
        for i in 0..<9 { for j in 0..<6 { XCTAssertEqual(y3[1, 1, i, j], x[1, 1, i / 3, j / 3]) } }
        assertGradientsMatch(GradientCheck().run(input: x) { three.forward($0, mode: .train) })
    }

    func testConditionalBatchNormTrainingMode() {
        let layer = ConditionalBatchNorm(channels: 2, classCount: 4)
        layer.scale.value = Tensor.randomNormal([4, 2], mean: 1, std: 0.5, using: &rng)
        layer.shift.value = Tensor.randomNormal([4, 2], using: &rng)
        let classes = [3, 0, 3]
        let x = Tensor.randomNormal([3, 2, 3, 2], mean: 0.5, std: 2, using: &rng)
        let report = GradientCheck().run(input: x, parameters: layer.namedParameters) {
            layer.forward($0, classes: classes, mode: .train)
        }
        assertGradientsMatch(report)
        // Classes 1 and 2 are never asked for: exactly zero gradient in their rows.
        XCTAssertEqual(Array(layer.scale.gradient.scalars[2..<6]), [0, 0, 0, 0])
    }

    /// Two examples with the same input but different classes differ exactly by their classes' affine maps.
    func testConditionalBatchNormUsesEachExamplesClass() {
        let layer = ConditionalBatchNorm(channels: 1, classCount: 2)
        layer.scale.value = Tensor(shape: [2, 1], scalars: [2, -1])
        layer.shift.value = Tensor(shape: [2, 1], scalars: [0.5, 3])
        let x = Tensor(shape: [2, 1, 1, 2], scalars: [1, 3, 1, 3])
        let y = layer.forward(x, classes: [0, 1], mode: .train).0
        // Batch statistics over all four values: mean 2, variance 1, so x̂ = −1, 1, −1, 1.
        let expected: [Float] = [2 * -1 + 0.5, 2 * 1 + 0.5, -1 * -1 + 3, -1 * 1 + 3]
        for (value, target) in zip(y.scalars, expected) { XCTAssertEqual(value, target, accuracy: 1e-4) }
    }
}

/// Singular values of a row-major `rows × columns` matrix, largest first, by LAPACK's `dgesdd`.
func singularValues(_ matrix: [Float], rows: Int, columns: Int) -> [Double] {
    var a = matrix.map(Double.init)
    var s = [Double](repeating: 0, count: min(rows, columns))
    var u = [Double](repeating: 0, count: rows * rows)
    var vt = [Double](repeating: 0, count: columns * columns)
    let info = LAPACKE_dgesdd(
        LAPACK_ROW_MAJOR, Int8(UInt8(ascii: "N")), Int32(rows), Int32(columns), &a, Int32(columns),
        &s, &u, Int32(rows), &vt, Int32(columns))
    precondition(info == 0, "dgesdd failed: \(info)")
    return s
}
