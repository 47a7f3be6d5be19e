import AdvAnalysis
import AdvAttacks
import AdvImaging
import AdvModels
import AdvTensor
import Foundation

extension Study {
    /// Song et al.'s latent-space search against both models: targeted over all 90 pairs,
    /// untargeted per source class, and the noise-augmented targeted variant.
    func measureUnrestricted() throws -> [UnrestrictedSetting] {
        var rows: [UnrestrictedSetting] = []
        let pairs = (0..<10).flatMap { s in (0..<10).filter { $0 != s }.map { (s, $0) } }
        for (name, model) in classifiers {
            for variant in ["targeted", "untargeted", "noise-augmented"] {
                let started = Date()
                var config = LatentSearchConfig()
                config.steps = settings.unrestricted_steps
                config.learningRate = Float(settings.unrestricted_lr)
                config.startCandidates = settings.unrestricted_start_candidates
                if variant == "noise-augmented" { config.noiseEps = Float(settings.noise_eps) }
                let sources: [Int], targets: [Int]?
                if variant == "untargeted" {
                    sources = (0..<10).flatMap { [Int](repeating: $0, count: settings.unrestricted_untargeted_per_class) }
                    targets = nil
                } else {
                    sources = pairs.flatMap { [Int](repeating: $0.0, count: settings.unrestricted_per_pair) }
                    targets = pairs.flatMap { [Int](repeating: $0.1, count: settings.unrestricted_per_pair) }
                }
                var rng = SeededGenerator(seed: seed &+ 211)
                let parts = batchRanges(count: sources.count, size: 200).map { range in
                    latentSearch(generator: models.generator, discriminator: models.discriminator, classifier: model,
                                 sources: Array(sources[range]), targets: targets.map { Array($0[range]) }, config: config, using: &rng)
                }
                let outcome = LatentSearchOutcome(startImages: Tensor.concatenate(parts.map(\.startImages)),
                                                  images: Tensor.concatenate(parts.map(\.images)), records: parts.flatMap(\.records))
                let row = try unrestrictedSetting(model: name, variant: variant, outcome: outcome, sources: sources, targets: targets)
                rows.append(row)
                offerUnrestricted(model: name, variant: variant, outcome: outcome, row: row)
                log(String(format: "%@ unrestricted %@: success %.3f over %d searches (%.1f s)", name, variant, outcome.successRate,
                           sources.count, Date().timeIntervalSince(started)))
            }
        }
        return rows
    }

    func unrestrictedSetting(model name: String, variant: String, outcome: LatentSearchOutcome, sources: [Int], targets: [Int]?) throws -> UnrestrictedSetting {
        let records = outcome.records
        let perPair: [[Double?]]? = targets == nil ? nil : UnrestrictedFigures.pairCells(outcome).rates
        let perSource = (0..<10).map { s -> Double in
            let members = records.indices.filter { sources[$0] == s }
            return members.isEmpty ? 0 : Double(members.filter { records[$0].success }.count) / Double(members.count)
        }
        // Distance of each success to the nearest training image of its source class: (2) has no
        // original to ask about, so this is what the report shows instead.
        let successes = records.indices.filter { records[$0].success }
        let nearest = successes.isEmpty ? (l2: [], linf: []) : NearestNeighbors.nearestOfClass(outcome.images.gather(successes), classes: successes.map { sources[$0] },
                                                      memory: train.images, memoryLabels: train.labels)
        let l2 = nearest.l2.map(Double.init).sorted(), linf = nearest.linf.map(Double.init).sorted()
        func quantiles(_ sorted: [Double]) -> [Double] { sorted.isEmpty ? [] : lowerQuantiles(sorted, [0, 0.5]) }
        // The 5-NN's reading of every searched image: condition (1)'s k-NN proxy and the grid's second judge.
        let judged = records.isEmpty ? nil : embeddingJudgement(outcome.images)
        // (1) by proxy, against the search's own starting image G(z0, s).
        let conditionOne = judged.map {
            self.conditionOne(clean: outcome.startImages, adversarial: outcome.images, adversarialJudged: $0, labels: sources,
                              success: records.map(\.success), reference: other(than: name))
        }
        if let perPair, variant == "targeted" || variant == "noise-augmented" {
            var heat = Heatmap(values: perPair.map { $0.map { Float($0 ?? .nan) } }, rowLabels: (0..<10).map { "s=\($0)" },
                               columnLabels: (0..<10).map { "t=\($0)" })
            heat.title = "\(variant) latent search vs the \(name) model: success rate per pair (seed \(seed))"
            heat.valueRange = 0...1
            try savePNG(heat.render(), name: "unrestricted-\(variant)-\(name)-matrix", file: "unrestricted-\(variant)-\(name)-matrix.png")
            if variant == "targeted" {
                let title = String(format: "targeted latent search vs the %@ model (seed %llu)", name, seed)
                try savePNG(UnrestrictedFigures.allPairs(outcome: outcome, generator: models.generator, seed: seed, title: title,
                                                         secondJudge: judged?.knnLabels).render(),
                            name: "unrestricted-\(name)-grid", file: "unrestricted-\(name)-grid.png")
            }
        }
        return UnrestrictedSetting(model: name, variant: variant, count: records.count, success_rate: outcome.successRate,
                                   per_pair: perPair, per_source_success_rate: perSource,
                                   auxiliary_source_confidence_on_successes: UnrestrictedFigures.meanAuxiliarySourceConfidence(records),
                                   condition_one: conditionOne, nearest_train_l2_quantiles: quantiles(l2),
                                   nearest_train_linf_quantiles: quantiles(linf),
                                   condition_two_reason: "an unrestricted example has no original image, so no ε-ball exists and (2) cannot hold by construction; "
                                       + "the distance to the nearest training image of the source class is shown instead")
    }
}
