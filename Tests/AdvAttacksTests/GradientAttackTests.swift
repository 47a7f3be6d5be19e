@testable import AdvAttacks
import AdvModels
import AdvTensor
import TestSupport
import XCTest

final class GradientAttackTests: XCTestCase {
    func testFixtureModelReallyClassifies() throws {
        let f = try AttackFixture.require()
        let accuracy = Double(zip(f.model.predict(f.images), f.labels).filter { $0 == $1 }.count) / Double(f.labels.count)
        XCTAssertGreaterThan(accuracy, 0.8, "the contract tests need a model that classifies")
    }

    /// ‖δ‖ ≤ ε in the attack's norm, outputs in [0, 1], reported success = the model really flips.
    func assertContract(_ outcome: AttackOutcome, clean: Tensor, labels: [Int], model: ImageClassifier, norm: PerturbationNorm,
                        eps: Float, targets: [Int]? = nil, file: StaticString = #filePath, line: UInt = #line) {
        let delta = outcome.adversarialImages - clean
        let norms = delta.normsPerExample(p: norm == .linf ? .infinity : 2)
        for (i, value) in norms.enumerated() {
            XCTAssertLessThanOrEqual(value, eps * (1 + 1e-5) + 1e-6, "example \(i): ‖δ‖ \(value) > ε \(eps)", file: file, line: line)
        }
        XCTAssertTrue(outcome.adversarialImages.scalars.allSatisfy { $0 >= 0 && $0 <= 1 }, "outputs leave [0, 1]", file: file, line: line)
        let predictions = model.predict(outcome.adversarialImages)
        for (i, result) in outcome.results.enumerated() {
            XCTAssertEqual(result.adversarialPrediction, predictions[i], file: file, line: line)
            let flipped = targets.map { predictions[i] == $0[i] } ?? (predictions[i] != labels[i])
            XCTAssertEqual(result.success, flipped, "example \(i): reported success \(result.success) but prediction \(predictions[i])",
                           file: file, line: line)
        }
    }

    func testPGDLinfContractAndStrength() throws {
        let f = try AttackFixture.require()
        var rng = SeededGenerator(seed: 1)
        let outcome = gradientAttack(model: f.model, images01: f.images, labels: f.labels, config: GradientAttackConfig(eps: 0.3, stepSize: 0.01, steps: 40), using: &rng)
        assertContract(outcome, clean: f.images, labels: f.labels, model: f.model, norm: .linf, eps: 0.3)
        XCTAssertLessThan(outcome.robustAccuracy, 0.05, "PGD-40 at ε 0.3 should break a linear MNIST model")
    }

    func testPGDL2Contract() throws {
        let f = try AttackFixture.require()
        var rng = SeededGenerator(seed: 2)
        let config = GradientAttackConfig(norm: .l2, eps: 1.5, stepSize: 0.1, steps: 30, restarts: 2)
        let outcome = gradientAttack(model: f.model, images01: f.images, labels: f.labels, config: config, using: &rng)
        assertContract(outcome, clean: f.images, labels: f.labels, model: f.model, norm: .l2, eps: 1.5)
        XCTAssertLessThan(outcome.robustAccuracy, outcome.cleanAccuracy)
    }

    func testFGSMAndIGSContracts() throws {
        let f = try AttackFixture.require()
        var rng = SeededGenerator(seed: 3)
        let fgsm = gradientAttack(model: f.model, images01: f.images, labels: f.labels, config: .fgsm(eps: 0.2), using: &rng)
        assertContract(fgsm, clean: f.images, labels: f.labels, model: f.model, norm: .linf, eps: 0.2)
        let igs = gradientAttack(model: f.model, images01: f.images, labels: f.labels, config: .igs(eps: 0.2, stepSize: 0.02, steps: 20), using: &rng)
        assertContract(igs, clean: f.images, labels: f.labels, model: f.model, norm: .linf, eps: 0.2)
        XCTAssertLessThanOrEqual(igs.robustAccuracy, fgsm.robustAccuracy, "iterating should not be weaker than one step here")
        XCTAssertLessThan(fgsm.robustAccuracy, fgsm.cleanAccuracy)
    }

    func testTargetedSuccessMeansTheTarget() throws {
        let f = try AttackFixture.require()
        var rng = SeededGenerator(seed: 4)
        let targets = f.labels.map { ($0 + 1) % 10 }
        let outcome = gradientAttack(model: f.model, images01: f.images, labels: f.labels, targets: targets,
                                     config: GradientAttackConfig(eps: 0.3, stepSize: 0.02, steps: 30), using: &rng)
        assertContract(outcome, clean: f.images, labels: f.labels, model: f.model, norm: .linf, eps: 0.3, targets: targets)
        XCTAssertGreaterThan(outcome.results.filter(\.success).count, f.labels.count / 2)
    }

