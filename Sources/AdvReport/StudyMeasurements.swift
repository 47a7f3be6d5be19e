import AdvAnalysis
import AdvImaging
import AdvTensor
import Foundation

/// One section of the study as a value: its part of `ReportResults`, the figures it drew and the
/// images it offers to the judge page. A section is a function of the study's inputs; nothing is
/// written until `StudyFiles.write`.
struct Measured<Value> {
    var value: Value
    var figures: [StudyFigure] = []
    var offers: [JudgeOffer] = []

    init(_ value: Value, figures: [StudyFigure] = [], offers: [JudgeOffer] = []) {
        self.value = value
        self.figures = figures
        self.offers = offers
    }
}

/// A figure of the report: `results.json`'s `figures` maps `name` to `file` in the report folder.
public struct StudyFigure {
    public enum Content {
        case png(Bitmap)
        case svg(String)
    }

    public var name: String
    public var file: String
    public var content: Content

    public init(name: String, file: String, content: Content) {
        self.name = name
        self.file = file
        self.content = content
    }

    /// `name`.png.
    public static func png(_ bitmap: Bitmap, name: String) -> StudyFigure {
        StudyFigure(name: name, file: name + ".png", content: .png(bitmap))
    }

    /// `name`.svg.
    public static func svg(_ plot: SVGPlot, name: String) -> StudyFigure {
        StudyFigure(name: name, file: name + ".svg", content: .svg(plot.render()))
    }
}

/// Everything a study measured: `results.json`'s value (before people's labels, conclusions and
/// timing), every figure, and the judge set.
public struct StudyMeasurements {
    public var results: ReportResults
    public var figures: [StudyFigure]
    public var judgeSet: JudgeSet
}

/// Writes a study's measurements into its folder: the figures and `judge-set.json`.
/// (`results.json`, `report.md` and `index.html` are the command's, rendered from the results alone.)
public enum StudyFiles {
    public static let judgeSetFile = "judge-set.json"

    public static func write(_ measured: StudyMeasurements, to folder: String) throws {
        for figure in measured.figures {
            switch figure.content {
            case .png(let bitmap): try bitmap.writePNG(to: folder + "/" + figure.file)
            case .svg(let text): try AtomicFile.write(text, to: folder + "/" + figure.file)
            }
        }
        try measured.judgeSet.write(to: folder + "/" + judgeSetFile)
    }
}

/// Condition (2)'s distances of the study's query images (indices into train + test), measured
/// once and read by every verdict, curve and per-class ε.
struct ConditionTwoData {
    var queries: [Int]
    /// The queries' classes.
    var labels: [Int]
    /// Per norm ("l2", "linf", "embedding-l2"): each query's nearest same-class distance.
    var nearestSameClass: [String: [Float]]
    /// Per model and norm: each query's nearest misclassified same-class test image.
    var nearestMisclassified: [String: [String: [Float]]]
    var classCount: Int

    /// Condition (2) for a norm and radius; `model` adds the misclassified-neighbour share.
    func verdict(norm: String, eps: Double, model: String?) -> ConditionTwoVerdict {
        let distances = ConditionTwoDistances(
            queries: queries, labels: labels, nearestSameClass: nearestSameClass[norm] ?? [],
            nearestMisclassified: model.flatMap { nearestMisclassified[$0]?[norm] })
        return conditionTwo(distances, norm: norm, eps: eps, classCount: classCount)
    }
}

/// Images a section offers to the judge set (judge-set.json), before sampling: up to
/// `judge_per_kind` of `candidates` (row indices of `images`) are drawn under `setting`;
/// intended/other are per row of `images`.
struct JudgeOffer {
    var setting: String
    var kind: String
    var images: Tensor
    var candidates: [Int]
    var intended: [Int]
    var other: [Int]? = nil
    var detail: (Int) -> String? = { _ in nil }
    var knnKeepsIntended: Double?
    var panelKeepsIntended: Double? = nil

    /// The judge set of `offers` in order: one stream (`seed + 401`) draws every setting in turn,
    /// stratified over classes (and class pairs where there is an other class).
    static func judgeSet(_ offers: [JudgeOffer], perSetting count: Int, seed: UInt64) -> JudgeSet {
        var rng = SeededGenerator(seed: seed &+ 401)
        var items: [JudgeItem] = []
        var settings: [JudgeSetting] = []
        for offer in offers {
            let chosen = JudgeSampling.stratified(
                offer.candidates, count: count,
                stratum: { row in offer.other.map { "\(offer.intended[row])→\($0[row])" } ?? "\(offer.intended[row])" },
                using: &rng)
            for row in chosen {
                items.append(
                    JudgeItem(
                        id: "\(offer.kind)-\(items.count)", kind: offer.kind, intended: offer.intended[row], setting: offer.setting,
                        other: offer.other?[row], detail: offer.detail(row), image01: offer.images.slice(row..<(row + 1))))
            }
            settings.append(
                JudgeSetting(
                    setting: offer.setting, kind: offer.kind, knn_keeps_intended: offer.knnKeepsIntended,
                    panel_keeps_intended: offer.panelKeepsIntended))
        }
        return JudgeSet(seed: seed, items: items, settings: settings)
    }
}

/// The report's figures that are drawn from results.json alone (the others need the images or
/// distances a measurement holds, and come with its section).
public enum ReportFigures {
    public static func fromResults(_ results: ReportResults) -> [StudyFigure] {
        ["linf", "l2"].map { norm in
            .svg(
                CurveFigures.robustness(results.robustness, norm: norm, settings: results.settings, seed: results.seed),
                name: "robustness-\(norm)")
        }
    }
}
