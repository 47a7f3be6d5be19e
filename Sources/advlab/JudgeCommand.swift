import AdvData
import AdvReport
import AdvTensor
import AdvTraining
import ArgumentParser
import Foundation

extension JudgeInstruction: ExpressibleByArgument {}

/// `advlab judge`: the static page on which people label images of every setting, the same set as
/// MTurk HITs, and MTurk's results back as labels.
struct JudgeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "judge",
        abstract: "Write a page (or MTurk HITs) on which people label images of every setting; import MTurk's results as labels.",
        discussion: """
            The images come from judge-set.json in each report folder given with --from (every setting of the report: unrestricted \
            examples per generator, model and search variant, PGD and the combination and invariance examples, real test images and \
            plain generator samples as controls), or from an advlab unrestricted folder (--from-unrestricted; real test images are \
            added as attention checks). Up to --per-setting images of each setting are picked, stratified over classes.
            --out FILE.html writes one page (images embedded, no server): each person types a name that seeds their order and picks \
            an instruction; the page saves labels for advlab report --human. --mturk DIR writes layout.html (a HIT with ${…} \
            placeholders, 5 images each) and input.csv. --import-mturk RESULTS.csv --out DIR turns the platform's results CSV into \
            one labels file per worker (the same --from).
            """)

    @Option(name: .customLong("from"), parsing: .upToNextOption, help: "Report folders (written by advlab report).") var from: [String] = []
    @Option(name: .customLong("from-unrestricted"), help: "A folder written by advlab unrestricted.") var fromUnrestricted: String?
    @Option(name: .customLong("per-setting"), help: "Images of each setting on the page or the HITs.") var perSetting = 20
    @Option(help: "The instruction selected on the page (people can switch) or written into the HITs.")
    var instruction = JudgeInstruction.lenient
    @Option(help: "Write MTurk's HIT layout (layout.html) and its input CSV (input.csv) into this folder.") var mturk: String?
    @Option(
        name: .customLong("import-mturk"),
        help: "MTurk's results CSV for HITs made with --mturk: write one labels file per worker into --out.")
    var importMTurk: String?
    @OptionGroup var seedOption: SeedOption
    @OptionGroup var dataOptions: DataOptions
    @Option(help: "The page to write (FILE.html), or with --import-mturk the folder for the labels files.") var out: String?

    func validate() throws {
        guard !from.isEmpty || fromUnrestricted != nil else {
            throw ValidationError("give the images: --from REPORT_DIR… or --from-unrestricted DIR")
        }
        guard from.isEmpty || fromUnrestricted == nil else {
            throw ValidationError("--from and --from-unrestricted are alternatives; give one")
        }
        guard (1...1000).contains(perSetting) else { throw ValidationError("--per-setting must be in 1…1000, got \(perSetting)") }
        guard mturk == nil || importMTurk == nil else {
            throw ValidationError("--mturk writes HITs and --import-mturk reads their results; give one")
        }
        if let mturk {
            guard out == nil else { throw ValidationError("--out is not used with --mturk (it writes into the --mturk folder)") }
            try validateOutputFolder(mturk, flag: "--mturk")
        } else if let importMTurk {
            try validateInputFile(importMTurk, flag: "--import-mturk")
            guard let out else { throw ValidationError("--import-mturk needs --out DIR for the labels files") }
            try validateOutputFolder(out, flag: "--out")
        } else {
            guard let out else { throw ValidationError("--out FILE.html is missing (or give --mturk DIR or --import-mturk FILE)") }
            try validateOutputFile(out, flag: "--out")
        }
    }

    /// The judge set the images come from.
    func judgeSet() throws -> JudgeSet {
        if let fromUnrestricted {
            let search = try JudgeSet.load(
                path: fromUnrestricted + "/judge-set.json",
                missingHint: "it is written by advlab unrestricted --out \(fromUnrestricted) (run it again)")
            // Attention checks: real test images, from the last 1,000 as in the report.
            let test = try dataOptions.load(.test)
            var rng = SeededGenerator(seed: seedOption.seed &+ 401)
            let tail = Array(max(0, test.count - 1000)..<test.count)
            let chosen = JudgeSampling.stratified(tail, count: perSetting, stratum: { "\(test.labels[$0])" }, using: &rng)
            let real = chosen.map { index in
                JudgeItem(
                    id: "real-\(index)", kind: "real", intended: test.labels[index], setting: JudgeSettings.real,
                    detail: "test image \(index)", image01: test.images.slice(index..<(index + 1)))
            }
            return JudgeSet.merged([search, JudgeSet(seed: search.seed, items: real)])
        }
        return JudgeSet.merged(try from.map { try JudgeSet.load(folder: $0) })
    }

    func run() throws {
        let set = try judgeSet()
        let noun = dataOptions.dataset.itemNoun
        if let importMTurk {
            let text = try String(contentsOfFile: importMTurk, encoding: .utf8)
            let workers = try MTurk.importResults(csv: text, path: importMTurk, set: set)
            guard let out else { return }
            try createFolder(out)
            for labels in workers {
                try AtomicFile.write(try jsonText(labels), to: out + "/" + MTurk.fileName(for: labels))
            }
            let counts = workers.map { "\($0.annotatorName) \($0.labels.count)" }
            note("wrote \(workers.count) labels file(s) into \(out): " + counts.joined(separator: ", "))
            return
        }
        let items = JudgePage.select(set, perSetting: perSetting, seed: seedOption.seed)
        let counts = set.settingList.map { setting in "\(items.filter { $0.setting == setting.setting }.count) \(setting.setting)" }
        if let mturk {
            // HITs mix the settings: a seeded shuffle, so no HIT shows one setting only.
            var shuffled = items
            var rng = SeededGenerator(seed: seedOption.seed &+ 1)
            shuffled.seededShuffle(using: &rng)
            let csv = try MTurk.inputCSV(items: shuffled, instruction: instruction, seed: seedOption.seed)
            try createFolder(mturk)
            try AtomicFile.write(MTurk.layout(instruction: instruction, noun: noun), to: mturk + "/layout.html")
            try AtomicFile.write(csv, to: mturk + "/input.csv")
            let hits = (items.count + MTurk.imagesPerHIT - 1) / MTurk.imagesPerHIT
            note(
                "wrote \(mturk)/layout.html and input.csv: \(hits) HITs of \(MTurk.imagesPerHIT) images "
                    + "(\(counts.joined(separator: ", "))), "
                    + "instruction \(instruction.rawValue), seed \(seedOption.seed)")
            return
        }
        guard let out else { return }
        try OutputFolders.createPending()
        try AtomicFile.write(try JudgePage.html(items: items, seed: seedOption.seed, noun: noun, instruction: instruction), to: out)
        note("wrote \(out): \(items.count) images (\(counts.joined(separator: ", "))), seed \(seedOption.seed)")
    }
}
