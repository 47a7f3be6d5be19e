import AdvModels
import AdvNN
import AdvTensor
import TestSupport
import XCTest

@testable import AdvAttacks

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
            var plus = x
            var minus = x
            plus.scalars[i] += h
            minus.scalars[i] -= h
            let up = (l2Normalize(plus).0 * r).sum()
            let down = (l2Normalize(minus).0 * r).sum()
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
            let projected = projectToEmbeddingBall(
                embedding, clean: clean, candidate: far, cleanEmbeddings: reference, eps: eps, bisectionSteps: 12)
            let distances = embeddingDistances(embedding, projected, reference)
            for (i, d) in distances.enumerated() {
                XCTAssertLessThanOrEqual(d, eps * (1 + 1e-5), "example \(i) left the ball at ε_e \(eps)")
            }
            XCTAssertTrue(projected.scalars.allSatisfy { $0 >= 0 && $0 <= 1 })
        }
        let inside = projectToEmbeddingBall(
            embedding, clean: clean, candidate: clean, cleanEmbeddings: reference, eps: 0.1, bisectionSteps: 12)
        XCTAssertEqual(inside, clean)
    }

    func testEmbeddingPGDKeepsItsConstraintAndReportsTrueSuccess() throws {
        let f = try AttackFixture.require()
        var rng = SeededGenerator(seed: 43)
        let embedding = TripletEmbedding(dimension: 8, using: &rng)
        let images = f.images.slice(0..<8)
        let labels = Array(f.labels[0..<8])
        let config = EmbeddingPGDConfig(epsEmbedding: 0.3, stepSize: 0.02, steps: 10)
        let outcome = embeddingPGD(model: f.model, embedding: embedding, images01: images, labels: labels, config: config)
        let distances = embeddingDistances(embedding, outcome.adversarialImages, embedding.embed(images))
        for d in distances { XCTAssertLessThanOrEqual(d, 0.3 * (1 + 1e-5)) }
        let predictions = f.model.predict(outcome.adversarialImages)
        for (i, result) in outcome.results.enumerated() { XCTAssertEqual(result.success, predictions[i] != labels[i]) }
    }

    /// With ε_e = 2, the diameter of the unit sphere, the ball holds every image, so embedding PGD
    /// is IGS without an L∞ bound: it must fool exactly the images that `gradientAttack` fools with
    /// ε = 1 and no random start, with the same images, and that known rate is high on the
    /// logistic-regression fixture.
    ///
    /// Mutant: a no-op attack (`projectToEmbeddingBall` returning `clean`) was planted and failed
    /// this test (success rate 0.0625, the fixture's error on these 16 clean images, against 1.0 for
    /// IGS); it was then removed.
    func testWithABallHoldingEveryImageItIsIGSAndReachesItsSuccessRate() throws {
        let f = try AttackFixture.require()
        var rng = SeededGenerator(seed: 44)
        let embedding = TripletEmbedding(dimension: 8, using: &rng)
        let images = f.images.slice(0..<16)
        let labels = Array(f.labels[0..<16])
        let outcome = embeddingPGD(
            model: f.model, embedding: embedding, images01: images, labels: labels,
            config: EmbeddingPGDConfig(epsEmbedding: 2, stepSize: 0.02, steps: 20))
        var unused = SeededGenerator(seed: 0)
        let igs = gradientAttack(
            model: f.model, images01: images, labels: labels, config: .igs(eps: 1, stepSize: 0.02, steps: 20),
            using: &unused)
        XCTAssertEqual(outcome.results.map(\.success), igs.results.map(\.success), "the same images must be fooled")
        let rate = Double(outcome.results.filter(\.success).count) / Double(labels.count)
        XCTAssertGreaterThanOrEqual(rate, 0.9, "IGS with 20 steps of 0.02 should fool a linear MNIST model almost always")
        // The two projections round differently (x0 + clamp(x − x0) against clip(x)), by a few ulps.
        let fooled = igs.results.indices.filter { igs.results[$0].success }
        assertClose(outcome.adversarialImages.gather(fooled), igs.adversarialImages.gather(fooled), rtol: 0, atol: 1e-5)
    }

    /// With a ball that binds, every image the attack does not fool ends on the ball's boundary
    /// (within the bisection's precision): the projection moves as far as the ball allows.
    ///
    /// Mutant: a no-op attack (`projectToEmbeddingBall` returning `clean`) was planted and failed
    /// this test (every unfooled image at embedding distance 0, against ≥ 0.0198 required); it was
    /// then removed.
    func testImagesItDoesNotFoolEndOnTheBallsBoundary() throws {
        let f = try AttackFixture.require()
        var rng = SeededGenerator(seed: 45)
        let embedding = TripletEmbedding(dimension: 8, using: &rng)
        let images = f.images.slice(0..<16)
        let labels = Array(f.labels[0..<16])
        let eps: Float = 0.02
        let outcome = embeddingPGD(
            model: f.model, embedding: embedding, images01: images, labels: labels,
            config: EmbeddingPGDConfig(epsEmbedding: eps, stepSize: 0.02, steps: 20))
        let distances = embeddingDistances(embedding, outcome.adversarialImages, embedding.embed(images))
        let unfooled = outcome.results.indices.filter { !outcome.results[$0].success }
        XCTAssertGreaterThan(unfooled.count, labels.count / 2, "the ball must bind for most images: \(distances)")
        for i in unfooled {
            XCTAssertLessThanOrEqual(distances[i], eps * (1 + 1e-5), "example \(i) left the ball")
            XCTAssertGreaterThanOrEqual(distances[i], eps * 0.99, "example \(i) stopped inside the ball, short of its boundary")
        }
    }
}
