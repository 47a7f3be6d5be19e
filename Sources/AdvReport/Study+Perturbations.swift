import AdvAnalysis
import AdvAttacks
import AdvImaging
import AdvModels
import AdvTensor
import Foundation

extension Study {
    /// One perturbation attack to run on both models.
    struct PerturbationSetting {
        var method: AttackMethod
        var norm: PerturbationNorm
        var eps: Double
    }

    /// The perturbation section's numbers: every attack row and C&W-L2's minimal perturbations.
    struct Perturbations {
        var rows: [AttackSetting]
        var minimal: [MinimalPerturbation]
    }

    /// FGSM, IGS and PGD under L∞ over the L∞ grid, PGD under L2 over the L2 grid, embedding
    /// PGD, each on both models with its verdicts; then C&W-L2's minimal perturbations.
    func measurePerturbations(_ conditionTwo: ConditionTwoData) -> Measured<Perturbations> {
        let count = min(settings.attack_images, test.count)
        let images = test.images.slice(0..<count)
        let labels = Array(test.labels[0..<count])
        let cleanEmbeddings = testEmbeddings.slice(0..<count)
        var plan: [PerturbationSetting] = []
        for method in [AttackMethod.fgsm, .igs, .pgd] {
            plan += settings.linf_grid.map { PerturbationSetting(method: method, norm: .linf, eps: $0) }
        }
        plan += settings.l2_grid.map { PerturbationSetting(method: .pgd, norm: .l2, eps: $0) }
        let headline = dataset.headline_linf_eps
        let figureEps = settings.linf_grid.min { abs($0 - headline) < abs($1 - headline) } ?? headline

        var rows: [AttackSetting] = []
        var figures: [StudyFigure] = []
        var offers: [JudgeOffer] = []
        for (name, model) in classifiers {
            for setting in plan {
                let started = Date()
                var rng = SeededGenerator(seed: seed &+ 101)
                let outcome = runGradientAttack(model, setting: setting, images: images, labels: labels, using: &rng)
                rows.append(
                    attackSetting(
                        model: name, method: setting.method.rawValue, norm: setting.norm.rawValue, eps: setting.eps,
                        clean: images, cleanEmbeddings: cleanEmbeddings, labels: labels, outcome: outcome,
                        conditionTwo: conditionTwo))
                log(
                    String(
                        format: "%@ %@ %@ ε %g: robust accuracy %.4f on %d images (%.1f s)", name, setting.method.rawValue,
                        setting.norm.rawValue,
                        setting.eps, outcome.robustAccuracy, count, Date().timeIntervalSince(started)))
                if setting.method == .pgd, setting.norm == .linf, setting.eps == figureEps {
                    let title = String(
                        format: "PGD-%d L∞ ε %g against the %@ model: robust accuracy %.3f (seed %llu)",
                        settings.attack_steps, setting.eps, name, outcome.robustAccuracy, seed)
                    let grid = AttackFigures.perturbationRows(
                        clean: images, adversarial: outcome.adversarialImages, results: outcome.results,
                        rows: AttackFigures.figureIndices(outcome.results), title: title)
                    figures.append(.png(grid.render(), name: "pgd-linf-\(name)"))
                }
                if let row = rows.last, let offer = perturbationOffer(row, outcome: outcome, labels: labels) { offers.append(offer) }
            }
            // The headline settings under AutoAttack: robust accuracy as the field reports it, with
            // (1)'s proxies on each example's image from the stage that fooled it.
            for headline in settings.headlinesInGrid(dataset) {
                let started = Date()
                var rng = SeededGenerator(seed: seed &+ 101)
                let staged = runAutoAttack(model, norm: headline.norm, eps: headline.eps, images: images, labels: labels, using: &rng)
                var row = attackSetting(
                    model: name, method: AttackMethod.autoattack.rawValue, norm: headline.norm.rawValue, eps: headline.eps,
                    clean: images, cleanEmbeddings: cleanEmbeddings, labels: labels, outcome: staged.outcome,
                    conditionTwo: conditionTwo)
                row.stages = staged.stages
                rows.append(row)
                log(
                    String(
                        format: "%@ autoattack (%@) %@ ε %g: robust accuracy %.4f on %d images (%@; %.1f s)", name,
                        settings.autoattack_version.rawValue, headline.norm.rawValue, headline.eps, staged.outcome.robustAccuracy, count,
                        staged.stages.map { String(format: "%@ %.4f", $0.name, $0.robust_accuracy) }.joined(separator: ", "),
                        Date().timeIntervalSince(started)))
            }
            // Embedding PGD: the ball lives in the triplet embedding, so (2) is asked there too.
            let config = EmbeddingPGDConfig(epsEmbedding: Float(settings.embedding_eps), stepSize: 0.01, steps: settings.attack_steps)
            let outcome = inBatches(count: count, batchSize: 250) { range in
                embeddingPGD(
                    model: model, embedding: models.embedding, images01: images.slice(range), labels: Array(labels[range]),
                    config: config, indexOffset: range.lowerBound)
            }
            rows.append(
                attackSetting(
                    model: name, method: "embedding-pgd", norm: "embedding-l2", eps: settings.embedding_eps,
                    clean: images, cleanEmbeddings: cleanEmbeddings, labels: labels, outcome: outcome,
                    conditionTwo: conditionTwo))
            log(String(format: "%@ embedding PGD ε_e %g: robust accuracy %.4f", name, settings.embedding_eps, outcome.robustAccuracy))
        }
        let minimal = measureMinimalPerturbations()
        return Measured(Perturbations(rows: rows, minimal: minimal.value), figures: figures + minimal.figures, offers: offers)
    }

