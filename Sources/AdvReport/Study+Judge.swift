import AdvAnalysis
import AdvAttacks
import AdvModels
import AdvTensor
import Foundation

/// What each section offers to the judge set (judge-set.json): every setting's images with the
/// lab's own judgement; `JudgeOffer.judgeSet` draws `judge_per_kind` of each, stratified over
/// classes (and class pairs where there is a target).
extension Study {
    /// The controls: real test images (from the last 1,000, which no attack uses; the attention
    /// checks) and plain samples of the generator.
    func controlOffers() -> [JudgeOffer] {
        let tail = max(0, test.count - 1000)
        // Ten per class to stratify from.
        let (samples, classes) = generateSamples(models.generator, count: 10 * classCount, seed: seed &+ 13)
        return [
            JudgeOffer(
                setting: JudgeSettings.real, kind: "real", images: test.images, candidates: Array(tail..<test.count),
                intended: test.labels, detail: { "test image \($0)" }, knnKeepsIntended: nil),
            JudgeOffer(
                setting: JudgeSettings.plainSamples(generator: generatorName), kind: "plain-gan", images: samples,
                candidates: Array(classes.indices), intended: classes, knnKeepsIntended: nil),
        ]
    }

    /// The successes of one latent search setting.
    func unrestrictedOffer(model: String, variant: String, outcome: LatentSearchOutcome, row: UnrestrictedSetting) -> JudgeOffer {
        let records = outcome.records
        return JudgeOffer(
            setting: JudgeSettings.unrestricted(generator: generatorName, variant: variant, model: model), kind: "unrestricted",
            images: outcome.images, candidates: records.indices.filter { records[$0].success }, intended: records.map(\.source),
            other: variant == "untargeted" ? nil : records.map { $0.target ?? $0.source },
            knnKeepsIntended: row.condition_one?.overall.knn_keeps_source, panelKeepsIntended: row.panel_agreement_on_successes)
    }

    /// The successful examples of a perturbation attack, when it is one of `JudgeSettings.perturbations(dataset)`.
    func perturbationOffer(_ row: AttackSetting, outcome: AttackOutcome, labels: [Int]) -> JudgeOffer? {
        guard
            JudgeSettings.perturbations(dataset).contains(where: { judged in
                judged.method == row.method && judged.norm == row.norm && abs(judged.eps - row.eps) < 1e-9
            })
        else { return nil }
        return JudgeOffer(
            setting: JudgeSettings.perturbation(method: row.method, norm: row.norm, eps: row.eps, model: row.model),
            kind: "perturbation",
            images: outcome.adversarialImages, candidates: outcome.results.indices.filter { outcome.results[$0].success },
            intended: labels, detail: { "test image \($0)" }, knnKeepsIntended: row.condition_one.overall.knn_keeps_source)
    }

    /// Label-changing examples at one ε: all of them (the question is which class people see).
    func invarianceOffer(_ report: InvarianceReport, records: [InvarianceRecord], images: Tensor) -> JudgeOffer {
        let knnKeeps = records.isEmpty ? nil : Double(records.filter { $0.knn_adversarial == $0.label }.count) / Double(records.count)
        return JudgeOffer(
            setting: JudgeSettings.invariance(eps: report.eps), kind: "perturbation", images: images,
            candidates: Array(records.indices), intended: records.map(\.label), other: records.map(\.target),
            detail: { "test image \(records[$0].index)" }, knnKeepsIntended: knnKeeps)
    }
}
