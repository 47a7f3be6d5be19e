import AdvAttacks
import AdvData
import AdvImaging
import AdvModels
import AdvTensor
import AdvTraining
import ArgumentParser
import Foundation

/// `advlab craft …`: hand-crafted examples.
struct CraftCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "craft", abstract: "Hand-crafted examples.", subcommands: [CombinationCommand.self])
}

/// `advlab craft combination`: the post's `x0 + ε·sign(x1)`.
struct CombinationCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "combination",
        abstract: "The post's combination image x0 + ε·sign(x1): within ε of x0 in L∞, yet visibly carrying x1's strokes.",
        discussion:
            "Writes combination.png (rows of x0 | sign(x1) | combination, with every model's prediction), combination.npy and combination.json to --out."
    )

    @Option(name: .customLong("source-class"), help: "Class of the source images x0 (0-9).") var sourceClass: Int
    @Option(name: .customLong("with-class"), help: "Class of the images x1 whose strokes are added (0-9).") var withClass: Int
    @Option(help: "L∞ radius ε.") var eps: Float = 0.3
    @Option(help: "Number of (x0, x1) pairs (test images, drawn with --seed).") var count = 8
    @Option(name: .customLong("model"), help: "Classifier checkpoints whose predictions are shown (repeatable).")
    var models: [String] = ["checkpoints/classifier-natural.safetensors", "checkpoints/classifier-robust.safetensors"]
    @OptionGroup var seedOption: SeedOption
    @OptionGroup var dataOptions: DataOptions
    @Option(help: "Output folder.") var out: String
    @OptionGroup var jsonOption: JSONOption

    func validate() throws {
        guard (0...9).contains(sourceClass) else { throw ValidationError("--source-class must be in 0…9, got \(sourceClass)") }
        guard (0...9).contains(withClass) else { throw ValidationError("--with-class must be in 0…9, got \(withClass)") }
        guard sourceClass != withClass else { throw ValidationError("--with-class must differ from --source-class (\(sourceClass))") }
        guard eps >= 0, eps <= 1 else { throw ValidationError("--eps must be in [0, 1] (L∞, pixels in [0, 1]), got \(eps)") }
        guard (1...1000).contains(count) else { throw ValidationError("--count must be in 1…1000, got \(count)") }
        for model in models { try validateInputFile(model, flag: "--model") }
        try validateOutputFolder(out, flag: "--out")
    }

    struct Record: Encodable {
        var source_index: Int
        var with_index: Int
        var predictions: [String: [Int]]  // model file -> [clean x0, combination]
        var linf: Float
        var l2: Float
    }

    func run() throws {
        let classifiers = try models.map { ($0, try ModelLoading.classifier(path: $0)) }
        let test = try dataOptions.load(.test)
        try createFolder(out)
        var rng = SeededGenerator(seed: seedOption.seed)
        var sources = test.indicesByClass()[sourceClass]
        var others = test.indicesByClass()[withClass]
        sources.seededShuffle(using: &rng)
        others.seededShuffle(using: &rng)
        let n = min(count, sources.count, others.count)
        let x0 = test.images.gather(Array(sources.prefix(n)))
        let x1 = test.images.gather(Array(others.prefix(n)))
        let combined = combinationImages(sources: x0, others: x1, eps: eps)
        let signs = x1.sign()
        let cleanPredictions = classifiers.map { $0.1.predict(x0) }
        let combinedPredictions = classifiers.map { $0.1.predict(combined) }
        let delta = combined - x0
        let linf = delta.normsPerExample(p: .infinity)
        let l2 = delta.normsPerExample(p: 2)

        var grid = ImageGrid(rows: n, columns: 3, tileWidth: 28, tileHeight: 28, scale: 3, padding: 6)
        grid.title = String(format: "x0 (class %d) + %.2f·sign(x1) (class %d), seed %llu", sourceClass, eps, withClass, seedOption.seed)
        grid.columnHeader(column: 0, text: "x0")
        grid.columnHeader(column: 1, text: "sign(x1)")
        grid.columnHeader(column: 2, text: "combination")
        let names = models.map {
            URL(fileURLWithPath: $0).deletingPathExtension().lastPathComponent.replacingOccurrences(of: "classifier-", with: "")
        }
        var records: [Record] = []
        for row in 0..<n {
            grid.set(row: row, column: 0, bitmap: Bitmap(image01: x0.slice(row..<(row + 1))))
            grid.set(row: row, column: 1, bitmap: Bitmap(image01: signs.slice(row..<(row + 1))))
            grid.set(row: row, column: 2, bitmap: Bitmap(image01: combined.slice(row..<(row + 1))))
            grid.label(row: row, column: 0, text: zip(names, cleanPredictions).map { "\($0) \($1[row])" }.joined(separator: " "))
            grid.label(
                row: row, column: 2, text: zip(names, combinedPredictions).map { "\($0) \($1[row])" }.joined(separator: " "),
                color: combinedPredictions.contains { $0[row] != sourceClass } ? .red : .black)
            var predictions: [String: [Int]] = [:]
            for (index, model) in models.enumerated() {
                predictions[model] = [cleanPredictions[index][row], combinedPredictions[index][row]]
            }
            records.append(
                Record(source_index: sources[row], with_index: others[row], predictions: predictions, linf: linf[row], l2: l2[row]))
        }
        try grid.writePNG(to: out + "/combination.png")
        try NPY.write(combined, to: out + "/combination.npy")
        struct Output: Encodable {
            var source_class: Int, with_class: Int, eps: Float, seed: UInt64, count: Int
            var still_source_class: [String: Double]
            var examples: [Record]
        }
        var still: [String: Double] = [:]
        for (index, model) in models.enumerated() {
            still[model] = Double(combinedPredictions[index].filter { $0 == sourceClass }.count) / Double(max(1, n))
        }
        let output = Output(
            source_class: sourceClass, with_class: withClass, eps: eps, seed: seedOption.seed, count: n,
            still_source_class: still, examples: records)
        let text = try jsonText(output)
        try AtomicFile.write(text, to: out + "/combination.json")
        if jsonOption.json { print(text) }
        note("wrote \(out)/combination.png (seed \(seedOption.seed))")
    }
}
