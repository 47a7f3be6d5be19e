import AdvModels
import AdvNN
import AdvTensor
import TestSupport
import XCTest

@testable import AdvAttacks

final class GradientAttackTests: XCTestCase {
    func testFixtureModelReallyClassifies() throws {
        let f = try AttackFixture.require()
        let accuracy = Double(zip(f.model.predict(f.images), f.labels).filter { $0 == $1 }.count) / Double(f.labels.count)
        XCTAssertGreaterThan(accuracy, 0.8, "the contract tests need a model that classifies")
    }

    /// ‖δ‖ ≤ ε in the attack's norm, outputs in [0, 1], reported success = the model really flips.
    func assertContract(
        _ outcome: AttackOutcome, clean: Tensor, labels: [Int], model: ImageClassifier, norm: PerturbationNorm,
        eps: Float, targets: [Int]? = nil, file: StaticString = #filePath, line: UInt = #line
    ) {
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
            XCTAssertEqual(
                result.success, flipped, "example \(i): reported success \(result.success) but prediction \(predictions[i])",
                file: file, line: line)
        }
    }

    func testPGDLinfContractAndStrength() throws {
        let f = try AttackFixture.require()
        var rng = SeededGenerator(seed: 1)
        let outcome = gradientAttack(
            model: f.model, images01: f.images, labels: f.labels, config: GradientAttackConfig(eps: 0.3, stepSize: 0.01, steps: 40),
            using: &rng)
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
        let igs = gradientAttack(
            model: f.model, images01: f.images, labels: f.labels, config: .igs(eps: 0.2, stepSize: 0.02, steps: 20), using: &rng)
        assertContract(igs, clean: f.images, labels: f.labels, model: f.model, norm: .linf, eps: 0.2)
        XCTAssertLessThanOrEqual(igs.robustAccuracy, fgsm.robustAccuracy, "iterating should not be weaker than one step here")
        XCTAssertLessThan(fgsm.robustAccuracy, fgsm.cleanAccuracy)
    }

    func testTargetedSuccessMeansTheTarget() throws {
        let f = try AttackFixture.require()
        var rng = SeededGenerator(seed: 4)
        let targets = f.labels.map { ($0 + 1) % 10 }
        let outcome = gradientAttack(
            model: f.model, images01: f.images, labels: f.labels, targets: targets,
            config: GradientAttackConfig(eps: 0.3, stepSize: 0.02, steps: 30), using: &rng)
        assertContract(outcome, clean: f.images, labels: f.labels, model: f.model, norm: .linf, eps: 0.3, targets: targets)
        XCTAssertGreaterThan(outcome.results.filter(\.success).count, f.labels.count / 2)
    }

    func testSameSeedSameResult() throws {
        let f = try AttackFixture.require()
        var a = SeededGenerator(seed: 9)
        var b = SeededGenerator(seed: 9)
        var c = SeededGenerator(seed: 10)
        let config = GradientAttackConfig(eps: 0.1, stepSize: 0.01, steps: 5, restarts: 2)
        let first = gradientAttack(model: f.model, images01: f.images, labels: f.labels, config: config, using: &a)
        let second = gradientAttack(model: f.model, images01: f.images, labels: f.labels, config: config, using: &b)
        let third = gradientAttack(model: f.model, images01: f.images, labels: f.labels, config: config, using: &c)
        XCTAssertEqual(first.adversarialImages, second.adversarialImages)
        XCTAssertEqual(first.results, second.results)
        XCTAssertNotEqual(first.adversarialImages, third.adversarialImages, "another seed should start elsewhere")
    }

    /// `maskingChecks` (behind `advlab masking` and `Scripts/check-gradient-masking`) at the
    /// fixture's scale: ε 0.06, PGD-10 with steps of `stepSize`, 50 steps for the longer run, C&W
    /// with 4 × 60 iterations on 8 images, Square with 300 queries; tolerance 2 of the 64 images.
    static func fixtureMaskingConfig(stepSize: Float = 0.01) -> MaskingCheckConfig {
        var cw = CarliniWagnerConfig()
        cw.binarySearchSteps = 4
        cw.iterations = 60
        cw.initialConstant = 1
        var config = MaskingCheckConfig(
            eps: 0.06, stepSize: stepSize, steps: 10, longerSteps: 50, epsGrid: [0, 0.02, 0.04, 0.06, 0.12], cw: cw)
        config.cwCount = 8
        config.squareQueries = 300
        config.tolerance = 2.0 / 64
        return config
    }

    static func failed(_ report: MaskingCheckReport) -> [String] { report.checks.filter { !$0.holds }.map(\.name) }

    /// On the logistic-regression fixture every masking check holds.
    func testGradientMaskingChecksHoldOnTheFixture() throws {
        let f = try AttackFixture.require()
        let report = maskingChecks(model: f.model, images01: f.images, labels: f.labels, config: Self.fixtureMaskingConfig(), seed: 5)
        XCTAssertEqual(Self.failed(report), [], "\(report.checks)")
        XCTAssertEqual(report.checks.count, 7)
        XCTAssertEqual(report.checks.filter { !$0.informative }.map(\.name), ["more effort does not raise PGD's figure"])
        let clean = Double(zip(f.model.predict(f.images), f.labels).filter { $0 == $1 }.count) / Double(f.labels.count)
        XCTAssertEqual(report.epsCurve.first ?? -1, clean, accuracy: 1e-9, "ε = 0 leaves clean accuracy")
    }

    /// Planted defect: the fixture with its logits scaled by 10⁴ classifies the same, but its
    /// softmax saturates, so the cross-entropy's gradient is exactly 0 on every image with a
    /// margin above 0.0104 (masked gradients, as in defensive distillation). ε = 1 from the clean
    /// image fails (the attack cannot move) and Square, which sees only logits, beats PGD. C&W's
    /// margin loss does not saturate, so its check holds, as Carlini & Wagner found for distillation.
    func testGradientMaskingChecksCatchASaturatedSoftmax() throws {
        let f = try AttackFixture.require()
        let masked = ScaledLogits(f.model, scale: 1e4)
        XCTAssertEqual(masked.predict(f.images), f.model.predict(f.images))
        let report = maskingChecks(model: masked, images01: f.images, labels: f.labels, config: Self.fixtureMaskingConfig(), seed: 5)
        let failed = Self.failed(report)
        XCTAssertTrue(failed.contains { $0.hasPrefix("ε = 1 from the clean image") }, "\(failed)")
        XCTAssertTrue(failed.contains("gradient-free Square does not beat the gradient attacks"), "\(failed)")
        XCTAssertFalse(failed.contains("unbounded C&W fools every image"), "\(failed)")
    }

    /// Planted defect: a model whose input gradient is zero everywhere (the extreme of masking).
    /// Square, which needs no gradient, breaks far more images than PGD, and the check says so.
    func testGradientMaskingSquareCheckCatchesZeroGradients() throws {
        let f = try AttackFixture.require()
        let report = maskingChecks(
            model: ZeroGradientClassifier(f.model), images01: f.images, labels: f.labels, config: Self.fixtureMaskingConfig(), seed: 5)
        XCTAssertTrue(Self.failed(report).contains("gradient-free Square does not beat the gradient attacks"), "\(report.checks)")
        XCTAssertLessThan(report.square, report.gradientOnSquareImages - 0.3)
    }

    /// Planted defect: an under-powered attack (steps of 0.0005, so 10 steps move a pixel at most
    /// 0.005 beyond the random start) fails the convergence check: 5× the steps break more images.
    func testGradientMaskingConvergenceCatchesAnUnderpoweredAttack() throws {
        let f = try AttackFixture.require()
        let report = maskingChecks(
            model: f.model, images01: f.images, labels: f.labels, config: Self.fixtureMaskingConfig(stepSize: 0.0005), seed: 5)
        XCTAssertTrue(Self.failed(report).contains("50 steps do not lower PGD's figure"), "\(report.checks)")
    }

    /// Planted defects for the two remaining checks: a C&W of one iteration per constant cannot
    /// fool every image, and a grid given from large ε to small makes the curve rise.
    func testGradientMaskingChecksCatchAWeakCarliniWagnerAndARisingCurve() throws {
        let f = try AttackFixture.require()
        var config = Self.fixtureMaskingConfig()
        config.cw.iterations = 1
        config.cw.binarySearchSteps = 1
        config.cw.initialConstant = 1e-3
        config.epsGrid = [0.12, 0.06, 0]
        let failed = Self.failed(maskingChecks(model: f.model, images01: f.images, labels: f.labels, config: config, seed: 5))
        XCTAssertTrue(failed.contains("unbounded C&W fools every image"), "\(failed)")
        XCTAssertTrue(failed.contains("robust accuracy does not rise along ε"), "\(failed)")
    }

    func testUnboundedCarliniWagnerAlwaysSucceeds() throws {
        let f = try AttackFixture.require()
        var config = CarliniWagnerConfig()
        config.binarySearchSteps = 4
        config.iterations = 60
        config.initialConstant = 1
        config.learningRate = 0.05
        let count = 8
        let outcome = carliniWagnerL2(
            model: f.model, images01: f.images.slice(0..<count), labels: Array(f.labels[0..<count]), config: config)
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

/// The fixture's logits times `scale`: the same predictions, a saturated softmax.
final class ScaledLogits: ImageClassifier {
    let base: ImageClassifier
    let scale: Float
    init(_ base: ImageClassifier, scale: Float) {
        self.base = base
        self.scale = scale
    }
    var classCount: Int { base.classCount }
    var namedParameters: [(String, Parameter)] { base.namedParameters }
    func features(_ images01: Tensor) -> Tensor { base.features(images01) }

    func logits(_ images01: Tensor, mode: ForwardMode) -> (Tensor, Pullback) {
        let (logits, back) = base.logits(images01, mode: mode)
        return (logits * scale, { dLogits in back(dLogits * self.scale) })
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
