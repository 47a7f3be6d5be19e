import AdvAnalysis
import AdvImaging
import Foundation

/// `advlab report --compare A B`: two finished reports of two data sets side by side, rendered
/// from their results.json alone, so every number on the page is a value of one of them and the
/// page is a pure function of the two (rendering again gives the same bytes). Nothing is measured
/// here: condition (2) along ε and per class, the per-class ε, generalization against robustness,
/// the unrestricted search and the distance heat maps are the reports' own figures.
public struct ReportComparison: Sendable {
    /// Why a folder or a pair of folders cannot be compared; its message names the folder and field.
    /// A figure copied from a report's folder to the page's: `report` is 0 or 1 (the order given).
    public struct Copy: Sendable, Equatable {
        public var report: Int
        public var source: String
        public var file: String
    }

    public var document: ReportDocument
    /// The page's plots: file name beside the page, SVG text.
    public var plots: [(file: String, svg: String)]
    /// The reports' heat maps the page shows, copied beside it.
    public var copies: [Copy]

    /// Why `a` and `b` make no comparison (the same data set twice), or nil.
    public static func problem(_ a: ReportResults, _ b: ReportResults, folders: [String], flag: String = "--compare") -> String? {
        guard a.data.name == b.data.name else { return nil }
        return "\(flag) \(folders.joined(separator: " and ")): both are \(a.data.title) reports (results.json dataset.name "
            + "\"\(a.data.name)\"); compare two data sets"
    }

    /// The heat maps of the post's distance analysis, by results.json's figure names.
    static let heatmaps = [
        ("distances-l2", "pixel space, L2"), ("distances-linf", "pixel space, L∞"), ("distances-embedding-l2", "triplet embedding, L2"),
    ]

