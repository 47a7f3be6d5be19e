import AdvModels
import AdvNN
import AdvTensor
import TestSupport
import XCTest

@testable import AdvAttacks

/// A classifier whose logits are the wrapped model's but whose input gradient is zero everywhere:
/// the extreme of gradient masking. Gradient attacks cannot move on it; a query attack can.
final class ZeroGradientClassifier: ImageClassifier {
    let wrapped: ImageClassifier
    init(_ wrapped: ImageClassifier) { self.wrapped = wrapped }
    var classCount: Int { wrapped.classCount }
    var namedParameters: [(String, Parameter)] { wrapped.namedParameters }
    func logits(_ images01: Tensor, mode: ForwardMode) -> (Tensor, Pullback) {
        let shape = images01.shape
        return (wrapped.logits(images01, mode: mode).0, { _ in Tensor.zeros(shape) })
    }
    func features(_ images01: Tensor) -> Tensor { wrapped.features(images01) }
}

/// The contracts of APGD, FAB-T, Square and AutoAttack's stage accounting, on the logistic
/// regression of `AttackFixture`.
final class AutoAttackTests: XCTestCase {
    /// ‖δ‖ ≤ ε in `norm`, every pixel in [0, 1], and reported predictions are the model's.
    func assertContract(
        _ outcome: AttackOutcome, clean: Tensor, labels: [Int], model: ImageClassifier, norm: PerturbationNorm,
        eps: Float, _ name: String, file: StaticString = #filePath, line: UInt = #line
    ) {
        let norms = (outcome.adversarialImages - clean).normsPerExample(p: norm == .linf ? .infinity : 2)
        for (i, value) in norms.enumerated() {
            XCTAssertLessThanOrEqual(
                value, eps * (1 + 1e-5) + 1e-6, "\(name) example \(i): ‖δ‖ \(value) > ε \(eps)",
                file: file, line: line)
        }
        XCTAssertTrue(
            outcome.adversarialImages.scalars.allSatisfy { $0 >= 0 && $0 <= 1 }, "\(name): pixels leave [0, 1]",
            file: file, line: line)
        let predictions = model.predict(outcome.adversarialImages)
        for (i, result) in outcome.results.enumerated() {
            XCTAssertEqual(result.adversarialPrediction, predictions[i], "\(name) example \(i)", file: file, line: line)
            XCTAssertEqual(result.success, predictions[i] != labels[i], "\(name) example \(i)", file: file, line: line)
        }
    }

    /// Small budgets so the debug-build tests stay quick.
    func smallConfig(norm: PerturbationNorm, eps: Float) -> AutoAttackConfig {
        var config = AutoAttackConfig(norm: norm, eps: eps)
        config.apgdIterations = 30
        config.fabIterations = 30
        config.squareQueries = 300
        return config
    }

    func testEveryAttackKeepsItsBudgetAndTheBox() throws {
        let f = try AttackFixture.require()
        for (norm, eps) in [(PerturbationNorm.linf, Float(0.1)), (.l2, 1.5)] {
            let config = smallConfig(norm: norm, eps: eps)
            for stage in AutoAttackStageMethod.allCases {
                var rng = SeededGenerator(seed: 21)
                let outcome = runStage(stage, model: f.model, images01: f.images, labels: f.labels, config: config, using: &rng)
                assertContract(outcome, clean: f.images, labels: f.labels, model: f.model, norm: norm, eps: eps, "\(stage) \(norm)")
                XCTAssertLessThan(outcome.robustAccuracy, outcome.cleanAccuracy, "\(stage) \(norm) ε \(eps) fooled nothing")
            }
        }
    }

    func testEpsilonZeroLeavesCleanAccuracy() throws {
        let f = try AttackFixture.require()
        for norm in PerturbationNorm.allCases {
            var rng = SeededGenerator(seed: 22)
            let staged = runAttackStages(
                AutoAttackVersion.standard.stages, model: f.model, images01: f.images, labels: f.labels,
                config: smallConfig(norm: norm, eps: 0), using: &rng)
            XCTAssertEqual(staged.outcome.robustAccuracy, staged.outcome.cleanAccuracy, "\(norm)")
            XCTAssertEqual(staged.outcome.adversarialImages, f.images, "\(norm): ε = 0 moved pixels")
            for stage in staged.stages { XCTAssertEqual(stage.robust_accuracy, staged.outcome.cleanAccuracy, "\(norm) \(stage.name)") }
        }
    }

