import AdvAnalysis
import Foundation

/// Builds the report's pages from `results.json` alone.
public enum ReportContent {
    public static func document(_ r: ReportResults) -> ReportDocument {
        var doc = ReportDocument(title: "advlab report: what counts as an adversarial example on \(r.data.title)")
        let data = r.data
        var blocks: [ReportBlock] = []
        func figure(_ name: String, _ caption: String) -> ReportBlock? { r.figures[name].map { .figure(file: $0, caption: caption) } }
        func figures(_ list: [(String, String)]) -> ReportBlock? {
            let present = list.compactMap { name, caption in r.figures[name].map { (file: $0, caption: caption) } }
            return present.isEmpty ? nil : .figures(present)
        }
        func verdict(_ holds: Bool) -> String { holds ? "holds" : "violated" }

        blocks.append(
            .paragraph(
                "Seed \(r.seed)\(r.quick ? ", quick run on small subsets (numbers are noisy)" : ", full run"); "
                    + "natural model \(r.models["natural"] ?? ""), robust model \(r.models["robust"] ?? ""), AC-GAN \(r.generator), "
                    + "triplet embedding \(r.embedding). The study took \(String(format: "%.0f", r.seconds)) s. Every number on this page is in results.json."
            ))
        blocks.append(
            .paragraph(
                "The post's two conditions on a perturbation set: (1) every perturbed image is imperceptibly different from its original "
                    + "side by side; (2) no perturbation turns one dataset image into another dataset image of the same class, so that robustness "
                    + "is not confounded with generalization. (2) is measured exactly (a nearest-neighbour search over train and test images); (1) "
                    + "needs people, so it is measured by proxies that are named as proxies, and by the judge page."))

        // Conclusions
        blocks.append(.heading(level: 2, text: "Conclusions", anchor: "conclusions"))
        blocks.append(
            .table(
                header: ["question", "answer from this run's numbers"], rows: r.conclusions.map { [$0.question, $0.answer] },
                numericColumns: []))

        // Generalization
        blocks.append(.heading(level: 2, text: "Generalization", anchor: "generalization"))
        var generalizationRows: [[String]] = []
        for row in r.generalization.models {
            let search = { (variant: String) in
                Format.value(r.unrestricted.first { $0.model == row.model && $0.variant == variant }?.success_rate)
            }
            generalizationRows.append([
                row.model, Format.value(row.test_error), Format.value(row.plain_sample_error), search("targeted"),
                search("untargeted"), search("noise-augmented"),
            ])
        }
        blocks.append(
            .paragraph(
                "Errors without any perturbation: on \(r.generalization.test_images) test images, on "
                    + "\(r.generalization.plain_samples_per_class) plain AC-GAN samples per class (no search), and the success rate of the latent-space "
                    + "search of Song et al. 2018, which only counts an example when the AC-GAN's auxiliary classifier still says the source class."
            ))
        blocks.append(
            .table(
                header: [
                    "model", "test error", "plain AC-GAN sample error", "unrestricted targeted", "unrestricted untargeted",
                    "noise-augmented",
                ],
                rows: generalizationRows, numericColumns: [1, 2, 3, 4, 5]))
        let perClassHeader =
            ["class"] + r.generalization.models.flatMap { ["\($0.model) test error", "\($0.model) plain-sample error"] }
            + r.unrestricted.filter { $0.variant == "untargeted" }.map { "\($0.model) untargeted success" }
        let perClassRows = r.classes.map { digit -> [String] in
            [data.className(digit)]
                + r.generalization.models.flatMap {
                    [Format.value($0.per_class_test_error[digit]), Format.value($0.per_class_plain_sample_error[digit])]
                }
                + r.unrestricted.filter { $0.variant == "untargeted" }.map { Format.value($0.per_source_success_rate[digit]) }
        }
        blocks.append(.table(header: perClassHeader, rows: perClassRows, numericColumns: Set(1..<perClassHeader.count)))

        // Perturbation robustness
        blocks.append(.heading(level: 2, text: "Perturbation robustness and the two conditions", anchor: "robustness"))
        blocks.append(
            .paragraph(
                "FGSM, IGS and PGD (random start, step \(Format.eps(r.settings.pgd_step_factor))·ε/k) under L∞, PGD under L2, and PGD projected in the triplet embedding, "
                    + "on the first \(r.settings.attack_images) test images with \(r.settings.attack_steps) steps. (1) by proxy: the share of background "
                    + "pixels changed visibly, mean SSIM and whether the embedding's k-NN still gives the source class on successful examples "
                    + "(rule: \(ruleText(r))). (2): the share of images with another image of their class inside the ε-ball, over "
                    + "\(r.robustness.first?.condition_two.images ?? 0) images searched against all train and test images."))
        let autoAttackRows = r.robustness.filter { $0.stages != nil }
        if !autoAttackRows.isEmpty {
            let version = r.settings.autoattack_version
            let headlines = r.settings.headlinesInGrid(data).map { "\(Format.norm($0.norm.rawValue)) ε = \(Format.eps($0.eps))" }
            blocks.append(
                .paragraph(
                    "The headline robust accuracy (the per-class tables below and the conclusions) at "
                        + headlines.joined(separator: " and ") + " is AutoAttack's, the ensemble of Croce & Hein that the field reports, "
                        + "in its \(version.rawValue) version: " + version.stages.map(\.displayName).joined(separator: ", then ")
                        + ", each only on the examples still robust after the one before, with \(r.settings.autoattack_iterations) iterations"
                        + (version.stages.contains(.square) ? " and \(r.settings.autoattack_square_queries) Square queries" : "")
                        + (r.quick && version != .standard
                            ? " (the quick run's budget; the full report runs the standard version: APGD-CE, APGD-T, FAB-T and Square)"
                            : "")
                        + ". PGD keeps its curve along ε, with AutoAttack's figures drawn on it as diamonds. Each example keeps the image "
                        + "of the stage that fooled it, and AutoAttack's proxies of (1) are computed on those images: the k-NN and the other "
                        + "model are asked about the examples that fooled the attacked one."))
        }
        if let block = figures([
            ("robustness-linf", "Robust accuracy against ε under L∞ (solid natural, dashed robust; diamonds: AutoAttack)."),
            ("robustness-l2", "Robust accuracy against ε under L2 (diamonds: AutoAttack)."),
        ]) {
            blocks.append(block)
        }
        // Robust accuracy should not rise with ε; where it does (noise on a small subset, or masking), say so.
        let rising = ReportVerification.risingRobustness(r)
        if !rising.isEmpty {
            blocks.append(
                .paragraph(
                    "Robust accuracy rises with ε here, which a stronger attack would not allow: " + rising.joined(separator: "; ") + "."))
        }
        blocks.append(
            .table(
                header: [
                    "model", "attack", "ε", "robust acc.", "bg pixels changed", "SSIM", "k-NN keeps source", "other model keeps source",
                    "(1) by proxy", "same-class image within ε", "misclassified within ε", "(2)",
                ],
                rows: r.robustness.map { row in
                    let one = row.condition_one.overall
                    return [
                        row.model, "\(row.stages == nil ? row.method : r.attackName(row)) \(Format.norm(row.norm))", Format.eps(row.eps),
                        Format.value(row.robust_accuracy),
                        Format.value(one.background_changed), Format.value(one.ssim), Format.value(one.knn_keeps_source),
                        Format.value(one.reference_keeps_source), verdict(row.condition_one.holds),
                        Format.share(row.condition_two.share_with_same_class_within_eps),
                        Format.share(row.condition_two.share_with_misclassified_within_eps), verdict(row.condition_two.holds),
                    ]
                }, numericColumns: [2, 3, 4, 5, 6, 7, 9, 10]))
        if let block = figures([
            (
                "pgd-linf-natural",
                "PGD under L∞ against the natural model: original, perturbation (red–blue, scaled to its own maximum), adversarial."
            ),
            ("pgd-linf-robust", "The same against the adversarially trained model."),
        ]) {
            blocks.append(block)
        }
        if !autoAttackRows.isEmpty {
            blocks.append(.heading(level: 3, text: "AutoAttack, stage by stage", anchor: nil))
            blocks.append(
                .table(
                    header: ["model", "ε", "stage", "attacked", "robust after it", "robust acc. after it", "seconds", "PGD robust acc."],
                    rows: autoAttackRows.flatMap { row in
                        (row.stages ?? []).map { stage in
                            [
                                row.model, "\(Format.norm(row.norm)) \(Format.eps(row.eps))", stage.name, String(stage.attacked),
                                String(stage.robust), Format.value(stage.robust_accuracy), Format.value(stage.seconds),
                                Format.value(r.setting(row.model, "pgd", row.norm, row.eps)?.robust_accuracy),
                            ]
                        }
                    }, numericColumns: [3, 4, 5, 6, 7]))
        }
        for headline in data.headlines {
            let (norm, eps) = (headline.norm.rawValue, headline.eps)
            let chosen = r.headlineRows(norm: norm, eps: eps)
            guard let first = chosen.first else { continue }
            blocks.append(
                .heading(level: 3, text: "Per class: \(r.attackName(first)) \(Format.norm(norm)) ε = \(Format.eps(eps))", anchor: nil))
            let header = ["class"] + chosen.flatMap { ["\($0.model) robust acc.", "\($0.model) (1)"] } + ["same-class within ε", "(2)"]
            let rows = r.classes.map { digit -> [String] in
                [data.className(digit)]
                    + chosen.flatMap {
                        [Format.value($0.per_class_robust_accuracy[digit]), verdict($0.condition_one.per_class_holds[digit])]
                    }
                    + [
                        Format.share(chosen[0].condition_two.per_class_share_with_same_class_within_eps[digit]),
                        verdict(chosen[0].condition_two.per_class_holds[digit]),
                    ]
            }
            blocks.append(
                .table(header: header, rows: rows, numericColumns: Set([0] + chosen.indices.map { 1 + 2 * $0 } + [header.count - 2])))
            if let reasons = chosen.first?.condition_one.reasons, let model = chosen.first?.model {
                blocks.append(
                    .paragraph(
                        "(1) for the \(model) model: " + reasons.joined(separator: "; ") + ". (2): " + chosen[0].condition_two.reason + ".")
                )
            }
        }

        // C&W
        blocks.append(.heading(level: 3, text: "Minimal perturbations (C&W-L2)", anchor: nil))
        let levels = r.minimal_perturbations.first?.quantile_levels ?? []
        blocks.append(
            .table(
                header: ["model", "images", "success"] + levels.map { "L2 quantile \(Format.eps($0))" } + [
                    "below nearest same-class image", "(1) by proxy",
                ],
                rows: r.minimal_perturbations.map { row in
                    [row.model, String(row.count), Format.value(row.success_rate)] + row.l2_quantiles.map { Format.value($0) }
                        + [Format.value(row.share_below_nearest_same_class), verdict(row.condition_one.holds)]
                }, numericColumns: [1, 2, 3, 4, 5, 6]))
        if let block = figure(
            "cw-minimal-l2",
            "Share of images flipped within an L2 distance x by C&W, against the share whose nearest same-class image lies within x.")
        {
            blocks.append(block)
        }

        // Condition (2) along ε
        blocks.append(.heading(level: 2, text: "Condition (2) along ε", anchor: "condition-two"))
        if let block = figures([
            ("condition-two-linf", "Share of images with another image of their class within ε (L∞), per class dashed."),
            ("condition-two-l2", "The same under L2."),
        ]) {
            blocks.append(block)
        }
        for curve in r.condition_two_curves {
            blocks.append(
                .table(
                    header: ["class"] + curve.quantile_levels.map { "\(curve.norm) nearest same-class, quantile \(Format.eps($0))" },
                    rows: r.classes.map {
                        [data.className($0)] + curve.per_class_nearest_same_class_quantiles[$0].map { Format.value($0) }
                    },
                    numericColumns: [1, 2, 3, 4]))
        }

        // Unrestricted
        blocks.append(.heading(level: 2, text: "Unrestricted adversarial examples", anchor: "unrestricted"))
        blocks.append(
            .paragraph(
                "Latent-space search on the AC-GAN (Song et al. 2018) with \(r.settings.unrestricted_steps) Adam steps of learning rate "
                    + "\(Format.eps(r.settings.unrestricted_lr)) and the reference's λ1, λ2 and ε_z, one start per search from the best of "
                    + "\(r.settings.unrestricted_start_candidates) random z0 by the objective at z0; noise-augmented adds ε·tanh(τ) with ε = \(Format.eps(r.settings.noise_eps)). "
                    + "A success needs the attacked model to say the target and the AC-GAN's auxiliary classifier the source; the triplet embedding's k-NN, "
                    + "which the search does not optimise against, is a second judge (column k-NN keeps source). A success is valid when every "
                    + "judge of the validity panel, which the search never sees, reads it as the source: the 5-NN, a robust judge of another "
                    + "architecture, and the natural model when the robust one is attacked (column panel); the same panel on the starting images "
                    + "G(z0, s) of the successes is the control (column panel agrees on their starts): what the search began from. The proxies of (1) compare each "
                    + "example with the search's own starting image G(z0, s)."))
        for note in Set(r.unrestricted.compactMap(\.panel_missing)).sorted() { blocks.append(.paragraph("Validity panel: " + note + ".")) }
        blocks.append(
            .table(
                header: [
                    "model", "variant", "searches", "success", "valid", "panel agrees on successes",
                    "panel agrees on their starts", "aux. confidence in source on successes", "SSIM to G(z0,s)", "k-NN keeps source",
                    "other model keeps source", "nearest train L2 (min, median)", "nearest train L∞ (min, median)", "(2)",
                    "panel",
                ],
                rows: r.unrestricted.map { row in
                    [
                        row.model, row.variant, String(row.count), Format.value(row.success_rate),
                        Format.value(row.valid_success_rate), Format.value(row.panel_agreement_on_successes),
                        Format.value(row.panel_agreement_on_starts_of_successes),
                        Format.value(row.auxiliary_source_confidence_on_successes),
                        Format.value(row.condition_one?.overall.ssim), Format.value(row.condition_one?.overall.knn_keeps_source),
                        Format.value(row.condition_one?.overall.reference_keeps_source),
                        row.nearest_train_l2_quantiles.map { Format.value($0) }.joined(separator: ", "),
                        row.nearest_train_linf_quantiles.map { Format.value($0) }.joined(separator: ", "), "not applicable",
                        (row.panel ?? []).joined(separator: ", "),
                    ]
                }, numericColumns: [2, 3, 4, 5, 6, 7, 8, 9, 10]))
        if let reason = r.unrestricted.first?.condition_two_reason {
            blocks.append(.paragraph("(2) for unrestricted examples: " + reason + "."))
        }
        let gridCaption =
            "Targeted search against the natural model: row = source, column = target; each cell shows a valid "
            + "success if the pair has one (green frame: every judge of the panel says the source), else a success the panel "
            + "disputes (orange frame), else the pair's last attempt (unframed); the diagonal is a plain sample."
        if let block = figures([
            ("unrestricted-natural-grid", gridCaption),
            ("unrestricted-robust-grid", "The same against the robust model."),
        ]) {
            blocks.append(block)
        }
        if let block = figures([
            ("unrestricted-targeted-natural-matrix", "Targeted success per pair, natural model."),
            ("unrestricted-targeted-robust-matrix", "Targeted success per pair, robust model."),
        ]) {
            blocks.append(block)
        }

        // The post's analysis
        blocks.append(.heading(level: 2, text: "The post's analysis", anchor: "analysis"))
        blocks.append(
            .paragraph(
                "Mean pairwise distance between \(r.distances.per_class) training images of each class; red marks rows whose "
                    + "diagonal is not their minimum. Rows not closest to themselves: "
                    + ["l2", "linf", "embedding-l2"].map {
                        "\($0): \(Format.classes(r.distances.rows_not_closest_to_self[$0] ?? [], data))"
                    }
                    .joined(separator: "; ") + "."))
        if let block = figures([
            ("distances-l2", "Pixel space, L2."), ("distances-linf", "Pixel space, L∞."),
            ("distances-embedding-l2", "Triplet embedding, L2."),
        ]) {
            blocks.append(block)
        }
        for combination in r.combination {
            blocks.append(
                .paragraph(
                    "The combination image x0 + \(Format.eps(combination.eps))·sign(x1), clipped, over \(combination.count) ordered class pairs: "
                        + "still the source class for the natural model \(Format.value(combination.still_source["natural"])), the robust model "
                        + "\(Format.value(combination.still_source["robust"])) and the embedding's k-NN \(Format.value(combination.knn_still_source)); "
                        + "the other image's class for \(Format.value(combination.became_other["natural"])), \(Format.value(combination.became_other["robust"])) and "
                        + "\(Format.value(combination.knn_became_other)). (1) by proxy \(verdict(combination.condition_one.holds)): "
                        + combination.condition_one.reasons.joined(separator: "; ") + "."))
        }
        if !r.invariance.isEmpty {
            blocks.append(
                .paragraph(
                    "Label-changing examples (Tramèr et al. 2020): each of the first \(r.invariance[0].overall.count) test images moves toward "
                        + "its nearest training image of another class, every pixel by at most ε (L∞). Where the embedding's k-NN now sees the other class, "
                        + "a model that keeps the original label is invariant where it should not be, and the ε-ball is too large for (1).")
            )
            blocks.append(
                .table(
                    header: [
                        "ε", "k-NN sees the other class", "natural still source", "natural invariant where k-NN changed",
                        "robust still source", "robust invariant where k-NN changed",
                    ],
                    rows: r.invariance.map { row in
                        [
                            Format.eps(row.eps), Format.value(row.overall.knn_changed_to_target),
                            Format.value(row.overall.model_still_source),
                            Format.value(row.overall.model_invariant_where_knn_changed), Format.value(row.overall.reference_still_source),
                            Format.value(row.overall.reference_invariant_where_knn_changed),
                        ]
                    }, numericColumns: [0, 1, 2, 3, 4, 5]))
        }
        if let block = figure(
            "combination", "The post's combination image: x0, sign(x1) and the clipped sum, with both models' and the k-NN's labels.")
        {
            blocks.append(block)
        }
        if let first = r.per_class_eps.first {
            blocks.append(
                .paragraph(
                    "Per-class ε, the post's proposal: for each class the largest ε on the grid at which (2) holds for at least "
                        + "\(Format.eps(first.criteria.min_share_condition_two)) of the class and the combination image with every other class keeps the embedding's "
                        + "k-NN class for at least \(Format.eps(first.criteria.min_share_combination_unchanged)) of sampled pairs, and so does every "
                        + "smaller grid value; the binding criterion is the one failing at the next grid value. A class that passes again above that failure is "
                        + "non-monotone: its row \"passes again at\" lists where, and those values are not its ε."))
            var rows: [[String]] = []
            for row in r.per_class_eps {
                let values: [String] = row.per_class.map { entry in entry.eps.map { Format.eps($0) } ?? "none" }
                let bindings: [String] = row.per_class.map(\.binding)
                rows.append([Format.norm(row.norm) + " ε"] + values)
                rows.append([Format.norm(row.norm) + " binding"] + bindings)
                rows.append(
                    [Format.norm(row.norm) + " passes again at"]
                        + row.per_class.map { entry in
                            let again = passesAboveFirstFailure(entry)
                            return again.isEmpty ? "—" : "non-monotone: " + again.map { Format.eps($0) }.joined(separator: ", ")
                        })
            }
            blocks.append(
                .table(
                    header: ["norm"] + r.classes.map { "class \(data.className($0))" }, rows: rows, numericColumns: Set(1...r.classes.count)
                ))
        }

        if let human = r.human { blocks += human.blocks() }
        doc.blocks = blocks
        return doc
    }

    static func ruleText(_ r: ReportResults) -> String {
        let rule = r.condition_one_rule
        return
            "at most \(Format.eps(rule.maximumBackgroundChanged)) of background pixels changed by more than \(Format.eps(rule.backgroundChangeThreshold)), "
            + "SSIM at least \(Format.eps(rule.minimumSSIM)), k-NN keeps the source on at least \(Format.eps(rule.minimumKNNKeepsSource)) of successes"
    }
}
