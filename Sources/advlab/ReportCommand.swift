import AdvData
import AdvReport
import AdvTensor
import AdvTraining
import ArgumentParser
import Foundation

/// `advlab report`: the study end to end on the committed checkpoints.
struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Run the whole study on the committed checkpoints and write index.html, report.md and results.json.",
        discussion:
            "Generalization (test error, error on plain AC-GAN samples, unrestricted search), perturbation robustness (FGSM, IGS, PGD L∞/L2, C&W, embedding PGD, the combination image) for the natural and the robust model, and each setting's verdict on conditions (1) (by proxies) and (2) (exact). --quick runs on small subsets in a few minutes; the full study takes about half an hour on two cores."
    )

    @Flag(help: "Small subsets (a few minutes); the numbers are noisy.") var quick = false
    @Option(
        help: ArgumentHelp(
            "Labels saved by the judge page or imported from MTurk (advlab judge), one file per annotator; "
                + "repeat the flag. With --render, folds them into that report's people's-labels section and "
                + "conclusions without running the study."))
    var human: [String] = []
    @Flag(name: .customLong("exclude-flagged"), help: "Leave out the annotators flagged by the attention checks (real test images).")
    var excludeFlagged = false
    @Option(help: "The natural classifier (default: classifier-natural.safetensors in the data set's checkpoints folder).")
    var natural: String?
    @Option(help: "The adversarially trained classifier (default: classifier-robust.safetensors there).") var robust: String?
    @Option(help: "The AC-GAN (default: acgan.safetensors there).") var generator: String?
    @Option(help: "The triplet embedding (default: triplet.safetensors there).") var embedding: String?
    @Option(
        help: ArgumentHelp(
            "The validity panel's robust judge of another architecture (default: judge-robust.safetensors there); when the file "
                + "is absent the report says so and the panel goes without it."))
    var judge: String?
    @OptionGroup var seedOption: SeedOption
    @OptionGroup var dataOptions: DataOptions
    @Option(help: "Output folder (created if missing; its parent must exist).") var out = "out/report"
    @Option(help: "Only check an existing report folder: every number on its pages is in results.json and every figure exists.")
    var verify: String?
    @Option(help: "Only render report.md and index.html again from an existing folder's results.json (after a change to the pages).")
    var render: String?
    @Option(
        parsing: .upToNextOption,
        help: ArgumentHelp(
            "Only compare two finished reports of two data sets: write compare.md, compare.html and figures into --out "
                + "from the folders' results.json alone.", valueName: "folder"))
    var compare: [String] = []

    /// A model flag's file: the flag when given, else `file` in the data set's checkpoints folder
    /// (checkpoints/ for MNIST, checkpoints/fashion-mnist/ for Fashion-MNIST).
    func checkpoint(_ flag: String?, _ file: String) -> String { flag ?? dataOptions.dataset.checkpointsFolder + "/" + file }
    var naturalPath: String { checkpoint(natural, "classifier-natural.safetensors") }
    var robustPath: String { checkpoint(robust, "classifier-robust.safetensors") }
    var generatorPath: String { checkpoint(generator, "acgan.safetensors") }
    var embeddingPath: String { checkpoint(embedding, "triplet.safetensors") }
    var judgePath: String { checkpoint(judge, "judge-robust.safetensors") }
    /// The four models the study needs, by role (the flag is `--` + role): checked, fingerprinted.
    var requiredModels: [(role: String, path: String)] {
        [("natural", naturalPath), ("robust", robustPath), ("generator", generatorPath), ("embedding", embeddingPath)]
    }

    func validate() throws {
        if !compare.isEmpty { return try validateComparison() }
        if verify != nil {
            guard human.isEmpty, !excludeFlagged else {
                throw ValidationError("--verify only checks a folder; fold --human labels in with --render")
            }
            return
        }
        for file in human { try validateInputFile(file, flag: "--human") }
        if excludeFlagged && human.isEmpty { throw ValidationError("--exclude-flagged needs --human labels to filter") }
        if render != nil { return }
        for (role, path) in requiredModels { try validateInputFile(path, flag: "--" + role) }
        // A lab checkpoint names the data set it was trained on; a study on another one would measure nothing.
        for (role, path) in requiredModels + [("judge", judgePath)] {
            let flag = "--" + role
            if let trained = ModelLoading.dataset(ofCheckpoint: path), trained.name != dataOptions.dataset.name {
                throw ValidationError(
                    "\(flag) \(path) was trained on \(trained.title), not on --dataset \(dataOptions.dataset.name)")
            }
        }
        try validateOutputFolder(out, flag: "--out")
    }

    func run() throws {
        if !compare.isEmpty { return try writeComparison() }
        if let render {
            try renderAgain(folder: render)
            return
        }
        if let verify {
            // The data files of the fingerprint are the data set's the results name (--data overrides where).
            let recorded = (try? ReportResults.decode(Data(contentsOf: URL(fileURLWithPath: verify + "/results.json"))))?.data.name
            let dataset = recorded.flatMap(DatasetCatalog.named) ?? dataOptions.dataset
            let problems = ReportChecks.problems(folder: verify, dataDirectory: try? dataset.directory(dataFlag: dataOptions.data))
            guard problems.isEmpty else {
                throw ValidationError("--verify \(verify): \(problems.count) problem(s): " + problems.prefix(5).joined(separator: "; "))
            }
            print("\(verify): every number on report.md and index.html is in results.json; every figure exists")
            return
        }
        // Everything that can be wrong with the inputs is found before any work or writing.
        let labels = try human.map { try HumanLabels.load(path: $0) }
        // The run writes judge-set.json again (the same images for the same seed and settings) and
        // checks the labels against it; an earlier run's set in --out lets a mismatch fail now.
        if !labels.isEmpty, FileManager.default.fileExists(atPath: out + "/judge-set.json") {
            _ = try HumanAgreement.fold(
                labels, set: try JudgeSet.load(folder: out), setPath: out + "/judge-set.json",
                excludeFlagged: excludeFlagged, noun: dataOptions.dataset.itemNoun)
        }
        let models = try StudyModels.load(
            natural: naturalPath, robust: robustPath, acgan: generatorPath, triplet: embeddingPath, judge: judgePath)
        if let missing = models.missingJudge { note(missing) }
        let (train, test) = try dataOptions.loadBoth()
        try createFolder(out)
        let study = Study(
            models: models, train: train, test: test, settings: quick ? .quick : .full, seed: seedOption.seed, folder: out,
            log: { note($0) })
        var results = try study.run(human: labels, excludeFlagged: excludeFlagged, noun: dataOptions.dataset.itemNoun)
        results.fingerprint = try RunFingerprint.make(
            checkpoints: requiredModels + (models.judge == nil ? [] : [("judge", judgePath)]), dataDirectory: try dataOptions.directory())
        let document = ReportContent.document(results)
        try AtomicFile.write(try ReportResults.jsonText(results), to: out + "/results.json")
        try AtomicFile.write(document.markdown(), to: out + "/report.md")
        try AtomicFile.write(document.html(), to: out + "/index.html")
        for conclusion in results.conclusions { print("\(conclusion.question)\n  \(conclusion.answer)") }
        note(String(format: "wrote %@/index.html, report.md, results.json in %.0f s (seed %llu)", out, results.seconds, seedOption.seed))
    }

    /// `--render DIR`: the pages again from DIR/results.json; with `--human`, the people's labels
    /// folded in first (only the people's section and the conclusions change; results.json is
    /// rewritten with them).
    func renderAgain(folder: String) throws {
        var results: ReportResults
        do { results = try ReportResults.load(folder: folder, flag: "--render") } catch let problem as ReportResults.LoadProblem {
            throw ValidationError(problem.description)
        }
        if !human.isEmpty {
            let labels = try human.map { try HumanLabels.load(path: $0) }
            results.human = try HumanAgreement.fold(
                labels, set: try JudgeSet.load(folder: folder), setPath: folder + "/judge-set.json",
                excludeFlagged: excludeFlagged, noun: dataOptions.dataset.itemNoun)
            results.conclusions = Conclusions.compute(results)
            try AtomicFile.write(try ReportResults.jsonText(results), to: folder + "/results.json")
        }
        let document = ReportContent.document(results)
        try AtomicFile.write(document.markdown(), to: folder + "/report.md")
        try AtomicFile.write(document.html(), to: folder + "/index.html")
        if let people = results.human, !human.isEmpty {
            let flagged = people.annotators.filter(\.flagged).map(\.name)
            note(
                "folded the labels of \(people.annotators.count) annotator(s) into \(people.settings.count) setting(s)"
                    + (flagged.isEmpty ? "" : "; flagged: " + flagged.joined(separator: ", ") + (excludeFlagged ? " (left out)" : "")))
        }
        note("rendered \(folder)/report.md and index.html from results.json")
    }
}