    /// The page for `a` and `b` (in that order on the page).
    public static func render(_ a: ReportResults, _ b: ReportResults) -> ReportComparison {
        let reports = [a, b]
        let sets = reports.map(\.data)
        let title = "\(sets[0].title) and \(sets[1].title)"
        var doc = ReportDocument(title: "advlab comparison: \(title)")
        var blocks: [ReportBlock] = []
        var plots: [(file: String, svg: String)] = []
        var copies: [Copy] = []
        let classCount = max(a.classes.count, b.classes.count)
        let labels = Array(0..<classCount)
        func name(_ report: Int, _ label: Int) -> String {
            label < reports[report].classes.count ? sets[report].className(reports[report].classes[label]) : "—"
        }

        blocks.append(
            .paragraph(
                "Two reports side by side, \(sets[0].title) first and \(sets[1].title) second, each rendered from its own results.json: "
                    + "nothing on this page is measured again, and every number on it is a value of one of the two files. "
                    + "The post's conditions on a perturbation set are (1) imperceptible and (2) unable to turn one dataset image into another of "
                    + "the same class; whether an ε keeps (2) depends on the data, which is what this page compares."))
        blocks.append(
            .table(
                header: ["", sets[0].title, sets[1].title],
                rows: [
                    ["classes"] + reports.map { r in r.classes.map(r.data.className).joined(separator: ", ") },
                    ["run"] + reports.map { "seed \($0.seed), " + ($0.quick ? "quick (small subsets, noisy)" : "full") },
                    ["headline L∞ ε"] + sets.map { Format.eps($0.headline_linf_eps) },
                    ["headline L2 ε"] + sets.map { Format.eps($0.headline_l2_eps) },
                    ["natural model"] + reports.map { $0.models["natural"] ?? "—" },
                    ["robust model"] + reports.map { $0.models["robust"] ?? "—" },
                    ["headline attack"] + reports.map { "AutoAttack (\($0.settings.autoattack_version.rawValue))" },
                ], numericColumns: []))
        for (index, r) in reports.enumerated() where r.models["robust"] != nil && r.models["robust"] == r.models["natural"] {
            blocks.append(
                .paragraph(
                    "In the \(sets[index].title) report the \"robust\" model is the natural checkpoint standing in (\(r.models["robust"] ?? "")): "
                        + "its robust rows measure the natural model again, not an adversarially trained one."))
        }

        blocks.append(.heading(level: 2, text: "What the numbers say", anchor: "findings"))
        blocks.append(.list(findings(reports)))

        // Condition (2) along ε, per class.
        blocks.append(.heading(level: 2, text: "Condition (2) along ε, per class", anchor: "condition-two"))
        blocks.append(
            .paragraph(
                "Share of images with another image of their class within ε, searched against every train and test image. The plots draw each "
                    + "class on the per-class ε grid (one minus the share of the class for which (2) holds there) and all classes along the "
                    + "report's ε curve (black, dashed); the grey line is the data set's headline ε. The tables give the share per class at each "
                    + "data set's headline radius, where the report attacked."))
        for norm in ["linf", "l2"] {
            let grids = reports.compactMap { r in r.per_class_eps.first { $0.norm == norm }?.grid.last }
            let upper = grids.max() ?? 1
            var panels: [(file: String, caption: String)] = []
            for (index, r) in reports.enumerated() {
                var plot = SVGPlot(
                    title: "\(sets[index].title): same-class image within ε (\(Format.norm(norm)))", xLabel: "ε (\(Format.norm(norm)))",
                    yLabel: "share")
                plot.identifier = "c2\(norm)\(index)"
                plot.xRange = 0...upper
                plot.yRange = 0...1
                plot.height = 520
                if let grid = r.per_class_eps.first(where: { $0.norm == norm }) {
                    for row in grid.per_class {
                        plot.addSeries(
                            sets[index].className(row.digit), x: row.grid.map(\.eps), y: row.grid.map { 1 - $0.share_condition_two_holds },
                            color: SVGPlot.palette[row.digit % SVGPlot.palette.count])
                    }
                }
                if let curve = r.condition_two_curves.first(where: { $0.norm == norm }) {
                    plot.addSeries("all classes", x: curve.eps, y: curve.share_with_same_class_within_eps, color: "#000000", dashed: true)
                }
                let headline = sets[index].headlineEps(norm)
                plot.addSeries("headline ε \(Format.eps(headline))", x: [headline, headline], y: [0, 1], color: "#999999", dashed: true)
                let file = "compare-condition-two-\(norm)-\(index + 1)-\(sets[index].name).svg"
                plots.append((file, plot.render()))
                panels.append((file, "\(sets[index].title), \(Format.norm(norm)): share of each class with a same-class image within ε."))
            }
            blocks.append(.figures(panels))
            let radii = Array(Set(sets.map { $0.headlineEps(norm) })).sorted()
            func verdict(_ r: ReportResults, _ eps: Double) -> ConditionTwoVerdict? {
                r.robustness.first { $0.norm == norm && abs($0.eps - eps) < 1e-9 }?.condition_two
            }
            func epsHeader(_ index: Int, _ eps: Double) -> String {
                "\(sets[index].title) ε \(Format.eps(eps))" + (abs(sets[index].headlineEps(norm) - eps) < 1e-9 ? " (headline)" : "")
            }
            let header =
                ["label"] + [0, 1].flatMap { index in ["\(sets[index].title) class"] + radii.map { epsHeader(index, $0) } }
            var rows = labels.map { label in
                [String(label)]
                    + [0, 1].flatMap { index in
                        [name(index, label)]
                            + radii.map { eps in
                                Format.share(
                                    verdict(reports[index], eps).flatMap { at($0.per_class_share_with_same_class_within_eps, label) })
                            }
                    }
            }
            rows.append(
                ["all"]
                    + [0, 1].flatMap { index in
                        ["all classes"] + radii.map { Format.share(verdict(reports[index], $0)?.share_with_same_class_within_eps) }
                    })
            rows.append(
                ["(2)"]
                    + [0, 1].flatMap { index in
                        ["verdict"] + radii.map { eps in verdict(reports[index], eps).map { $0.holds ? "holds" : "violated" } ?? "not run" }
                    })
            // label, then per data set its class column and one column per radius.
            let shareColumns = Set((0..<radii.count).flatMap { [2 + $0, 3 + radii.count + $0] })
            blocks.append(.heading(level: 3, text: "\(Format.norm(norm)): at the headline radii", anchor: nil))
            blocks.append(.table(header: header, rows: rows, numericColumns: shareColumns))
        }

        // Per-class ε.
        blocks.append(.heading(level: 2, text: "Per-class ε", anchor: "per-class-eps"))
        blocks.append(
            .paragraph(
                "The post's proposal, from each report: per class the largest ε on the grid up to which (2) holds for enough of the class and "
                    + "the combination image keeps the embedding's k-NN class; \"none\" when the smallest grid value fails, and the binding "
                    + "criterion is the one failing at the next grid value. "
                    + reports.enumerated().compactMap { index, r in
                        r.per_class_eps.first.map {
                            "\(sets[index].title): thresholds \(Format.eps($0.criteria.min_share_condition_two)) for (2) and "
                                + "\(Format.eps($0.criteria.min_share_combination_unchanged)) for the combination, grids "
                                + r.per_class_eps.map { "\(Format.norm($0.norm)) " + $0.grid.map(Format.eps).joined(separator: ", ") }
                                .joined(separator: "; ")
                        }
                    }.joined(separator: ". ") + "."))
        let epsNorms = ["linf", "l2"]
        func epsCell(_ r: ReportResults, _ norm: String, _ label: Int) -> [String] {
            guard let report = r.per_class_eps.first(where: { $0.norm == norm }), label < r.classes.count,
                let entry = report.per_class.first(where: { $0.digit == r.classes[label] })
            else { return ["n/a", "n/a"] }
            let again = passesAboveFirstFailure(entry)
            let value =
                (entry.eps.map(Format.eps) ?? "none")
                + (again.isEmpty ? "" : " (non-monotone: passes again at " + again.map(Format.eps).joined(separator: ", ") + ")")
            return [value, entry.binding]
        }
        blocks.append(
            .table(
                header: ["label"]
                    + [0, 1].flatMap { index in
                        ["\(sets[index].title) class"] + epsNorms.flatMap { ["\(Format.norm($0)) ε", "\(Format.norm($0)) binding"] }
                    },
                rows: labels.map { label in
                    [String(label)]
                        + [0, 1].flatMap { index in [name(index, label)] + epsNorms.flatMap { epsCell(reports[index], $0, label) } }
                }, numericColumns: [2, 4, 7, 9]))

        // Generalization against robustness.
        blocks.append(.heading(level: 2, text: "Generalization error against robust accuracy", anchor: "generalization"))
        blocks.append(
            .paragraph(
                "Generalization error is the test error (one minus clean accuracy) on each report's test images; robust accuracy is the headline "
                    + "attack's at the data set's own headline radius (AutoAttack; PGD in results without it), on the report's attacked images. "
                    + "Where the two part, a model is robust on what it does not get right, or wrong on what it holds."))
        var summaryRows: [[String]] = []
        for (index, r) in reports.enumerated() {
            for model in r.generalization.models {
                let rows = sets[index].headlines.map { r.headline(model.model, $0.norm.rawValue, $0.eps) }
                summaryRows.append(
                    [sets[index].title, model.model, String(r.generalization.test_images), Format.value(model.test_error)]
                        + zip(sets[index].headlines, rows).flatMap { headline, row in
                            [
                                "\(Format.norm(headline.norm.rawValue)) \(Format.eps(headline.eps))", Format.value(row?.robust_accuracy),
                                row.map { r.attackName($0) } ?? "not run",
                            ]
                        })
            }
        }
        blocks.append(
            .table(
                header: [
                    "data set", "model", "test images", "test error", "headline", "robust acc.", "attack", "headline", "robust acc.",
                    "attack",
                ], rows: summaryRows, numericColumns: [2, 3, 5, 8]))
        var scatter: [(file: String, caption: String)] = []
        for (normIndex, norm) in ["linf", "l2"].enumerated() {
            var plot = SVGPlot(
                title: "test error against robust accuracy per class, headline \(Format.norm(norm))", xLabel: "test error",
                yLabel: "robust accuracy")
            plot.identifier = "gen\(norm)"
            plot.yRange = 0...1
            plot.height = 520
            for (index, r) in reports.enumerated() {
                let eps = sets[index].headlineEps(norm)
                for (modelIndex, model) in r.generalization.models.enumerated() {
                    guard let row = r.headline(model.model, norm, eps) else { continue }
                    let color = Self.colors[(2 * index + modelIndex) % Self.colors.count]
                    let count = min(model.per_class_test_error.count, row.per_class_robust_accuracy.count)
                    plot.addPoints(
                        "\(sets[index].title) \(model.model), classes (ε \(Format.eps(eps)))",
                        x: Array(model.per_class_test_error.prefix(count)),
                        y: Array(row.per_class_robust_accuracy.prefix(count)), color: color, marker: .circle)
                    plot.addPoints(
                        "\(sets[index].title) \(model.model), all", x: [model.test_error], y: [row.robust_accuracy], color: color,
                        marker: .diamond)
                }
            }
            let file = "compare-generalization-\(norm).svg"
            plots.append((file, plot.render()))
            scatter.append(
                (
                    file,
                    normIndex == 0
                        ? "Per class (circles) and over all classes (diamonds): test error against robust accuracy at each data set's "
                            + "headline L∞ ε." : "The same at each data set's headline L2 ε."
                ))
        }
        blocks.append(.figures(scatter))
        let models = Array(Set(reports.flatMap { $0.generalization.models.map(\.model) })).sorted()
        func perClass(_ index: Int, _ model: String, _ label: Int) -> [String] {
            let r = reports[index]
            let errors = r.generalization.models.first { $0.model == model }
            let row = r.headline(model, "linf", sets[index].headline_linf_eps)
            return [
                Format.value(errors.flatMap { at($0.per_class_test_error, label) }),
                Format.value(row.flatMap { at($0.per_class_robust_accuracy, label) }),
            ]
        }
        let perClassHeader =
            ["label"]
            + [0, 1].flatMap { index in
                ["\(sets[index].title) class"]
                    + models.flatMap { ["\($0): test error", "\($0): robust acc. L∞ \(Format.eps(sets[index].headline_linf_eps))"] }
            }
        let side = 1 + 2 * models.count
        blocks.append(.heading(level: 3, text: "Per class, headline L∞", anchor: nil))
        blocks.append(
            .table(
                header: perClassHeader,
                rows: labels.map { label in
                    [String(label)] + [0, 1].flatMap { index in [name(index, label)] + models.flatMap { perClass(index, $0, label) } }
                }, numericColumns: Set((0..<(2 * models.count)).flatMap { [2 + $0, 2 + side + $0] })))

        // Unrestricted.
        blocks.append(.heading(level: 2, text: "Unrestricted adversarial examples", anchor: "unrestricted"))
        blocks.append(
            .paragraph(
                "The latent-space search of Song et al. 2018 on each data set's AC-GAN: success is the attacked model saying the target while "
                    + "the auxiliary classifier says the source; valid is a success that every judge of the report's validity panel reads as "
                    + "the source (n/a in results written before the panel)."))
        var settingsSeen: [(String, String)] = []
        for r in reports {
            for row in r.unrestricted where !settingsSeen.contains(where: { $0 == (row.model, row.variant) }) {
                settingsSeen.append((row.model, row.variant))
            }
        }
        /// A report's row for one search setting, nil when it did not run.
        func row(_ r: ReportResults, _ model: String, _ variant: String) -> UnrestrictedSetting? {
            r.unrestricted.first(where: { $0.model == model && $0.variant == variant })
        }
        blocks.append(
            .table(
                header: ["model", "variant"]
                    + [0, 1].flatMap { index in
                        [
                            "\(sets[index].title) searches", "\(sets[index].title) success", "\(sets[index].title) valid",
                            "\(sets[index].title) panel",
                        ]
                    },
                rows: settingsSeen.map { model, variant in
                    [model, variant]
                        + reports.flatMap { r -> [String] in
                            guard let row = row(r, model, variant) else {
                                return ["not run", "n/a", "n/a", "n/a"]
                            }
                            return [
                                String(row.count), Format.value(row.success_rate), Format.value(row.valid_success_rate),
                                panelText(row.panel) ?? "n/a",
                            ]
                        }
                }, numericColumns: [2, 3, 4, 6, 7, 8]))
        // A smaller panel accepts more, so valid rates compare only between equal panels.
        let differing = settingsSeen.filter { model, variant in
            let panels = reports.map { row($0, model, variant)?.panel }
            return panels[0] != nil && panels[1] != nil && panels[0] != panels[1]
        }
        if !differing.isEmpty {
            let missing = reports.enumerated().compactMap { index, r in
                Set(r.unrestricted.compactMap(\.panel_missing)).sorted().first.map { "\(sets[index].title): \($0)" }
            }
            blocks.append(
                .paragraph(
                    "The two reports' panels differ for "
                        + differing.map { "\($0.0) \($0.1)" }.joined(separator: ", ")
                        + ": a panel with fewer judges accepts more, so those valid rates do not compare across the data sets"
                        + (missing.isEmpty ? "." : " (" + missing.joined(separator: "; ") + ").")))
        }

        // Heat maps.
        blocks.append(.heading(level: 2, text: "Distance heat maps", anchor: "heatmaps"))
        blocks.append(
            .paragraph(
                "Mean pairwise distance between training images of each pair of classes, from each report (red marks a row whose diagonal "
                    + "is not its minimum). Rows not closest to themselves: "
                    + reports.enumerated().map { index, r in
                        "\(sets[index].title) "
                            + ["l2", "linf", "embedding-l2"].map {
                                "\(Format.norm($0)): \(Format.classes(r.distances.rows_not_closest_to_self[$0] ?? [], sets[index]))"
                            }.joined(separator: ", ")
                    }.joined(separator: "; ") + "."))
        for (figure, caption) in heatmaps {
            var panels: [(file: String, caption: String)] = []
            for (index, r) in reports.enumerated() {
                guard let source = r.figures[figure] else { continue }
                let file = "compare-\(index + 1)-\(sets[index].name)-\(source)"
                copies.append(Copy(report: index, source: source, file: file))
                panels.append((file, "\(sets[index].title), \(caption) (\(r.distances.per_class) images per class)."))
            }
            if !panels.isEmpty { blocks.append(.figures(panels)) }
        }

        doc.blocks = blocks
        return ReportComparison(document: doc, plots: plots, copies: copies)
    }