    /// APGD-CE and APGD-T (100 iterations) never end above PGD-40 (step 0.01 at L∞, 0.04 at L2) on
    /// the same images and seed, at a radius where PGD leaves some examples robust.
    func testAPGDNeverEndsAbovePGD40() throws {
        let f = try AttackFixture.require()
        for (norm, eps, step) in [(PerturbationNorm.linf, Float(0.04), Float(0.01)), (.l2, 0.8, 0.04)] {
            var rng = SeededGenerator(seed: 23)
            let pgd = gradientAttack(
                model: f.model, images01: f.images, labels: f.labels,
                config: GradientAttackConfig(norm: norm, eps: eps, stepSize: step, steps: 40), using: &rng)
            XCTAssertGreaterThan(pgd.robustAccuracy, 0.1, "\(norm): pick a radius where PGD leaves examples robust")
            for loss in [APGDLoss.crossEntropy, .targetedDLR] {
                var rng = SeededGenerator(seed: 23)
                let outcome = apgd(
                    model: f.model, images01: f.images, labels: f.labels,
                    config: APGDConfig(norm: norm, eps: eps, iterations: 100, loss: loss), using: &rng)
                assertContract(outcome, clean: f.images, labels: f.labels, model: f.model, norm: norm, eps: eps, "apgd \(loss) \(norm)")
                XCTAssertLessThanOrEqual(outcome.robustAccuracy, pgd.robustAccuracy, "\(loss) \(norm): APGD ended above PGD-40")
            }
        }
    }

    /// On a model whose gradient is zero everywhere, PGD has nothing to follow and leaves clean
    /// accuracy (less whatever its random start alone breaks), while Square, which only queries
    /// logits, still breaks it.
    func testSquareNeedsNoGradient() throws {
        let f = try AttackFixture.require()
        let masked = ZeroGradientClassifier(f.model)
        let eps: Float = 0.2
        var rng = SeededGenerator(seed: 24)
        let pgd = gradientAttack(
            model: masked, images01: f.images, labels: f.labels,
            config: GradientAttackConfig(eps: eps, stepSize: 0.01, steps: 40), using: &rng)
        let apgdOutcome = apgd(
            model: masked, images01: f.images, labels: f.labels, config: APGDConfig(eps: eps, iterations: 50),
            using: &rng)
        let square = squareAttack(
            model: masked, images01: f.images, labels: f.labels, config: SquareConfig(eps: eps, queries: 500),
            using: &rng)
        assertContract(square, clean: f.images, labels: f.labels, model: masked, norm: .linf, eps: eps, "square")
        XCTAssertGreaterThan(pgd.robustAccuracy, pgd.cleanAccuracy - 0.1, "PGD should get nowhere without a gradient")
        XCTAssertGreaterThan(apgdOutcome.robustAccuracy, apgdOutcome.cleanAccuracy - 0.1, "APGD should get nowhere without a gradient")
        XCTAssertLessThan(square.robustAccuracy, pgd.robustAccuracy - 0.3, "Square should break the masked model")
        // Square on the masked model is the same attack as on the plain one: logits are all it sees.
        var a = SeededGenerator(seed: 25)
        var b = SeededGenerator(seed: 25)
        let short = SquareConfig(eps: eps, queries: 100)
        let onMasked = squareAttack(model: masked, images01: f.images, labels: f.labels, config: short, using: &a)
        let onPlain = squareAttack(model: f.model, images01: f.images, labels: f.labels, config: short, using: &b)
        XCTAssertEqual(onMasked.adversarialImages, onPlain.adversarialImages)
    }

    /// Robust counts never rise from stage to stage, each stage attacks exactly the examples still
    /// robust after the one before (the first: the clean-correct ones), and the outcome's robust
    /// accuracy is the last stage's. Fooling is final, so an example a stage attacked but the next
    /// one did not must end up misclassified, and the next stage attacked as many as were left.
    func testStageAccountingAddsUp() throws {
        let f = try AttackFixture.require()
        for version in AutoAttackVersion.allCases {
            var rng = SeededGenerator(seed: 26)
            // ε 0.03: every stage still finds something to do, and some examples survive them all.
            let staged = runAttackStages(
                version.stages, model: f.model, images01: f.images, labels: f.labels,
                config: smallConfig(norm: .linf, eps: 0.03), batchSize: 20, using: &rng)
            XCTAssertEqual(staged.stages.map(\.name), version.stages.map(\.rawValue))
            let results = staged.outcome.results
            let finallyRobust = results.filter { $0.cleanPrediction == $0.label && $0.adversarialPrediction == $0.label }.map(\.index)
            var previous = results.filter { $0.cleanPrediction == $0.label }.map(\.index)
            var previousRobust = previous.count
            for stage in staged.stages {
                let attacked = stage.attackedIndices
                XCTAssertEqual(attacked.count, previousRobust, "\(version) \(stage.name) attacked more or fewer than the still-robust")
                XCTAssertTrue(Set(attacked).isSubset(of: Set(previous)), "\(version) \(stage.name) attacked an example already fooled")
                for index in Set(previous).subtracting(attacked) {
                    XCTAssertNotEqual(
                        results[index].adversarialPrediction, results[index].label,
                        "\(version) \(stage.name) skipped example \(index), which was still robust")
                }
                XCTAssertEqual(stage.attacked, attacked.count)
                XCTAssertLessThanOrEqual(stage.robust, stage.attacked, "\(version) \(stage.name): robust count rose")
                XCTAssertEqual(stage.robust_accuracy, Double(stage.robust) / Double(f.labels.count), accuracy: 1e-12)
                previous = attacked
                previousRobust = stage.robust
            }
            XCTAssertEqual(staged.stages.last?.robust, finallyRobust.count, "\(version): the outcome disagrees with the last stage")
            XCTAssertEqual(staged.outcome.robustAccuracy, staged.stages.last?.robust_accuracy ?? -1, accuracy: 1e-12)
            XCTAssertTrue(Set(finallyRobust).isSubset(of: Set(previous)))
            XCTAssertLessThan(staged.outcome.robustAccuracy, staged.outcome.cleanAccuracy, "\(version) found nothing: a vacuous check")
            XCTAssertGreaterThan(staged.outcome.robustAccuracy, 0, "\(version) broke everything: a vacuous check")
        }
    }

