import AdvAnalysis
import AdvData
import AdvImaging
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
            let result = classPairDistances(images: images, labels: labels, norm: norm)
            meanPairwise[norm.rawValue] = result.meanPairwise
            notClosest[norm.rawValue] = result.rowsNotClosestToSelf
            try writeHeatmap(
                result, title: "mean pairwise \(norm.rawValue) distance, \(perClass)/class \(split) (seed \(seedOption.seed))",
                path: out + "/heatmap-\(norm.rawValue).png")
            try AtomicFile.write(csvText(result), to: out + "/mean-pairwise-\(norm.rawValue).csv")
        }
        if let embeddingModel {
            // The same images, L2 between their embeddings: beside heatmap-l2.png.
            let result = classPairDistances(images: embeddingModel.embed(images), labels: labels, norm: .l2)
            meanPairwise["embedding_l2"] = result.meanPairwise
            notClosest["embedding_l2"] = result.rowsNotClosestToSelf
            try writeHeatmap(
                result, title: "mean pairwise L2 distance, triplet embedding, \(perClass)/class \(split) (seed \(seedOption.seed))",
                path: out + "/heatmap-embedding-l2.png")
            try AtomicFile.write(csvText(result), to: out + "/mean-pairwise-embedding-l2.csv")
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

    func csvText(_ result: ClassPairDistances) -> String {
        (["class," + (0..<10).map(String.init).joined(separator: ",")]
            + result.meanPairwise.enumerated().map {
                "\($0.offset)," + $0.element.map { String(format: "%.6g", $0) }.joined(separator: ",")
            })
            .joined(separator: "\n") + "\n"
    }

    func writeHeatmap(_ result: ClassPairDistances, title: String, path: String) throws {
        var heatmap = Heatmap(
            values: result.meanPairwise.map { $0.map(Float.init) }, rowLabels: (0..<10).map(String.init),
            columnLabels: (0..<10).map(String.init))
        heatmap.title = title
        heatmap.rowAxisTitle = "class"
        heatmap.columnAxisTitle = "class"
        heatmap.markedRows = result.rowsNotClosestToSelf
        heatmap.markedCells = result.rowsNotClosestToSelf.map { (row: $0, column: result.closestClass[$0]) }
        try heatmap.writePNG(to: path)
    }

    func runNearest(directory: String) throws {
        let (train, test) = try dataOptions.loadBoth()
        let images = Tensor.concatenate([train.images, test.images])
        let labels = train.labels + test.labels
        struct NormSummary: Encodable {
            var norm: String
            var seconds: Double
            var same_class_quantiles: [[Double]]  // per class: 0, 1, 5, 50, 95 %
            var other_class_quantiles: [[Double]]
            var same_class_min: Double
            var other_class_min: Double
        }
        var summaries: [NormSummary] = []
        var l2Neighbors: ClassNeighbors?
        // L2 first when both are asked for: its neighbours seed the L∞ bounds.
        for norm in selectedNorms.sorted(by: { ($0 == .l2 ? 0 : 1) < ($1 == .l2 ? 0 : 1) }) {
            let start = Date()
            let neighbors = NearestNeighbors.classNeighbors(images: images, labels: labels, norm: norm, seeds: l2Neighbors)
            if norm == .l2 { l2Neighbors = neighbors }
            let seconds = Date().timeIntervalSince(start)
            note(String(format: "%@ nearest neighbours of %d images: %.1f s", norm.rawValue, labels.count, seconds))
            let same = neighbors.sameClass.map(\.distance)
            let other = neighbors.otherClass.map(\.distance)
            func quantiles(_ values: [Float], _ digit: Int) -> [Double] {
                let sorted = labels.indices.filter { labels[$0] == digit }.map { Double(values[$0]) }.sorted()
                return lowerQuantiles(sorted, [0, 0.01, 0.05, 0.5, 0.95])
            }
            summaries.append(
                NormSummary(
                    norm: norm.rawValue, seconds: seconds,
                    same_class_quantiles: (0..<10).map { quantiles(same, $0) },
                    other_class_quantiles: (0..<10).map { quantiles(other, $0) },
                    same_class_min: Double(same.min() ?? .nan), other_class_min: Double(other.min() ?? .nan)))
            var csv = "index,split,label,nearest_same_class,nearest_same_class_index,nearest_other_class,nearest_other_class_index\n"
            for i in labels.indices {
                csv +=
                    "\(i),\(i < train.count ? "train" : "test"),\(labels[i]),\(neighbors.sameClass[i].distance),\(neighbors.sameClass[i].index),"
                    + "\(neighbors.otherClass[i].distance),\(neighbors.otherClass[i].index)\n"
            }
            try AtomicFile.write(csv, to: out + "/nearest-\(norm.rawValue).csv")
            try writeHistograms(same: same, other: other, labels: labels, norm: norm, path: out + "/nearest-\(norm.rawValue).svg")
        }
        let text = try jsonText(summaries)
        try AtomicFile.write(text, to: out + "/nearest.json")
        if jsonOption.json { print(text) }
        note("wrote \(out) (seed \(seedOption.seed))")
    }

    /// Per-class distributions of nearest same-class distance (solid) and other-class (dashed),
    /// as cumulative curves: the share of the class's images whose neighbour is within x.
    func writeHistograms(same: [Float], other: [Float], labels: [Int], norm: DistanceNorm, path: String) throws {
        var plot = SVGPlot(
            title: "nearest-neighbour distance, \(norm.rawValue), all 70,000 images (solid: same class, dashed: other class)",
            xLabel: "\(norm.rawValue) distance", yLabel: "share of the class within x")
        let top = Double(max(same.filter(\.isFinite).max() ?? 1, other.filter(\.isFinite).max() ?? 1))
        let xs = (0...60).map { top * Double($0) / 60 }
        for digit in 0..<10 {
            let members = labels.indices.filter { labels[$0] == digit }
            let sameSorted = members.map { Double(same[$0]) }.sorted()
            let otherSorted = members.map { Double(other[$0]) }.sorted()
            func share(_ sorted: [Double], _ x: Double) -> Double {
                var low = 0
                var high = sorted.count
                while low < high {
                    let mid = (low + high) / 2
                    if sorted[mid] <= x { low = mid + 1 } else { high = mid }
                }
                return Double(low) / Double(max(1, sorted.count))
            }
            let color = SVGPlot.palette[digit % SVGPlot.palette.count]
            plot.addSeries("class \(digit)", x: xs, y: xs.map { share(sameSorted, $0) }, color: color)
            plot.addSeries("class \(digit) other", x: xs, y: xs.map { share(otherSorted, $0) }, color: color, dashed: true)
        }
        try AtomicFile.write(plot.render(), to: path)
    }
}
