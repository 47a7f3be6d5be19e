import AdvAnalysis
import AdvAttacks
import AdvImaging
import AdvModels
import AdvTensor
import Foundation

extension Study {
    /// Song et al.'s latent-space search against both models: targeted over all 90 pairs,
    /// untargeted per source class, and the noise-augmented targeted variant.
    func measureUnrestricted() -> Measured<[UnrestrictedSetting]> {
        var rows: [UnrestrictedSetting] = []
        var figures: [StudyFigure] = []
        var offers: [JudgeOffer] = []
        let allPairs = UnrestrictedPlan.allPairs(classCount: classCount, count: settings.unrestricted_per_pair)
        for (name, model) in classifiers {
            // The panel: the 5-NN, the robust judge of another architecture, the natural model when it is not the one attacked.
            let judges =
                (self.models.judge.map { [$0] } ?? [])
                + (name == "natural" ? [] : [(name: "natural", classifier: self.models.natural)])
            let models = UnrestrictedModels(
                generator: self.models.generator, discriminator: self.models.discriminator, classifier: model,
                knn: knn, judges: judges, train: train)
            for variant in ["targeted", "untargeted", "noise-augmented"] {
                let started = Date()
                var config = LatentSearchConfig()
                config.steps = settings.unrestricted_steps
                config.learningRate = Float(settings.unrestricted_lr)
                config.startCandidates = settings.unrestricted_start_candidates
                if variant == "noise-augmented" { config.noiseEps = Float(settings.noise_eps) }
                let (sources, targets): ([Int], [Int]?) =
                    variant == "untargeted"
                    ? ((0..<classCount).flatMap { [Int](repeating: $0, count: settings.unrestricted_untargeted_per_class) }, nil)
                    : (allPairs.sources, allPairs.targets)
                var plan = UnrestrictedPlan(
                    sources: sources, targets: targets, config: config, seed: seed,
                    title: "\(variant) latent search vs the \(name) model", generatorName: self.models.paths.acgan,
                    modelName: name == "natural" ? self.models.paths.natural : self.models.paths.robust)
                plan.searchSeedOffset = 211
                plan.figures = variant == "targeted" ? [.allPairs, .successMatrix] : variant == "noise-augmented" ? [.successMatrix] : []
                let result = runUnrestricted(plan, models: models)
                let row = unrestrictedSetting(model: name, variant: variant, result: result)
                rows.append(row)
                figures += unrestrictedFigures(model: name, variant: variant, result: result)
                offers.append(unrestrictedOffer(model: name, variant: variant, outcome: result.outcome, row: row))
                log(
                    String(
                        format: "%@ unrestricted %@: success %.3f over %d searches (%.1f s)", name, variant, result.summary.success_rate,
                        sources.count, Date().timeIntervalSince(started)))
            }
        }
        return Measured(rows, figures: figures, offers: offers)
    }

    /// The search's grids under the report's names: the all-pairs grid and the success matrix.
    func unrestrictedFigures(model name: String, variant: String, result: UnrestrictedResult) -> [StudyFigure] {
        let files: [(UnrestrictedFigure, String)] = [
            (.allPairs, "unrestricted-\(name)-grid"),
            (.successMatrix, "unrestricted-\(variant)-\(name)-matrix"),
        ]
        return files.compactMap { figure, file in result.figures[figure].map { StudyFigure.png($0, name: file) } }
    }

    func unrestrictedSetting(model name: String, variant: String, result: UnrestrictedResult) -> UnrestrictedSetting {
        let records = result.records
        let sources = result.plan.sources
        let perSource = (0..<classCount).map { s -> Double in
            let members = records.indices.filter { sources[$0] == s }
            return members.isEmpty ? 0 : Double(members.filter { records[$0].success }.count) / Double(members.count)
        }
        // Distance of each success to the nearest training image of its source class: (2) has no
        // original to ask about, so this is what the report shows instead.
        let successes = result.successIndices
        let l2 = successes.map { Double(result.nearestL2[$0]) }.sorted()
        let linf = successes.map { Double(result.nearestLinf[$0]) }.sorted()
        func quantiles(_ sorted: [Double]) -> [Double] { sorted.isEmpty ? [] : lowerQuantiles(sorted, [0, 0.5]) }
        // (1) by proxy, against the search's own starting image G(z0, s); the 5-NN's reading is the search's.
        let conditionOne =
            records.isEmpty
            ? nil
            : self.conditionOne(
                clean: result.outcome.startImages, adversarial: result.outcome.images,
                adversarialJudged: (embeddings: result.embeddings, knnLabels: Optional(result.knnLabels)), labels: sources,
                success: records.map(\.success),
                reference: other(than: name))
        return UnrestrictedSetting(
            model: name, variant: variant, count: records.count, success_rate: result.summary.success_rate,
            per_pair: result.plan.targets == nil ? nil : result.summary.per_pair, per_source_success_rate: perSource,
            auxiliary_source_confidence_on_successes: result.summary.auxiliary_source_confidence_on_successes,
            panel: result.panel.judges, panel_missing: models.missingJudge,
            valid_success_rate: result.summary.valid_success_rate,
            panel_agreement_on_successes: result.summary.panel_agreement_on_successes,
            judge_agreement_on_successes: result.summary.judge_agreement_on_successes,
            panel_agreement_on_starts_of_successes: result.summary.panel_agreement_on_starts_of_successes,
            condition_one: conditionOne, nearest_train_l2_quantiles: quantiles(l2),
            nearest_train_linf_quantiles: quantiles(linf),
            condition_two_reason: "an unrestricted example has no original image, so no ε-ball exists and (2) cannot hold by construction; "
                + "the distance to the nearest training image of the source class is shown instead")
    }
}