    func runGradientAttack(
        _ model: any ImageClassifier, setting: PerturbationSetting, images: Tensor, labels: [Int],
        using rng: inout SeededGenerator
    ) -> AttackOutcome {
        // The same rule as `advlab attack --method …` (step pgd_step_factor·ε/k, Madry et al. 2018).
        guard
            let config = GradientAttackConfig.named(
                setting.method, norm: setting.norm, eps: Float(setting.eps), steps: settings.attack_steps,
                stepFactor: Float(settings.pgd_step_factor))
        else {
            preconditionFailure("\(setting.method.rawValue) is not a gradient attack")
        }
        return inBatches(count: labels.count, batchSize: 250) { range in
            gradientAttack(
                model: model, images01: images.slice(range), labels: Array(labels[range]), targets: nil, config: config,
                using: &rng, indexOffset: range.lowerBound)
        }
    }

    /// AutoAttack at one headline setting: the same rule (`AutoAttackConfig.named`) and function
    /// (`runAttackStages`, its default batches) as `advlab attack --method autoattack --version V
    /// --steps N`, so that command with `--seed` = the report's seed + 101 prints these figures.
    func runAutoAttack(
        _ model: any ImageClassifier, norm: PerturbationNorm, eps: Double, images: Tensor, labels: [Int],
        using rng: inout SeededGenerator
    ) -> StagedAttackOutcome {
        let config = AutoAttackConfig.named(
            norm: norm, eps: Float(eps), iterations: settings.autoattack_iterations, queries: settings.autoattack_square_queries)
        return runAttackStages(
            settings.autoattack_version.stages, model: model, images01: images, labels: labels, config: config, using: &rng)
    }

    func attackSetting(
        model name: String, method: String, norm: String, eps: Double, clean: Tensor, cleanEmbeddings: Tensor, labels: [Int],
        outcome: AttackOutcome, conditionTwo: ConditionTwoData
    ) -> AttackSetting {
        let success = outcome.results.map(\.success)
        return AttackSetting(
            model: name, method: method, norm: norm, eps: eps, count: labels.count, clean_accuracy: outcome.cleanAccuracy,
            robust_accuracy: outcome.robustAccuracy, per_class_robust_accuracy: outcome.perClassRobustAccuracy(),
            condition_one: conditionOne(
                clean: clean, cleanEmbeddings: cleanEmbeddings, adversarial: outcome.adversarialImages, labels: labels, success: success,
                reference: other(than: name)),
            condition_two: conditionTwo.verdict(norm: norm, eps: eps, model: name))
    }

