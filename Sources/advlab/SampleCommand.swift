import AdvAnalysis
import AdvData
import AdvImaging
import AdvTensor
import AdvTraining
import ArgumentParser
import Foundation

/// `advlab sample`: PNG grids of AC-GAN samples, or their quality metrics.
struct SampleCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sample",
        abstract: "Draw AC-GAN samples as a PNG grid, or measure their quality (--metrics).",
        discussion:
            "--metrics reports agreement (the natural classifier's agreement with the requested class), the auxiliary head's test accuracy, and FCD (Fréchet distance of the natural classifier's penultimate features, generated vs test)."
    )

    @Option(help: "AC-GAN checkpoint.") var generator = "checkpoints/acgan.safetensors"
    @Option(name: .customLong("per-class"), help: "Samples per class (grid columns).") var perClass = 10
    @Option(name: .customLong("class"), help: "Only this class (0-9).") var onlyClass: Int?
    @OptionGroup var seedOption: SeedOption
    @Option(help: "PNG file to write.") var out: String?
    @Flag(help: "Measure agreement, auxiliary test accuracy and FCD instead of drawing.") var metrics = false
    @Option(help: "Number of generated images for --metrics.") var count = 10_000
    @Option(help: "Natural classifier for --metrics.") var classifier = "checkpoints/classifier-natural.safetensors"
    @OptionGroup var dataOptions: DataOptions
    @OptionGroup var jsonOption: JSONOption

    func validate() throws {
        try validateInputFile(generator, flag: "--generator")
        guard (1...100).contains(perClass) else { throw ValidationError("--per-class must be in 1…100, got \(perClass)") }
        if let onlyClass, !(0...9).contains(onlyClass) { throw ValidationError("--class must be in 0…9, got \(onlyClass)") }
        guard (10...100_000).contains(count) else { throw ValidationError("--count must be in 10…100000, got \(count)") }
        if metrics {
            try validateInputFile(classifier, flag: "--classifier")
        } else {
            guard let out else { throw ValidationError("--out FILE.png is required unless --metrics is given") }
            try validateOutputFile(out, flag: "--out")
        }
    }

    func run() throws {
        let (gen, disc) = try ModelLoading.acgan(path: generator)
        if metrics {
            let natural = try ModelLoading.classifier(path: classifier)
            let test = try dataOptions.load(.test)
            let quality = try measureSampleQuality(
                generator: gen, discriminator: disc, classifier: natural, test: test,
                count: count, seed: seedOption.seed)
            if jsonOption.json {
                print(try jsonText(quality))
            } else {
                print(
                    String(
                        format: "agreement %.4f, aux test accuracy %.4f, FCD %.3f (%d samples, seed %llu)",
                        quality.agreement, quality.aux_test_accuracy, quality.fcd, quality.count, seedOption.seed))
                print("per-class agreement: " + quality.per_class_agreement.map { String(format: "%.3f", $0) }.joined(separator: " "))
            }
            return
        }
        let classes = onlyClass.map { [$0] } ?? Array(0..<10)
        let requested = classes.flatMap { [Int](repeating: $0, count: perClass) }
        let (images, _) = generateSamples(gen, count: requested.count, seed: seedOption.seed, classes: requested)
        var grid = ImageGrid.fromImages(images, columns: perClass, scale: 2, padding: 2)
        // Rows headed by the class names of the data set the checkpoint was trained on.
        let classNames = (ModelLoading.dataset(ofCheckpoint: generator) ?? dataOptions.dataset).classNames
        for (row, label) in classes.enumerated() {
            grid.rowHeader(row: row, text: label < classNames.count ? classNames[label] : String(label))
        }
        grid.title = "AC-GAN samples, one row per class (seed \(seedOption.seed))"
        let path = out ?? "samples.png"
        try OutputFolders.createPending()
        try grid.writePNG(to: path)
        print("wrote \(path) (seed \(seedOption.seed))")
    }
}
