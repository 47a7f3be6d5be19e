import AdvAttacks
import AdvData
import Foundation

/// The data set a study ran on, as `results.json` records it: its names and the perturbation
/// budgets the field quotes for it, which the report's headline settings, per-class tables and
/// conclusions use (MNIST: L∞ 0.3, L2 4.5; Fashion-MNIST: L∞ 0.1, L2 1.5; `DatasetEntry`).
public struct StudyDataset: Codable, Sendable, Equatable {
    /// `--dataset`, e.g. "fashion-mnist".
    public var name: String
    /// In prose, e.g. "Fashion-MNIST".
    public var title: String
    /// By label.
    public var class_names: [String]
    /// What one image shows ("digit", "garment").
    public var item_noun: String
    public var headline_linf_eps: Double
    public var headline_l2_eps: Double
    /// The L∞ radii whose PGD examples go to the judge page: the headline and one larger
    /// (MNIST 0.3 and 0.4; Fashion-MNIST 0.1 and MNIST's 0.3).
    public var judged_linf_eps: [Double]

    public init(_ entry: DatasetEntry) {
        name = entry.name
        title = entry.title
        class_names = entry.classNames
        item_noun = entry.itemNoun
        headline_linf_eps = entry.usualLinfEps
        headline_l2_eps = entry.usualL2Eps
        judged_linf_eps = entry.usualLinfEps < 0.3 ? [entry.usualLinfEps, 0.3] : [entry.usualLinfEps, entry.usualLinfEps + 0.1]
    }

    /// MNIST: also what a results.json written before the field was recorded ran on.
    public static let mnist = StudyDataset(DatasetCatalog.mnist)

    /// The catalogue entry named by a data set's `name`, as a study's; MNIST for an unknown name.
    public static func named(_ name: String) -> StudyDataset { DatasetCatalog.named(name).map(StudyDataset.init) ?? .mnist }

    /// Class `label`'s name ("7", "Sneaker").
    public func className(_ label: Int) -> String { label < class_names.count ? class_names[label] : String(label) }

    /// The settings whose robust accuracy is the report's headline (the per-class tables and the
    /// conclusions), by norm and ε: there the report runs AutoAttack against every model, and
    /// PGD's figure stays on its ε curve beside it.
    public var headlines: [(norm: PerturbationNorm, eps: Double)] { [(.linf, headline_linf_eps), (.l2, headline_l2_eps)] }

    /// The headline ε of a norm ("linf", "l2").
    public func headlineEps(_ norm: String) -> Double { norm == "l2" ? headline_l2_eps : headline_linf_eps }
}

extension ReportSettings {
    /// The settings with the data set's headline radii in the L∞ and L2 grids (added, in
    /// order, where missing) and the post's combination image at the headline L∞ ε.
    public func including(_ dataset: StudyDataset) -> ReportSettings {
        var settings = self
        if !settings.linf_grid.contains(where: { abs($0 - dataset.headline_linf_eps) < 1e-9 }) {
            settings.linf_grid = (settings.linf_grid + [dataset.headline_linf_eps]).sorted()
        }
        for eps in dataset.judged_linf_eps where !settings.linf_grid.contains(where: { abs($0 - eps) < 1e-9 }) {
            settings.linf_grid = (settings.linf_grid + [eps]).sorted()
        }
        if !settings.l2_grid.contains(where: { abs($0 - dataset.headline_l2_eps) < 1e-9 }) {
            settings.l2_grid = (settings.l2_grid + [dataset.headline_l2_eps]).sorted()
        }
        settings.combination_eps = dataset.headline_linf_eps
        return settings
    }
}