    /// C&W-L2 on the first `cw_images` test images of each model: the distribution of the
    /// smallest perturbation that flips the model, against each image's nearest same-class image.
    func measureMinimalPerturbations() -> Measured<[MinimalPerturbation]> {
        let count = min(settings.cw_images, test.count)
        let images = test.images.slice(0..<count)
        let labels = Array(test.labels[0..<count])
        let nearest = AdvAnalysis.nearestSameClass(
            images: allImages, labels: allLabels, queries: (0..<count).map { $0 + train.count },
            memory: Array(allLabels.indices), norm: .l2)
        var config = CarliniWagnerConfig()
        config.iterations = settings.cw_iterations
        config.binarySearchSteps = settings.cw_binary_steps
        var rows: [MinimalPerturbation] = []
        var plot = SVGPlot(
            title: "C&W-L2 minimal perturbation vs nearest same-class image (\(count) test images)",
            xLabel: "L2 distance", yLabel: "share of images within x")
        plot.yRange = 0...1
        plot.identifier = "cw"
        for (index, (name, model)) in classifiers.enumerated() {
            let started = Date()
            let outcome = inBatches(count: count, batchSize: 250) { range in
                carliniWagnerL2(
                    model: model, images01: images.slice(range), labels: Array(labels[range]), config: config,
                    indexOffset: range.lowerBound)
            }
            let successes = outcome.results.filter(\.success)
            let l2 = successes.map { Double($0.l2) }.sorted()
            let perClass = (0..<classCount).map { digit in
                lowerQuantile(successes.filter { $0.label == digit }.map { Double($0.l2) }.sorted(), 0.5)
            }
            // Images already misclassified count as flipped at distance 0.
            let below = outcome.results.indices.filter { outcome.results[$0].success && outcome.results[$0].l2 < nearest[$0] }.count
            let levels = [0.1, 0.5, 0.9]
            rows.append(
                MinimalPerturbation(
                    model: name, count: count, success_rate: Double(successes.count) / Double(max(1, count)),
                    quantile_levels: levels, l2_quantiles: lowerQuantiles(l2, levels), per_class_median_l2: perClass,
                    share_below_nearest_same_class: Double(below) / Double(max(1, count)),
                    condition_one: conditionOne(
                        clean: images, cleanEmbeddings: testEmbeddings.slice(0..<count),
                        adversarial: outcome.adversarialImages, labels: labels,
                        success: outcome.results.map(\.success), reference: other(than: name))))
            let xs = (0...50).map { 8 * Double($0) / 50 }
            plot.addSeries(
                "\(name): C&W minimal L2", x: xs, y: xs.map { x in Double(l2.filter { $0 <= x }.count) / Double(max(1, count)) },
                color: SVGPlot.palette[index])
            log(
                String(
                    format: "%@ C&W-L2: success %.3f, median L2 %.3f (%.1f s)", name, rows.last?.success_rate ?? 0,
                    lowerQuantile(l2, 0.5), Date().timeIntervalSince(started)))
        }
        let nearestSorted = nearest.map(Double.init).sorted()
        let xs = (0...50).map { 8 * Double($0) / 50 }
        plot.addSeries(
            "nearest same-class image", x: xs, y: xs.map { x in Double(nearestSorted.filter { $0 <= x }.count) / Double(max(1, count)) },
            color: SVGPlot.palette[2], dashed: true)
        return Measured(rows, figures: [.svg(plot, name: "cw-minimal-l2")])
    }
}