    /// A colour per data set and model: blue shades for the first data set, red–orange for the second.
    static let colors = ["#1f77b4", "#17becf", "#d62728", "#ff7f0e"]

    /// The short findings: which ε keeps (2) for which classes, the per-class ε against the
    /// headline, and where generalization and robustness part; each from the reports' values.
    static func findings(_ reports: [ReportResults]) -> [String] {
        var items: [String] = []
        let sets = reports.map(\.data)
        func names(_ index: Int, _ labels: [Int]) -> String {
            labels.isEmpty ? "none" : labels.map { label in sets[index].className(reports[index].classes[label]) }.joined(separator: ", ")
        }
        for norm in ["linf", "l2"] {
            for (index, r) in reports.enumerated() {
                let grid = norm == "linf" ? r.settings.linf_grid : r.settings.l2_grid
                let measured = grid.compactMap { eps in r.robustness.first { $0.norm == norm && abs($0.eps - eps) < 1e-9 }?.condition_two }
                guard !measured.isEmpty else { continue }
                let parts = measured.map { verdict -> String in
                    let holding = verdict.per_class_holds.indices.filter { verdict.per_class_holds[$0] && $0 < r.classes.count }
                    let prefix =
                        "at ε \(Format.eps(verdict.eps))" + (abs(verdict.eps - sets[index].headlineEps(norm)) < 1e-9 ? " (headline)" : "")
                    if holding.count == verdict.per_class_holds.count { return prefix + " for every class" }
                    if holding.isEmpty { return prefix + " for no class (share \(Format.share(verdict.share_with_same_class_within_eps)))" }
                    return prefix + " only for " + names(index, holding)
                }
                items.append("\(sets[index].title), \(Format.norm(norm)): (2) holds " + parts.joined(separator: "; ") + ".")
            }
        }
        for (index, r) in reports.enumerated() {
            for report in r.per_class_eps {
                let headline = sets[index].headlineEps(report.norm)
                let below = report.per_class.filter { ($0.eps.map { $0 < headline - 1e-9 }) ?? false }.map(\.digit)
                let none = report.per_class.filter { $0.eps == nil }.map(\.digit)
                let values = report.per_class.compactMap(\.eps)
                guard let low = values.min(), let high = values.max() else { continue }
                func list(_ classes: [Int]) -> String { classes.map(sets[index].className).joined(separator: ", ") }
                items.append(
                    "\(sets[index].title), per-class \(Format.norm(report.norm)) ε from \(Format.eps(low)) to \(Format.eps(high)); "
                        + "below the headline \(Format.eps(headline)) for " + (below.isEmpty ? "no class" : list(below))
                        + (none.isEmpty ? "" : "; no grid value passes for " + list(none)) + ".")
            }
        }
        for (index, r) in reports.enumerated() {
            let eps = sets[index].headline_linf_eps
            let natural = r.generalization.models.first { $0.model == "natural" }
            let robustRow = r.headline("robust", "linf", eps)
            let naturalRow = r.headline("natural", "linf", eps)
            guard let natural, let robustRow, let naturalRow else { continue }
            let robustErrors = r.generalization.models.first { $0.model == "robust" }
            var sentence =
                "\(sets[index].title), L∞ ε \(Format.eps(eps)): the natural model's test error is \(Format.value(natural.test_error)) and its "
                + "robust accuracy \(Format.value(naturalRow.robust_accuracy)); the robust model's "
                + (robustErrors.map { "test error is \(Format.value($0.test_error)) and its " } ?? "")
                + "robust accuracy \(Format.value(robustRow.robust_accuracy))."
            let count = min(natural.per_class_test_error.count, robustRow.per_class_robust_accuracy.count, r.classes.count)
            if count > 0 {
                // Every class at the extreme value, so a tie is not reported as one class.
                let errors = Array(natural.per_class_test_error.prefix(count))
                let robust = Array(robustRow.per_class_robust_accuracy.prefix(count))
                let highestError = errors.max() ?? 0
                let lowestRobust = robust.min() ?? 0
                let hardest = errors.indices.filter { errors[$0] == highestError }
                let weakest = robust.indices.filter { robust[$0] == lowestRobust }
                sentence +=
                    " The natural model gets \(names(index, hardest)) wrong most (\(Format.value(highestError))); "
                if weakest.count == count {
                    sentence +=
                        "the robust model's accuracy is \(Format.value(lowestRobust)) in every class, so per class there is nothing to set "
                        + "against it."
                } else if !Set(hardest).isDisjoint(with: weakest) {
                    sentence +=
                        "the robust model holds \(names(index, weakest)) least (\(Format.value(lowestRobust))): here the two agree."
                } else {
                    sentence +=
                        "the robust model holds \(names(index, weakest)) least (\(Format.value(lowestRobust))): there robustness and "
                        + "generalization part."
                }
            }
            items.append(sentence)
        }
        for (index, r) in reports.enumerated() {
            let rows = r.unrestricted.filter { $0.variant == "targeted" }
            guard !rows.isEmpty else { continue }
            items.append(
                "\(sets[index].title), targeted unrestricted search: "
                    + rows.map {
                        "against the \($0.model) model success \(Format.value($0.success_rate)), valid \(Format.value($0.valid_success_rate))"
                            + (panelText($0.panel).map { " (panel: \($0))" } ?? "")
                    }
                    .joined(separator: "; ") + ".")
        }
        return items
    }
}

/// A validity panel's judges as the page names them, nil in results written before the panel.
private func panelText(_ panel: [String]?) -> String? { panel.map { $0.joined(separator: " + ") } }

/// `values[index]`, or nil past the end.
private func at(_ values: [Double], _ index: Int) -> Double? { index < values.count ? values[index] : nil }
