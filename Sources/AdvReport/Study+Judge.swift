import AdvAnalysis
import AdvAttacks
import AdvModels
import AdvTensor
import Foundation

/// The judge set (judge-set.json): `judge_per_kind` images of every setting, stratified over
/// classes (and class pairs where there is a target), each setting with the lab's own judgement.
extension Study {
    /// Offers up to `judge_per_kind` of `candidates` (row indices of `images`) under `setting`.
    /// intended/other: per row of `images`. One stream (`seed + 401`) draws every setting in turn.
    func offerToJudge(
        setting: String, kind: String, images: Tensor, candidates: [Int], intended: [Int], other: [Int]? = nil,
        detail: (Int) -> String? = { _ in nil }, knnKeepsIntended: Double?, panelKeepsIntended: Double? = nil
    ) {
        let chosen = JudgeSampling.stratified(
            candidates, count: settings.judge_per_kind,
            stratum: { row in other.map { "\(intended[row])→\($0[row])" } ?? "\(intended[row])" },
            using: &judgeRandom)
        for row in chosen {
            judgeItems.append(
                JudgeItem(
                    id: "\(kind)-\(judgeItems.count)", kind: kind, intended: intended[row], setting: setting,
                    other: other?[row], detail: detail(row), image01: images.slice(row..<(row + 1))))
        }
        judgeSettings.append(
            JudgeSetting(setting: setting, kind: kind, knn_keeps_intended: knnKeepsIntended, panel_keeps_intended: panelKeepsIntended))
    }

    /// The controls: real test images (from the last 1,000, which no attack uses; the attention
    /// checks) and plain samples of the generator.
    func offerControls() {
        let tail = max(0, test.count - 1000)
        offerToJudge(
            setting: JudgeSettings.real, kind: "real", images: test.images, candidates: Array(tail..<test.count),
            intended: test.labels,
            detail: { "test image \($0)" }, knnKeepsIntended: nil)
        // Ten per class to stratify from.
        let (samples, classes) = generateSamples(models.generator, count: 10 * classCount, seed: seed &+ 13)
        offerToJudge(
            setting: JudgeSettings.plainSamples(generator: generatorName), kind: "plain-gan", images: samples,
            candidates: Array(classes.indices), intended: classes, knnKeepsIntended: nil)
    }

    /// The successes of one latent search setting.
    func offerUnrestricted(model: String, variant: String, outcome: LatentSearchOutcome, row: UnrestrictedSetting) {
        let records = outcome.records
        offerToJudge(
            setting: JudgeSettings.unrestricted(generator: generatorName, variant: variant, model: model), kind: "unrestricted",
            images: outcome.images, candidates: records.indices.filter { records[$0].success }, intended: records.map(\.source),
            other: variant == "untargeted" ? nil : records.map { $0.target ?? $0.source },
            knnKeepsIntended: row.condition_one?.overall.knn_keeps_source, panelKeepsIntended: row.panel_agreement_on_successes)
    }

    /// The successful examples of a perturbation attack, when it is one of `JudgeSettings.perturbations(dataset)`.
    func offerPerturbation(_ row: AttackSetting, outcome: AttackOutcome, labels: [Int]) {
        guard
            JudgeSettings.perturbations(dataset).contains(where: { judged in
                judged.method == row.method && judged.norm == row.norm && abs(judged.eps - row.eps) < 1e-9
            })
        else { return }
        offerToJudge(
            setting: JudgeSettings.perturbation(method: row.method, norm: row.norm, eps: row.eps, model: row.model),
            kind: "perturbation",
            images: outcome.adversarialImages, candidates: outcome.results.indices.filter { outcome.results[$0].success },
            intended: labels, detail: { "test image \($0)" }, knnKeepsIntended: row.condition_one.overall.knn_keeps_source)
    }

    /// Label-changing examples at one ε: all of them (the question is which class people see).
    func offerInvariance(_ report: InvarianceReport, records: [InvarianceRecord], images: Tensor) {
        let knnKeeps = records.isEmpty ? nil : Double(records.filter { $0.knn_adversarial == $0.label }.count) / Double(records.count)
        offerToJudge(
            setting: JudgeSettings.invariance(eps: report.eps), kind: "perturbation", images: images,
            candidates: Array(records.indices), intended: records.map(\.label), other: records.map(\.target),
            detail: { "test image \(records[$0].index)" }, knnKeepsIntended: knnKeeps)
    }
}
