import AdvAnalysis
import AdvAttacks
import AdvData
import AdvModels
import AdvReport
import AdvTensor
import AdvTraining
import ArgumentParser
import Foundation

/// `advlab epsilon`: the per-class ε the post argues for.
struct EpsilonCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "epsilon",
        abstract:
            "Per class, the largest ε on a grid that keeps condition (2) and leaves the embedding's k-NN class unchanged under the post's combination image.",
        discussion: """
            (2): over all 70,000 images (train and test), the share of the class's images with no other same-class image within ε must be ≥ 0.99 (exact, every image against all others of its class; --queries-per-class N uses N random images of each class as queries instead, still against all images).
            Combination: --count test images x0 per class, each with one random test image x1 of every other class; x0 + ε·sign(x1) (L2: the sign image scaled to L2 norm ε), clipped, must keep x0's 5-NN class in the triplet embedding (train set as memory) for ≥ 0.99 of the pairs.
            Writes epsilon.csv (one line per class), shares.csv (per class and ε), epsilon.json, combination.svg and condition-two.svg (the shares against ε per class) to --out.
            """)

    @Option(help: "The norm of ε.") var norm = PerturbationNorm.linf
    @Option(help: "Comma-separated ascending ε values (default: linf 0.02,0.05,0.1,…,0.5; l2 0.5,1,…,6).") var grid: String?
    @Option(help: "Source images x0 per class for the combination (each paired with one image of every other class).") var count = 100
    @Option(name: .customLong("queries-per-class"), help: "Sample this many query images per class for (2) (default: all 70,000 images).")
    var queriesPerClass: Int?
    @Option(help: "Triplet embedding checkpoint (its 5-NN decides the class).") var embedding: String
    @OptionGroup var seedOption: SeedOption
    @OptionGroup var dataOptions: DataOptions
    @Option(help: "Output folder (created if missing; its parent must exist).") var out: String
    @OptionGroup var jsonOption: JSONOption

    static let defaultGrids: [PerturbationNorm: [Float]] = [
        .linf: [0.02, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.5],
        .l2: [0.5, 1, 1.5, 2, 2.5, 3, 3.5, 4, 4.5, 5, 6],
    ]

    func validate() throws {
        let values = try epsGrid()
        guard (1...10_000).contains(count) else { throw ValidationError("--count must be in 1…10000, got \(count)") }
        if let queriesPerClass, !(1...70_000).contains(queriesPerClass) {
            throw ValidationError("--queries-per-class must be in 1…70000, got \(queriesPerClass)")
        }
        guard !values.isEmpty else { throw ValidationError("--grid is empty") }
        try validateInputFile(embedding, flag: "--embedding")
        try validateOutputFolder(out, flag: "--out")
    }

    /// The grid, checked: numbers, > 0, ≤ the norm's largest distance, strictly ascending.
    func epsGrid() throws -> [Float] {
        guard let grid else { return Self.defaultGrids[norm] ?? [] }
        let values: [Float] = try grid.split(separator: ",", omittingEmptySubsequences: false).map {
            let text = $0.trimmingCharacters(in: .whitespaces)
            guard let value = Float(text), value.isFinite else {
                throw ValidationError("--grid: \(text.isEmpty ? "(empty)" : text) is not a number")
            }
            guard value > 0 else { throw ValidationError("--grid values must be > 0, got \(text)") }
            if norm == .linf && value > 1 {
                throw ValidationError("--grid values for linf must be ≤ 1 (pixels are in [0, 1]), got \(text)")
            }
            if norm == .l2 && value > 28 {
                throw ValidationError("--grid values for l2 must be ≤ 28 (the diameter of [0, 1]^784), got \(text)")
            }
            return value
        }
        for (a, b) in zip(values, values.dropFirst()) where !(a < b) {
            throw ValidationError("--grid must be strictly ascending, got \(String(format: "%g", a)) before \(String(format: "%g", b))")
        }
        return values
    }

    func run() throws {
        let perturbationNorm = norm
        let tripletEmbedding = try ModelLoading.triplet(path: embedding)
        let (train, test) = try dataOptions.loadBoth()
        try createFolder(out)
        let values = try epsGrid()
        var rng = SeededGenerator(seed: seedOption.seed)

        let allImages = Tensor.concatenate([train.images, test.images])
        let allLabels = train.labels + test.labels
        let queries: [Int]
        let conditionMethod: String
        if let queriesPerClass {
            let byClass = (0..<10).map { digit in allLabels.indices.filter { allLabels[$0] == digit } }
            queries = byClass.flatMap { members -> [Int] in
                var members = members
                members.seededShuffle(using: &rng)
                return Array(members.prefix(queriesPerClass))
            }.sorted()
            conditionMethod =
                "sample: \(queriesPerClass) random images per class (seed \(seedOption.seed)) as queries, each against all 70,000 images of its class (exact nearest)"
        } else {
            queries = Array(allLabels.indices)
            conditionMethod = "exact: every one of the 70,000 images (train + test) against all other images of its class"
        }
        let pairs = sampleCombinationPairs(labels: test.labels, perClass: count, using: &rng)
        let combinationMethod =
            "\(count) test images x0 per class, each with one random test image x1 of every other class; "
            + (perturbationNorm == .linf ? "x0 + ε·sign(x1)" : "x0 + ε·sign(x1)/‖sign(x1)‖₂") + ", clipped to [0, 1]; "
            + "unchanged = the triplet embedding's 5-NN class (train set as memory) equals that of x0"
        note("epsilon \(norm.rawValue): (2) for \(queries.count) images, combination for \(pairs.count) pairs × \(values.count) ε")
        let knn = EmbeddingKNN(embedding: tripletEmbedding, images01: train.images, labels: train.labels)
        let perClass = measurePerClassEpsilon(
            norm: perturbationNorm, grid: values, conditionImages: allImages, conditionLabels: allLabels,
            conditionQueries: queries, pairImages01: test.images, pairLabels: test.labels, pairs: pairs
        ) {
            knn.predict($0, ks: [5])[5] ?? []
        }
        let report = PerClassEpsilonReport(
            norm: norm.rawValue, grid: values.map(Double.init), criteria: PerClassEpsilonCriteria(), per_class: perClass,
            condition_two_method: conditionMethod, combination_method: combinationMethod, seed: seedOption.seed)
        struct Output: Encodable {
            var report: PerClassEpsilonReport
            var embedding: String
            var seed: UInt64
            var command: String
        }
        let text = try jsonText(Output(report: report, embedding: embedding, seed: seedOption.seed, command: commandLineText))
        try AtomicFile.write(EpsilonFigures.tableCSV(report), to: out + "/epsilon.csv")
        try AtomicFile.write(EpsilonFigures.sharesCSV(report), to: out + "/shares.csv")
        let plots = EpsilonFigures.sharesPlots(report)
        try AtomicFile.write(plots.combination.render(), to: out + "/combination.svg")
        try AtomicFile.write(plots.conditionTwo.render(), to: out + "/condition-two.svg")
        try AtomicFile.write(text, to: out + "/epsilon.json")
        if jsonOption.json {
            print(text)
        } else {
            for row in perClass {
                let again = passesAboveFirstFailure(row).map { String(format: "%g", $0) }.joined(separator: ", ")
                print(
                    "class \(row.digit): ε " + (row.eps.map { String(format: "%g", $0) } ?? "none") + " (binding: \(row.binding))"
                        + (row.monotone ? "" : "; non-monotone: passes again at \(again)"))
            }
        }
        note("wrote \(out) (seed \(seedOption.seed))")
    }
}