    /// Stages run in parts (`attack --chunk`) pool to one accounting over all the examples:
    /// counts and times add up, and robust accuracy is over every example, not the part's.
    func testPooledStagesAddUp() throws {
        let f = try AttackFixture.require()
        let config = smallConfig(norm: .linf, eps: 0.03)
        let stages = AutoAttackVersion.standard.stages
        let half = f.labels.count / 2
        var parts: [[AttackStage]] = []
        var partRNG = SeededGenerator(seed: 27)
        for range in [0..<half, half..<f.labels.count] {
            let part = runAttackStages(
                stages, model: f.model, images01: f.images.slice(range), labels: Array(f.labels[range]), config: config,
                batchSize: half, using: &partRNG)
            parts.append(part.stages)
        }
        let pooled = AttackStage.pooled(parts, total: f.labels.count)
        XCTAssertEqual(pooled.map(\.name), stages.map(\.rawValue))
        XCTAssertEqual(
            pooled.map(\.attacked),
            parts.map { $0.map(\.attacked) }.reduce(into: [Int](repeating: 0, count: stages.count)) { sum, part in
                for i in part.indices { sum[i] += part[i] }
            })
        XCTAssertEqual(pooled.map(\.robust), pooled.map { Int(($0.robust_accuracy * Double(f.labels.count)).rounded()) })
        XCTAssertEqual(pooled.last?.robust, parts.map { $0.last?.robust ?? 0 }.reduce(0, +))
        XCTAssertEqual(pooled.map(\.seconds), stages.indices.map { i in parts[0][i].seconds + parts[1][i].seconds })
        XCTAssertEqual(pooled.last?.robust_accuracy ?? -1, Double(pooled.last?.robust ?? 0) / Double(f.labels.count), accuracy: 1e-12)
        XCTAssertLessThan(pooled.last?.robust ?? 0, pooled.first?.attacked ?? 0, "the halves found nothing: a vacuous check")
    }

    /// The one rule behind `advlab attack --method autoattack` and the report's AutoAttack rows:
    /// AutoAttack's defaults unless a budget is given, and the settings summary.json writes.
    func testNamedConfigKeepsTheDefaultsUnlessGiven() {
        let defaults = AutoAttackConfig.named(norm: .l2, eps: 1.5)
        XCTAssertEqual(defaults, AutoAttackConfig(norm: .l2, eps: 1.5))
        XCTAssertEqual(
            [defaults.apgdIterations, defaults.fabIterations, defaults.apgdRestarts, defaults.targetClasses, defaults.squareQueries],
            [100, 100, 1, 9, 5000])
        let given = AutoAttackConfig.named(norm: .linf, eps: 0.3, iterations: 50, restarts: 2, queries: 700)
        XCTAssertEqual([given.apgdIterations, given.fabIterations, given.apgdRestarts, given.squareQueries], [50, 50, 2, 700])
        XCTAssertEqual(given.apgdT.iterations, 50)
        XCTAssertEqual(
            given.summarySettings,
            ["eps": Double(Float(0.3)), "iterations": 50, "restarts": 2, "target_classes": 9, "square_queries": 700])
    }

    func testSameSeedSameResult() throws {
        let f = try AttackFixture.require()
        var a = SeededGenerator(seed: 27)
        var b = SeededGenerator(seed: 27)
        var c = SeededGenerator(seed: 28)
        let config = smallConfig(norm: .linf, eps: 0.05)
        let stages = AutoAttackVersion.standard.stages
        let first = runAttackStages(stages, model: f.model, images01: f.images, labels: f.labels, config: config, using: &a)
        let second = runAttackStages(stages, model: f.model, images01: f.images, labels: f.labels, config: config, using: &b)
        let third = runAttackStages(stages, model: f.model, images01: f.images, labels: f.labels, config: config, using: &c)
        XCTAssertEqual(first.outcome.adversarialImages, second.outcome.adversarialImages)
        XCTAssertEqual(first.outcome.results, second.outcome.results)
        XCTAssertNotEqual(first.outcome.adversarialImages, third.outcome.adversarialImages, "another seed should start elsewhere")
    }