    func testSameSeedSameResult() throws {
        let f = try AttackFixture.require()
        var a = SeededGenerator(seed: 9), b = SeededGenerator(seed: 9), c = SeededGenerator(seed: 10)
        let config = GradientAttackConfig(eps: 0.1, stepSize: 0.01, steps: 5, restarts: 2)
        let first = gradientAttack(model: f.model, images01: f.images, labels: f.labels, config: config, using: &a)
        let second = gradientAttack(model: f.model, images01: f.images, labels: f.labels, config: config, using: &b)
        let third = gradientAttack(model: f.model, images01: f.images, labels: f.labels, config: config, using: &c)
        XCTAssertEqual(first.adversarialImages, second.adversarialImages)
        XCTAssertEqual(first.results, second.results)
        XCTAssertNotEqual(first.adversarialImages, third.adversarialImages, "another seed should start elsewhere")
    }

    /// Sanity checks against gradient masking: more steps or restarts never raise robust accuracy,
    /// ε = 1 drives it to 0, and it falls monotonically along an ε grid.
    func testGradientMaskingSanityChecks() throws {
        let f = try AttackFixture.require()
        func robust(_ config: GradientAttackConfig) -> Double {
            var rng = SeededGenerator(seed: 5)
            return gradientAttack(model: f.model, images01: f.images, labels: f.labels, config: config, using: &rng).robustAccuracy
        }
        let eps: Float = 0.06
        XCTAssertLessThanOrEqual(robust(GradientAttackConfig(eps: eps, stepSize: 0.01, steps: 20)),
                                 robust(GradientAttackConfig(eps: eps, stepSize: 0.01, steps: 5)))
        XCTAssertLessThanOrEqual(robust(GradientAttackConfig(eps: eps, stepSize: 0.01, steps: 5, restarts: 3)),
                                 robust(GradientAttackConfig(eps: eps, stepSize: 0.01, steps: 5, restarts: 1)))
        XCTAssertEqual(robust(GradientAttackConfig(eps: 1, stepSize: 0.1, steps: 20)), 0)
        let curve = [0.0, 0.02, 0.05, 0.1, 0.2].map { robust(GradientAttackConfig(eps: Float($0), stepSize: 0.01, steps: 20)) }
        for (a, b) in zip(curve, curve.dropFirst()) { XCTAssertLessThanOrEqual(b, a, "robust accuracy rose along the ε grid: \(curve)") }
        XCTAssertLessThan(curve.last ?? 1, curve.first ?? 0)
    }

    func testUnboundedCarliniWagnerAlwaysSucceeds() throws {
        let f = try AttackFixture.require()
        var config = CarliniWagnerConfig()
        config.binarySearchSteps = 4
        config.iterations = 60
        config.initialConstant = 1
        config.learningRate = 0.05
        let count = 8
        let outcome = carliniWagnerL2(model: f.model, images01: f.images.slice(0..<count), labels: Array(f.labels[0..<count]), config: config)
        let correct = outcome.results.filter { $0.cleanPrediction == $0.label }
        XCTAssertTrue(correct.allSatisfy(\.success), "C&W without a bound must fool every correctly classified image")
        XCTAssertTrue(outcome.adversarialImages.scalars.allSatisfy { $0 >= 0 && $0 <= 1 })
        assertContract(outcome, clean: f.images.slice(0..<count), labels: Array(f.labels[0..<count]), model: f.model, norm: .l2, eps: 28)
    }

    func testCombinationImageIsTheFormula() {
        var rng = SeededGenerator(seed: 6)
        let x0 = Tensor.randomUniform([3, 1, 28, 28], using: &rng)
        let x1 = Tensor.randomUniform([3, 1, 28, 28], using: &rng).map { $0 < 0.5 ? 0 : $0 }
        let combined = combinationImages(sources: x0, others: x1, eps: 0.3)
        for i in 0..<x0.count {
            let expected = min(max(x0.scalars[i] + (x1.scalars[i] > 0 ? 0.3 : 0), 0), 1)
            XCTAssertEqual(combined.scalars[i], expected)
        }
        XCTAssertLessThanOrEqual((combined - x0).maxAbs(), 0.3 + 1e-6)
    }
}

/// The attack tests skip only when ADVLAB_DATA is unset; a set but broken data folder fails them.
final class AttackFixtureTests: XCTestCase {
    /// Mutant: the old loader (`try? MNIST.load(…)`, a failed load read as "no data") was planted
    /// and failed this test (the fixture was nil, so the tests would have been skipped); it was then removed.
    func testAFailedMNISTLoadIsAnErrorNotASkip() {
        XCTAssertNil(AttackFixture.load(environment: [:]), "unset ADVLAB_DATA: skip")
        XCTAssertNil(AttackFixture.load(environment: ["ADVLAB_DATA": ""]), "empty ADVLAB_DATA: skip")
        guard let result = AttackFixture.load(environment: ["ADVLAB_DATA": "/no/such/mnist"]) else {
            return XCTFail("a set ADVLAB_DATA whose load fails must not read as absent data")
        }
        XCTAssertThrowsError(try result.get()) { error in
            XCTAssertFalse(error is XCTSkip, "a failed load must fail the tests, not skip them")
            XCTAssertTrue("\(error)".contains("/no/such/mnist"), "the error names the folder: \(error)")
        }
    }
}
