import AdvReport
import AdvTensor
import AdvTraining
import ArgumentParser
import Foundation

/// `advlab judge`: the static page on which a person labels a shuffled mix of images.
struct JudgeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "judge",
        abstract: "Write a static page on which a person labels real, plain AC-GAN, unrestricted and perturbation images.",
        discussion: "Reads judge-set.json from each report folder given with --from, shuffles up to --per-kind images of each kind, and writes one HTML file (images embedded, no server). The page saves the labels as JSON for advlab report --human, which reports agreement per kind (as Song et al. 2018 did on Mechanical Turk).")

    @Option(name: .customLong("from"), parsing: .upToNextOption, help: "Report folders (written by advlab report).") var from: [String]
    @Option(name: .customLong("per-kind"), help: "Images of each kind on the page.") var perKind = 25
    @OptionGroup var seedOption: SeedOption
    @Option(help: "The HTML file to write.") var out: String

    func validate() throws {
        guard !from.isEmpty else { throw ValidationError("--from needs at least one report folder") }
        guard (1...1000).contains(perKind) else { throw ValidationError("--per-kind must be in 1…1000, got \(perKind)") }
        try validateOutputFile(out, flag: "--out")
    }

    func run() throws {
        let sets = try from.map { try JudgeSet.load(folder: $0) }
        let items = JudgePage.select(sets, perKind: perKind, seed: seedOption.seed)
        try OutputFolders.createPending()
        try AtomicFile.write(try JudgePage.html(items: items, seed: seedOption.seed), to: out)
        let counts = HumanLabels.kinds.map { kind in "\(items.filter { $0.kind == kind }.count) \(kind)" }.joined(separator: ", ")
        note("wrote \(out): \(items.count) images (\(counts)), seed \(seedOption.seed)")
    }
}
