@testable import AdvAttacks
import AdvModels
import AdvNN
import AdvTensor
import TestSupport
import XCTest

final class EmbeddingPGDTests: XCTestCase {
    func testL2NormalizeOutputsUnitRowsAndItsPullbackMatchesFiniteDifferences() {
        var rng = SeededGenerator(seed: 41)
        let x = Tensor.randomNormal([3, 5], using: &rng)
        let r = Tensor.randomNormal([3, 5], using: &rng)
        let (y, pullback) = l2Normalize(x)
        for row in 0..<3 {
            XCTAssertEqual((0..<5).reduce(Float(0)) { $0 + y.scalars[row * 5 + $1] * y.scalars[row * 5 + $1] }, 1, accuracy: 1e-5)
        }
        let analytic = pullback(r)
        var numeric = Tensor.zeros(like: x)
        let h: Float = 1e-3
        for i in 0..<x.count {
            var plus = x, minus = x
            plus.scalars[i] += h; minus.scalars[i] -= h
            let up = (l2Normalize(plus).0 * r).sum(), down = (l2Normalize(minus).0 * r).sum()
            numeric.scalars[i] = Float((up - down) / Double(2 * h))
        }
        assertClose(analytic, numeric, rtol: 2e-2, atol: 2e-3)
    }

    /// The projection never leaves the embedding ball, and leaves points inside it alone.
    func testProjectionStaysInsideTheEmbeddingBall() {
        var rng = SeededGenerator(seed: 42)
        let embedding = TripletEmbedding(dimension: 8, using: &rng)
        let clean = Tensor.randomUniform([6, 1, 28, 28], using: &rng)
        let far = Tensor.randomUniform([6, 1, 28, 28], using: &rng)
        let reference = embedding.embed(clean)
        for eps: Float in [0.05, 0.2] {
            let projected = projectToEmbeddingBall(embedding, clean: clean, candidate: far, cleanEmbeddings: reference, eps: eps, bisectionSteps: 12)
            let distances = embeddingDistances(embedding, projected, reference)
            for (i, d) in distances.enumerated() { XCTAssertLessThanOrEqual(d, eps * (1 + 1e-5), "example \(i) left the ball at ε_e \(eps)") }
            XCTAssertTrue(projected.scalars.allSatisfy { $0 >= 0 && $0 <= 1 })
        }
        let inside = projectToEmbeddingBall(embedding, clean: clean, candidate: clean, cleanEmbeddings: reference, eps: 0.1, bisectionSteps: 12)
        XCTAssertEqual(inside, clean)
    }

    func testEmbeddingPGDKeepsItsConstraintAndReportsTrueSuccess() throws {
        let f = try AttackFixture.require()
        var rng = SeededGenerator(seed: 43)
        let embedding = TripletEmbedding(dimension: 8, using: &rng)
        let images = f.images.slice(0..<8), labels = Array(f.labels[0..<8])
        let config = EmbeddingPGDConfig(epsEmbedding: 0.3, stepSize: 0.02, steps: 10)
        let outcome = embeddingPGD(model: f.model, embedding: embedding, images01: images, labels: labels, config: config)
        let distances = embeddingDistances(embedding, outcome.adversarialImages, embedding.embed(images))
        for d in distances { XCTAssertLessThanOrEqual(d, 0.3 * (1 + 1e-5)) }
        let predictions = f.model.predict(outcome.adversarialImages)
        for (i, result) in outcome.results.enumerated() { XCTAssertEqual(result.success, predictions[i] != labels[i]) }
    }
}
