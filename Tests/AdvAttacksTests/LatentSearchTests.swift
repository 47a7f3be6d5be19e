import AdvModels
import AdvNN
import AdvTensor
import TestSupport
import XCTest

@testable import AdvAttacks

final class LatentSearchTests: XCTestCase {
    /// dz of `objective` at `z` against central finite differences (step 1e-2) of its summed
    /// losses, and the numeric gradient not vanishing.
    func assertGradientMatchesFiniteDifferences(
        at z: Tensor, _ objective: (Tensor) -> (losses: [Float], dz: Tensor), file: StaticString = #filePath, line: UInt = #line
    ) {
        func total(_ z: Tensor) -> Double { Double(objective(z).losses.reduce(0, +)) }
        let h: Float = 1e-2
        var numeric = Tensor.zeros(like: z)
        for i in 0..<z.count {
            var plus = z
            var minus = z
            plus.scalars[i] += h
            minus.scalars[i] -= h
            numeric.scalars[i] = Float((total(plus) - total(minus)) / Double(2 * h))
        }
        assertClose(objective(z).dz, numeric, rtol: 3e-2, atol: 3e-3 * max(1, numeric.maxAbs()), file: file, line: line)
        XCTAssertGreaterThan(numeric.maxAbs(), 1e-3, "a zero gradient would make this check vacuous", file: file, line: line)
    }

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
        for j in 0..<4 { z.scalars[j] += 0.5 }  // outside the ε_z box on four coordinates
        var config = LatentSearchConfig()
        config.lambda1 = 3
        config.lambda2 = 2
        config.noiseEps = 0.1
        let tau = Tensor.randomNormal([2, 1, 28, 28], std: 0.5, using: &rng)
        let sources = [3, 7]
        let targets = [5, 1]
        assertGradientMatchesFiniteDifferences(at: z) { z in
            let o = latentSearchObjective(
                generator: generator, discriminator: discriminator, classifier: classifier, z: z, z0: z0,
                tau: tau, sources: sources, targets: targets, config: config)
            return (o.losses, o.dz)
        }
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
            return latentSearchObjective(
                generator: generator, discriminator: discriminator, classifier: classifier, z: z0 + shift, z0: z0,
                tau: nil, sources: [2], targets: [4], config: c
            ).losses[0]
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
        XCTAssertFalse(
            isUnrestrictedSuccess(classifierPrediction: 5, auxiliaryPrediction: 5, source: 3, target: 5),
            "the auxiliary classifier relabelled the image: not a success")
        XCTAssertFalse(isUnrestrictedSuccess(classifierPrediction: 4, auxiliaryPrediction: 3, source: 3, target: 5))
        XCTAssertTrue(isUnrestrictedSuccess(classifierPrediction: 4, auxiliaryPrediction: 3, source: 3, target: nil))
        XCTAssertFalse(isUnrestrictedSuccess(classifierPrediction: 3, auxiliaryPrediction: 3, source: 3, target: nil))
    }

    func testSameSeedSameExamplesAndRecordsAgreeWithTheModels() {
        let (generator, discriminator, classifier) = makeNetworks()
        var config = LatentSearchConfig()
        config.steps = 5
        var a = SeededGenerator(seed: 24)
        var b = SeededGenerator(seed: 24)
        let first = latentSearch(
            generator: generator, discriminator: discriminator, classifier: classifier, sources: [1, 2, 3],
            targets: [4, 5, 6], config: config, using: &a)
        let second = latentSearch(
            generator: generator, discriminator: discriminator, classifier: classifier, sources: [1, 2, 3],
            targets: [4, 5, 6], config: config, using: &b)
        XCTAssertEqual(first.images, second.images)
        XCTAssertEqual(first.records.map(\.z), second.records.map(\.z))
        // Every record's predictions are those of the models on the returned image.
        let predictions = classifier.predict(first.images)
        let auxiliary = AuxiliaryClassifier(discriminator).predict(first.images)
        for (i, record) in first.records.enumerated() {
            XCTAssertEqual(record.classifierPrediction, predictions[i])
            XCTAssertEqual(record.auxiliaryPrediction, auxiliary[i])
            XCTAssertEqual(
                record.success,
                isUnrestrictedSuccess(
                    classifierPrediction: predictions[i], auxiliaryPrediction: auxiliary[i],
                    source: record.source, target: record.target))
        }
    }

    /// The Langevin update without noise is one gradient-descent step; its noise has the annealed
    /// standard deviation σ0 / (1 + t)^0.275; τ moves by exactly unit L2 norm; finished rows stay.
    func testLangevinUpdateIsGradientDescentPlusAnnealedNoise() throws {
        var rng = SeededGenerator(seed: 25)
        let z0 = Tensor.randomNormal([3, 4000], using: &rng)
        let dz = Tensor.randomNormal([3, 4000], using: &rng)
        var config = LatentSearchConfig()
        config.optimizer = .langevin
        config.learningRate = 0.25
        config.langevinNoise = 0
        var z = z0
        var tau: Tensor? = nil
        langevinUpdate(
            z: &z, tau: &tau, rows: [0, 1, 2], dz: dz, dTau: nil, step: 0, config: config, skip: [false, false, true], using: &rng)
        for i in 0..<(2 * 4000) { XCTAssertEqual(z.scalars[i], z0.scalars[i] - 0.25 * dz.scalars[i], accuracy: 1e-6) }
        XCTAssertEqual(Array(z.scalars[(2 * 4000)...]), Array(z0.scalars[(2 * 4000)...]), "a finished row does not move")

        config.langevinNoise = 0.1
        let step = 99
        var noisy = z0
        langevinUpdate(
            z: &noisy, tau: &tau, rows: [0, 1, 2], dz: Tensor.zeros(like: dz), dTau: nil, step: step, config: config,
            skip: [false, false, false], using: &rng)
        let moves = zip(noisy.scalars, z0.scalars).map { Double($0 - $1) }
        let std = (moves.reduce(0) { $0 + $1 * $1 } / Double(moves.count)).squareRoot()
        XCTAssertEqual(std, 0.1 / pow(1 + Double(step), 0.275), accuracy: 0.03 * 0.1 / pow(1 + Double(step), 0.275))

        var t: Tensor? = Tensor.zeros([2, 1, 28, 28])
        let dTau = Tensor.randomNormal([2, 1, 28, 28], std: 7, using: &rng)
        var unused = Tensor.zeros([2, 4])
        langevinUpdate(
            z: &unused, tau: &t, rows: [0, 1], dz: Tensor.zeros([2, 4]), dTau: dTau, step: 0, config: config,
            skip: [false, false], using: &rng)
        let stepped = try XCTUnwrap(t)
        for row in 0..<2 {
            let moved = stepped.scalars[(row * 784)..<((row + 1) * 784)]
            XCTAssertEqual(moved.reduce(Float(0)) { $0 + $1 * $1 }.squareRoot(), 1, accuracy: 1e-4)
        }
    }

    func testLangevinSearchIsReproducibleFromTheSeed() {
        let (generator, discriminator, classifier) = makeNetworks()
        var config = LatentSearchConfig()
        config.steps = 5
        config.optimizer = .langevin
        config.learningRate = 0.05
        var a = SeededGenerator(seed: 26)
        var b = SeededGenerator(seed: 26)
        var c = SeededGenerator(seed: 27)
        let run = { (rng: inout SeededGenerator) in
            latentSearch(
                generator: generator, discriminator: discriminator, classifier: classifier, sources: [1, 2],
                targets: [4, 5], config: config, using: &rng)
        }
        let first = run(&a)
        let second = run(&b)
        let other = run(&c)
        XCTAssertEqual(first.records.map(\.z), second.records.map(\.z))
        XCTAssertNotEqual(first.records.map(\.z), other.records.map(\.z))
    }

    /// Restarts: an example that succeeds keeps its first start; one that fails starts again from
    /// a fresh z0, and its record says how many starts and steps it used in all.
    func testAttemptsRestartOnlyTheFailedSearches() {
        let (generator, discriminator, classifier) = makeNetworks()
        var config = LatentSearchConfig()
        config.steps = 3
        let sources = [0, 1, 2, 3, 4, 5, 6, 7]
        let targets = [1, 2, 3, 4, 5, 6, 7, 8]
        var a = SeededGenerator(seed: 28)
        var b = SeededGenerator(seed: 28)
        let once = latentSearch(
            generator: generator, discriminator: discriminator, classifier: classifier, sources: sources,
            targets: targets, config: config, using: &a)
        config.attempts = 3
        let thrice = latentSearch(
            generator: generator, discriminator: discriminator, classifier: classifier, sources: sources,
            targets: targets, config: config, using: &b)
        XCTAssertTrue(once.records.contains { !$0.success }, "an untrained pair of networks leaves some searches failing")
        for (first, retried) in zip(once.records, thrice.records) {
            if first.success {
                XCTAssertEqual(retried.z, first.z, "a success is not searched again")
                XCTAssertEqual(retried.attempts, 1)
            } else {
                XCTAssertNotEqual(retried.z0, first.z0, "a failed search starts again from a fresh z0")
                XCTAssertGreaterThan(retried.attempts, 1)
                XCTAssertLessThanOrEqual(retried.attempts, 3)
                XCTAssertGreaterThan(retried.steps, config.steps, "steps add up over the starts")
                if !retried.success {
                    XCTAssertEqual(retried.attempts, 3)
                    XCTAssertEqual(retried.steps, 3 * config.steps)
                }
            }
        }
        XCTAssertGreaterThanOrEqual(thrice.successRate, once.successRate)
        // The returned start image is G(z0, s) of the start that produced the final image.
        let starts = generator.generate(Tensor(shape: [8, generator.latentSize], scalars: thrice.records.flatMap(\.z0)), classes: sources)
        assertClose(starts, thrice.startImages, rtol: 1e-4, atol: 1e-5)
    }

    /// Best-of-K starts: each kept z0 is one of its own K draws (same draws as K single starts
    /// would make), its objective is the lowest of them, and K = 1 is the reference's plain draw.
    func testStartCandidatesKeepTheLowestObjectiveDraw() {
        let (generator, discriminator, classifier) = makeNetworks()
        let sources = [0, 3, 9]
        let targets = [4, 8, 1]
        let k = 6
        let d = generator.latentSize
        var config = LatentSearchConfig()
        config.startCandidates = k
        config.lambda2 = 2
        var a = SeededGenerator(seed: 29)
        var b = SeededGenerator(seed: 29)
        var c = SeededGenerator(seed: 29)
        let kept = latentStarts(
            generator: generator, discriminator: discriminator, classifier: classifier, sources: sources,
            targets: targets, config: config, using: &a)
        let draws = Tensor.randomNormal([sources.count * k, d], using: &b)
        var single = config
        single.startCandidates = 1
        XCTAssertEqual(
            latentStarts(
                generator: generator, discriminator: discriminator, classifier: classifier, sources: sources,
                targets: targets, config: single, using: &c
            ).scalars,
            Array(draws.scalars[0..<(sources.count * d)]), "K = 1 is one plain draw per example")
        var pickedNonFirst = false
        for example in sources.indices {
            let rows = (example * k)..<((example + 1) * k)
            let objective = latentSearchObjective(
                generator: generator, discriminator: discriminator, classifier: classifier,
                z: draws.gather(Array(rows)), z0: draws.gather(Array(rows)), tau: nil,
                sources: [Int](repeating: sources[example], count: k),
                targets: [Int](repeating: targets[example], count: k), config: config
            ).losses
            let best = rows.lowerBound + objective.indices.min { objective[$0] < objective[$1] }!
            XCTAssertEqual(
                Array(kept.scalars[(example * d)..<((example + 1) * d)]), Array(draws.scalars[(best * d)..<((best + 1) * d)]),
                "example \(example) keeps its lowest-objective draw")
            pickedNonFirst = pickedNonFirst || best != rows.lowerBound
            XCTAssertGreaterThan(objective.max()! - objective.min()!, 1e-4, "the draws must differ for the choice to mean anything")
        }
        XCTAssertTrue(pickedNonFirst, "with every pick the first draw the test could not tell screening from none")
    }

    /// A keeper classifier in the auxiliary classifier's place: the objective's gradient still
    /// matches finite differences, and its λ2 term is the keeper's cross-entropy toward the source.
    func testKeeperObjectiveGradientAndTerm() {
        let (generator, discriminator, classifier) = makeNetworks()
        var keeperRNG = SeededGenerator(seed: 30)
        let keeper = LogisticRegression(using: &keeperRNG)
        var rng = SeededGenerator(seed: 31)
        let z0 = Tensor.randomNormal([2, 8], using: &rng)
        var z = z0
        for j in 0..<3 { z.scalars[j] -= 0.4 }
        var config = LatentSearchConfig()
        config.lambda1 = 3
        config.lambda2 = 2
        let sources = [6, 2]
        let targets = [0, 9]
        func objective(_ z: Tensor, lambda2: Float = 2) -> (losses: [Float], dz: Tensor, images: Tensor) {
            var c = config
            c.lambda2 = lambda2
            let o = latentSearchObjective(
                generator: generator, discriminator: discriminator, classifier: classifier, keeper: .classifier(keeper),
                z: z, z0: z0, tau: nil, sources: sources, targets: targets, config: c)
            return (o.losses, o.dz, o.images)
        }
        assertGradientMatchesFiniteDifferences(at: z) { z in
            let o = objective(z)
            return (o.losses, o.dz)
        }

        // The λ2 term: λ2 · CE(keeper(x), s), not the auxiliary head's.
        let images = objective(z).images
        let keeperCE = softmaxCrossEntropyPerExample(logits: keeper.logits(images, mode: .eval).0, labels: sources).0
        let headCE = softmaxCrossEntropyPerExample(logits: discriminator.forward(images, mode: .eval).classLogits, labels: sources).0
        let with = objective(z).losses
        let without = objective(z, lambda2: 0).losses
        for row in 0..<2 {
            XCTAssertEqual(with[row] - without[row], 2 * keeperCE[row], accuracy: 1e-3 * max(1, keeperCE[row]))
            XCTAssertGreaterThan(abs(keeperCE[row] - headCE[row]), 1e-2, "keeper and head must differ for the check to tell them apart")
        }
    }

    /// The auxiliary head wrapped as a keeper classifier runs the very search of the default, and
    /// a different keeper decides the success rule: every record's keeper class is the keeper's
    /// reading of its image.
    func testKeeperTakesTheAuxiliaryClassifiersPlace() {
        let (generator, discriminator, classifier) = makeNetworks()
        var config = LatentSearchConfig()
        config.steps = 4
        config.startCandidates = 3
        config.attempts = 2
        let sources = [1, 4, 7, 8]
        let targets = [3, 2, 0, 5]
        func search(_ keeper: LatentKeeper) -> LatentSearchOutcome {
            var rng = SeededGenerator(seed: 32)
            return latentSearch(
                generator: generator, discriminator: discriminator, classifier: classifier, keeper: keeper, sources: sources,
                targets: targets, config: config, using: &rng)
        }
        let head = search(.auxiliaryHead)
        let wrapped = search(.classifier(AuxiliaryClassifier(discriminator)))
        XCTAssertEqual(wrapped.images, head.images)
        XCTAssertEqual(wrapped.records.map(\.auxiliaryPrediction), head.records.map(\.auxiliaryPrediction))

        var keeperRNG = SeededGenerator(seed: 33)
        let keeper = LogisticRegression(using: &keeperRNG)
        // Untrained, head and keeper would both read every image as one class; a bias toward 7
        // makes the keeper read the searches' images differently from the head.
        let bias = keeper.namedParameters.first { $0.0.hasSuffix("bias") }!.1
        bias.value.scalars[7] += 4
        let kept = search(.classifier(keeper))
        XCTAssertNotEqual(kept.images, head.images, "another keeper changes the search")
        let keeperClasses = keeper.predict(kept.images)
        let headClasses = AuxiliaryClassifier(discriminator).predict(kept.images)
        XCTAssertNotEqual(keeperClasses, headClasses, "keeper and head must disagree somewhere for the check to mean anything")
        let predictions = classifier.predict(kept.images)
        for (i, record) in kept.records.enumerated() {
            XCTAssertEqual(record.auxiliaryPrediction, keeperClasses[i], "record \(i) carries the keeper's class")
            XCTAssertEqual(record.success, predictions[i] == targets[i] && keeperClasses[i] == sources[i])
        }
    }
}
