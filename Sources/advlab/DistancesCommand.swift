import AdvAnalysis
import AdvData
import AdvImaging
import AdvReport
import AdvTensor
import AdvTraining
import ArgumentParser
import Foundation

/// `advlab distances`: the post's class-pair distance heatmaps, or every image's nearest
/// same-class and other-class neighbour over all 70,000 images (`--nearest`).
struct DistancesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "distances",
        abstract: "Mean pairwise distances between classes (the post's heatmap), or nearest neighbours over all 70,000 images.",
        discussion:
            "Default: --per-class images of each class, mean distance for every class pair, heatmap PNG + CSV per norm, and the rows whose diagonal is not their minimum; with --embedding, the same heatmap in the triplet embedding (L2), written as heatmap-embedding-l2.png and keyed embedding_l2. --nearest: each image's nearest same-class and other-class neighbour (train and test together), quantiles per class and histograms."
    )

    @Option(name: .customLong("per-class"), help: "Images sampled per class.") var perClass = 100
    @Option(help: "Comma-separated norms among l0, l1, l2, linf.") var norms = "l0,l1,l2,linf"
    @Option(help: "train or test.") var split = "train"
    @Flag(help: "Nearest same-class and other-class neighbour of every image (train + test).") var nearest = false
    @Option(help: "Triplet-embedding checkpoint: also the class-pair heatmap of L2 distances between embeddings.") var embedding: String?
    @OptionGroup var seedOption: SeedOption
    @OptionGroup var dataOptions: DataOptions
    @Option(help: "Output folder.") var out = "out/distances"
    @OptionGroup var jsonOption: JSONOption

    var selectedNorms: [DistanceNorm] { norms.split(separator: ",").compactMap { DistanceNorm(rawValue: String($0)) } }

    func validate() throws {
        for name in norms.split(separator: ",") where DistanceNorm(rawValue: String(name)) == nil {
            throw ValidationError("--norms: unknown norm \(name); use l0, l1, l2, linf")
        }
        guard !selectedNorms.isEmpty else { throw ValidationError("--norms must name at least one norm") }
        if nearest, let bad = selectedNorms.first(where: { $0 != .l2 && $0 != .linf }) {
            throw ValidationError("--nearest supports l2 and linf, not \(bad.rawValue)")
        }
        guard (2...5000).contains(perClass) else { throw ValidationError("--per-class must be in 2…5000, got \(perClass)") }
        guard split == "train" || split == "test" else { throw ValidationError("--split must be train or test, got \(split)") }
        if let embedding {
            guard !nearest else { throw ValidationError("--embedding applies to the class-pair heatmap, not to --nearest") }
            try validateInputFile(embedding, flag: "--embedding")
        }
        try validateOutputFolder(out, flag: "--out")
    }

    func run() throws {
        // The checkpoint before the data, so that a bad --embedding is reported as itself.
        let embeddingModel = try embedding.map { try ModelLoading.triplet(path: $0) }
        let directory = try dataOptions.directory()
        try createFolder(out)
        if nearest {
            try runNearest(directory: directory)
            return
        }
        let dataset = try dataOptions.dataset.load(split == "train" ? .train : .test, directory: directory)
        var rng = SeededGenerator(seed: seedOption.seed)
        let indices = dataset.sampleIndicesPerClass(perClass, using: &rng).flatMap { $0 }
        let images = dataset.images.gather(indices)
        let labels = indices.map { dataset.labels[$0] }
        var meanPairwise: [String: [[Double]]] = [:]
        var notClosest: [String: [Int]] = [:]
        for norm in selectedNorms {
            let result = classPairDistances(images: images, labels: labels, norm: norm, classCount: dataset.classCount)
            meanPairwise[norm.rawValue] = result.meanPairwise
            notClosest[norm.rawValue] = result.rowsNotClosestToSelf
            try DistanceFigures.classPairHeatmap(
                result, classNames: dataset.classNames,
                title: "mean pairwise \(norm.rawValue) distance, \(perClass)/class \(split) (seed \(seedOption.seed))"
            ).writePNG(to: out + "/heatmap-\(norm.rawValue).png")
            try AtomicFile.write(DistanceFigures.classPairCSV(result), to: out + "/mean-pairwise-\(norm.rawValue).csv")
        }
        if let embeddingModel {
            // The same images, L2 between their embeddings: beside heatmap-l2.png.
            let result = classPairDistances(images: embeddingModel.embed(images), labels: labels, norm: .l2, classCount: dataset.classCount)
            meanPairwise["embedding_l2"] = result.meanPairwise
            notClosest["embedding_l2"] = result.rowsNotClosestToSelf
            try DistanceFigures.classPairHeatmap(
                result, classNames: dataset.classNames,
                title: "mean pairwise L2 distance, triplet embedding, \(perClass)/class \(split) (seed \(seedOption.seed))"
            ).writePNG(to: out + "/heatmap-embedding-l2.png")
            try AtomicFile.write(DistanceFigures.classPairCSV(result), to: out + "/mean-pairwise-embedding-l2.csv")
        }
        struct Output: Encodable {
            var mean_pairwise: [String: [[Double]]]
            var rows_not_closest_to_self: [String: [Int]]
            var per_class: Int, split: String, seed: UInt64
            var embedding: String?
        }
        let text = try jsonText(
            Output(
                mean_pairwise: meanPairwise, rows_not_closest_to_self: notClosest, per_class: perClass,
                split: split, seed: seedOption.seed, embedding: embedding))
        try AtomicFile.write(text, to: out + "/distances.json")
        if jsonOption.json {
            print(text)
        } else {
            for key in selectedNorms.map(\.rawValue) + (embedding == nil ? [] : ["embedding_l2"]) {
                print("\(key): rows not closest to themselves: \(notClosest[key] ?? [])")
            }
        }
        note("wrote \(out) (seed \(seedOption.seed))")
    }

    func runNearest(directory: String) throws {
        let (train, test) = try dataOptions.loadBoth()
        let images = Tensor.concatenate([train.images, test.images])
        let labels = train.labels + test.labels
        var summaries: [DistanceFigures.NearestSummary] = []
        var l2Neighbors: ClassNeighbors?
        // L2 first when both are asked for: its neighbours seed the L∞ bounds.
        for norm in selectedNorms.sorted(by: { ($0 == .l2 ? 0 : 1) < ($1 == .l2 ? 0 : 1) }) {
            let start = Date()
            let neighbors = NearestNeighbors.classNeighbors(images: images, labels: labels, norm: norm, seeds: l2Neighbors)
            if norm == .l2 { l2Neighbors = neighbors }
            let seconds = Date().timeIntervalSince(start)
            note(String(format: "%@ nearest neighbours of %d images: %.1f s", norm.rawValue, labels.count, seconds))
            summaries.append(
                DistanceFigures.NearestSummary(
                    norm: norm, seconds: seconds, neighbors: neighbors, labels: labels, classCount: train.classCount))
            try AtomicFile.write(
                DistanceFigures.nearestCSV(neighbors, labels: labels, trainCount: train.count), to: out + "/nearest-\(norm.rawValue).csv")
            let curves = DistanceFigures.nearestCurves(
                neighbors, labels: labels, norm: norm, classNames: (0..<train.classCount).map { "class \($0)" })
            try AtomicFile.write(curves.render(), to: out + "/nearest-\(norm.rawValue).svg")
        }
        let text = try jsonText(summaries)
        try AtomicFile.write(text, to: out + "/nearest.json")
        if jsonOption.json { print(text) }
        note("wrote \(out) (seed \(seedOption.seed))")
    }
}