    /// Batches run side by side in lanes, each from its own generator seeded in batch order, so
    /// one lane, two or three give the same images, results and stage accounting.
    func testLanesDoNotChangeTheOutcome() throws {
        let f = try AttackFixture.require()
        let config = smallConfig(norm: .linf, eps: 0.05)
        let stages = AutoAttackVersion.standard.stages
        let runs = [1, 2, 3].map { lanes in
            var rng = SeededGenerator(seed: 29)
            return runAttackStages(
                stages, model: f.model, images01: f.images, labels: f.labels, config: config, batchSize: 8, lanes: lanes, using: &rng)
        }
        for (lanes, run) in zip([2, 3], runs.dropFirst()) {
            XCTAssertEqual(run.outcome.adversarialImages, runs[0].outcome.adversarialImages, "\(lanes) lanes: images")
            XCTAssertEqual(run.outcome.results, runs[0].outcome.results, "\(lanes) lanes: results")
            XCTAssertEqual(run.stages.map(\.robust), runs[0].stages.map(\.robust), "\(lanes) lanes: stages")
            XCTAssertEqual(run.outcome.gradientEvaluations, runs[0].outcome.gradientEvaluations, "\(lanes) lanes: evaluations")
        }
        XCTAssertGreaterThan(f.labels.count, 16, "the fixture must give several batches of 8")
    }

    /// The projection FAB steps with: the point lands on the hyperplane inside the box, and no
    /// random feasible move is shorter (checked by sampling in 4 dimensions).
    func testBoxedHyperplaneProjectionIsFeasibleAndMinimal() {
        var rng = SeededGenerator(seed: 29)
        for norm in PerturbationNorm.allCases {
            for _ in 0..<40 {
                let point = (0..<4).map { _ in rng.nextUniform() }
                let w = (0..<4).map { _ in 2 * rng.nextUniform() - 1 }
                // b between the box's extremes of w·z, so the hyperplane meets the box.
                let low = w.reduce(0) { $0 + min($1, 0) }
                let high = w.reduce(0) { $0 + max($1, 0) }
                let b = low + (high - low) * (0.1 + 0.8 * rng.nextUniform())
                let d = boxedHyperplaneProjection(point: point, w: w, b: b, norm: norm)
                let moved = zip(point, d).map { $0 + $1 }
                XCTAssertEqual(zip(w, moved).reduce(0) { $0 + $1.0 * $1.1 }, b, accuracy: 1e-4, "\(norm): not on the hyperplane")
                XCTAssertTrue(moved.allSatisfy { $0 >= -1e-6 && $0 <= 1 + 1e-6 }, "\(norm): left the box")
                func length(_ v: [Float]) -> Float {
                    norm == .linf ? v.reduce(0) { max($0, abs($1)) } : v.reduce(0) { $0 + $1 * $1 }.squareRoot()
                }
                let found = length(d)
                for _ in 0..<2000 {
                    // A random box point moved along w onto the hyperplane's side; keep it if feasible.
                    let z = (0..<4).map { _ in rng.nextUniform() }
                    let gap = zip(w, z).reduce(0) { $0 + $1.0 * $1.1 } - b
                    let w2 = w.reduce(0) { $0 + $1 * $1 }
                    let onPlane = zip(z, w).map { $0 - gap * $1 / w2 }
                    guard onPlane.allSatisfy({ $0 >= 0 && $0 <= 1 }) else { continue }
                    XCTAssertGreaterThanOrEqual(
                        length(zip(onPlane, point).map { $0 - $1 }), found * (1 - 1e-4) - 1e-5,
                        "\(norm): shorter move exists")
                }
            }
        }
    }

    func testSquareScheduleHalvesP() {
        let config = SquareConfig(queries: 5000)
        XCTAssertEqual(config.squareFraction(iteration: 0), 0.8)
        XCTAssertEqual(config.squareFraction(iteration: 6), 0.4)  // 12 of 10,000
        XCTAssertEqual(config.squareFraction(iteration: 2500), 0.8 / 128)  // 5,000 of 10,000
        XCTAssertEqual(config.squareFraction(iteration: 4999), 0.8 / 512)
    }

    /// APGD-T's targets are the 2nd … 10th most likely classes of the clean logits.
    func testDescendingClasses() {
        XCTAssertEqual(descendingClasses([0.1, 3, -2, 3, 0.5]), [1, 3, 4, 0, 2])
    }
}
