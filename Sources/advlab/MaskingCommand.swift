import AdvAttacks
import AdvTensor
import AdvTraining
import ArgumentParser
import Foundation

/// `advlab masking --model PATH`: the gradient-masking sanity checks (`maskingChecks`) at the data
/// set's usual L∞ ε; exits 1 when a check fails.
struct MaskingCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "masking",
        abstract: "Gradient-masking sanity checks against one classifier (exit 1 when one fails).",
        discussion: """
            ε = 1 from the clean image leaves 0; robust accuracy does not rise along ε; unbounded C&W \
            fools every image; restarts and more steps from independent starts do not lower PGD's \
            figure by more than the tolerance; gradient-free Square does not beat the gradient \
            attacks. A last check (more effort does not raise PGD's figure) is reported as carrying \
            little information.
            """)

    @Option(help: "Classifier checkpoint (.safetensors or .onnx).") var model = "checkpoints/classifier-robust.safetensors"
    @OptionGroup var dataOptions: DataOptions
    @Option(help: "First N test images.") var count = 1000
    @Option(help: "L∞ radius (default: the data set's usual one, 0.3 for mnist).") var eps: Float?
    @Option(help: "Largest loss of robust accuracy a restart or a longer run may find.") var tolerance = 0.01
    @Option(name: .customLong("cw-count"), help: "Images for unbounded C&W (the first N).") var cwCount = 200
    @Option(name: .customLong("square-count"), help: "Images for Square (the first N; default: all).") var squareCount: Int?
    @Option(name: .customLong("square-queries"), help: "Square's queries per image.") var squareQueries = 5000
    @Option(help: "Folder for masking.json (created when missing).") var out = "out/masking"
    @OptionGroup var seedOption: SeedOption
    @OptionGroup var jsonOption: JSONOption

    func validate() throws {
        guard (1...10_000).contains(count) else { throw ValidationError("--count must be in 1…10000, got \(count)") }
        if let eps, !(eps > 0 && eps <= 1) { throw ValidationError("--eps must be in (0, 1], got \(eps)") }
        guard tolerance >= 0 && tolerance < 1 else { throw ValidationError("--tolerance must be in [0, 1), got \(tolerance)") }
        guard cwCount >= 1 else { throw ValidationError("--cw-count must be at least 1, got \(cwCount)") }
        if let squareCount, squareCount < 1 { throw ValidationError("--square-count must be at least 1, got \(squareCount)") }
        guard squareQueries >= 1 else { throw ValidationError("--square-queries must be at least 1, got \(squareQueries)") }
        try validateInputFile(model, flag: "--model")
        try validateOutputFolder(out, flag: "--out")
    }

    struct Output: Encodable {
        var model: String
        var dataset: String
        var seed: UInt64
        var all_hold: Bool
        var report: MaskingCheckReport
    }

    func run() throws {
        let classifier = try ModelLoading.classifier(path: model)
        let test = try dataOptions.load(.test)
        let n = min(count, test.labels.count)
        var config = MaskingCheckConfig.standard(eps: eps ?? Float(dataOptions.dataset.usualLinfEps))
        config.tolerance = tolerance
        config.cwCount = cwCount
        config.squareCount = squareCount
        config.squareQueries = squareQueries
        let report = maskingChecks(
            model: classifier, images01: test.images.slice(0..<n), labels: Array(test.labels[0..<n]), config: config,
            seed: seedOption.seed)
        let output = Output(
            model: URL(fileURLWithPath: model).lastPathComponent, dataset: dataOptions.dataset.name, seed: seedOption.seed,
            all_hold: report.allHold, report: report)
        try createFolder(out)
        try AtomicFile.write(try jsonText(output), to: out + "/masking.json")
        if jsonOption.json {
            print(try jsonText(output))
        } else {
            print("\(model), first \(n) test images, L∞ ε \(String(format: "%g", config.eps)), seed \(seedOption.seed)")
            for check in report.checks {
                let verdict = check.holds ? "holds" : "FAILS"
                print("\(verdict): \(check.name)\(check.informative ? "" : " (little information)"): \(check.detail)")
            }
        }
        if !report.allHold { throw ExitCode(1) }
    }
}
