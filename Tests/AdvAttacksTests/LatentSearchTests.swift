@testable import AdvAttacks
import AdvModels
import AdvNN
import AdvTensor
import TestSupport
import XCTest

final class LatentSearchTests: XCTestCase {
    /// Untrained but deterministic networks: the contracts below do not depend on training.
    func makeNetworks(seed: UInt64 = 21) -> (ACGANGenerator, ACGANDiscriminator, LogisticRegression) {
        var rng = SeededGenerator(seed: seed)
        return (ACGANGenerator(latentSize: 8, using: &rng), ACGANDiscriminator(using: &rng), LogisticRegression(using: &rng))
    }

    /// The objective's gradient with respect to z against central finite differences, with the
    /// penalty active on some coordinates and the noise-augmented variant on.
    func testObjectiveGradientMatchesFiniteDifferences() {
        let (generator, discriminator, classifier) = makeNetworks()
        var rng = SeededGenerator(seed: 22)
        let z0 = Tensor.randomNormal([2, 8], using: &rng)
        var z = z0
        for j in 0..<4 { z.scalars[j] += 0.5 }   // outside the ε_z box on four coordinates
        var config = LatentSearchConfig()
        config.lambda1 = 3; config.lambda2 = 2; config.noiseEps = 0.1
        let tau = Tensor.randomNormal([2, 1, 28, 28], std: 0.5, using: &rng)
        let sources = [3, 7], targets = [5, 1]
        func total(_ z: Tensor) -> Double {
            Double(latentSearchObjective(generator: generator, discriminator: discriminator, classifier: classifier, z: z, z0: z0,
                                         tau: tau, sources: sources, targets: targets, config: config).losses.reduce(0, +))
        }
        let analytic = latentSearchObjective(generator: generator, discriminator: discriminator, classifier: classifier, z: z, z0: z0,
                                             tau: tau, sources: sources, targets: targets, config: config).dz
        let h: Float = 1e-2
        var numeric = Tensor.zeros(like: z)
        for i in 0..<z.count {
            var plus = z, minus = z
            plus.scalars[i] += h; minus.scalars[i] -= h
            numeric.scalars[i] = Float((total(plus) - total(minus)) / Double(2 * h))
        }
        assertClose(analytic, numeric, rtol: 3e-2, atol: 3e-3 * max(1, numeric.maxAbs()))
        XCTAssertGreaterThan(numeric.maxAbs(), 1e-3, "a zero gradient would make this check vacuous")
    }

    func testBoxPenaltyIsZeroInsideAndGrowsOutside() {
        let (generator, discriminator, classifier) = makeNetworks()
        var rng = SeededGenerator(seed: 23)
        let z0 = Tensor.randomNormal([1, 8], using: &rng)
        var config = LatentSearchConfig()
        config.lambda2 = 0
        func loss(_ shift: Float, lambda1: Float) -> Float {
            var c = config
            c.lambda1 = lambda1
            return latentSearchObjective(generator: generator, discriminator: discriminator, classifier: classifier, z: z0 + shift, z0: z0,
                                         tau: nil, sources: [2], targets: [4], config: c).losses[0]
        }
        // The penalty is the difference of the objective with and without λ1.
        func penalty(_ shift: Float) -> Float { loss(shift, lambda1: 100) - loss(shift, lambda1: 0) }
        XCTAssertEqual(penalty(0), 0, accuracy: 1e-5)
        XCTAssertEqual(penalty(0.09), 0, accuracy: 1e-5, "inside |z − z0| ≤ ε_z = 0.1 the penalty is zero")
        XCTAssertEqual(penalty(0.2), 100 * (0.04 - 0.01), accuracy: 1e-3)
        XCTAssertGreaterThan(penalty(0.3), penalty(0.2))
    }

    func testSuccessRuleRejectsAnAuxiliaryRelabel() {
        XCTAssertTrue(isUnrestrictedSuccess(classifierPrediction: 5, auxiliaryPrediction: 3, source: 3, target: 5))
        XCTAssertFalse(isUnrestrictedSuccess(classifierPrediction: 5, auxiliaryPrediction: 5, source: 3, target: 5),
                       "the auxiliary classifier relabelled the image: not a success")
        XCTAssertFalse(isUnrestrictedSuccess(classifierPrediction: 4, auxiliaryPrediction: 3, source: 3, target: 5))
        XCTAssertTrue(isUnrestrictedSuccess(classifierPrediction: 4, auxiliaryPrediction: 3, source: 3, target: nil))
        XCTAssertFalse(isUnrestrictedSuccess(classifierPrediction: 3, auxiliaryPrediction: 3, source: 3, target: nil))
    }

    func testSameSeedSameExamplesAndRecordsAgreeWithTheModels() {
        let (generator, discriminator, classifier) = makeNetworks()
        var config = LatentSearchConfig()
        config.steps = 5
        var a = SeededGenerator(seed: 24), b = SeededGenerator(seed: 24)
        let first = latentSearch(generator: generator, discriminator: discriminator, classifier: classifier, sources: [1, 2, 3],
                                 targets: [4, 5, 6], config: config, using: &a)
        let second = latentSearch(generator: generator, discriminator: discriminator, classifier: classifier, sources: [1, 2, 3],
                                  targets: [4, 5, 6], config: config, using: &b)
        XCTAssertEqual(first.images, second.images)
        XCTAssertEqual(first.records.map(\.z), second.records.map(\.z))
        // Every record's predictions are those of the models on the returned image.
        let predictions = classifier.predict(first.images)
        let auxiliary = AuxiliaryClassifier(discriminator).predict(first.images)
        for (i, record) in first.records.enumerated() {
            XCTAssertEqual(record.classifierPrediction, predictions[i])
            XCTAssertEqual(record.auxiliaryPrediction, auxiliary[i])
            XCTAssertEqual(record.success, isUnrestrictedSuccess(classifierPrediction: predictions[i], auxiliaryPrediction: auxiliary[i],
                                                                 source: record.source, target: record.target))
        }
    }
}
