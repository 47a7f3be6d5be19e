import AdvReport
import AdvTensor
import AdvTraining
import ArgumentParser
import Foundation

/// `advlab report --compare A B --out DIR`: two reports of two data sets side by side
/// (`ReportComparison`), from their results.json alone.
extension ReportCommand {
    /// Every input of the comparison, read and checked before anything is written.
    func comparisonInputs() throws -> (results: [ReportResults], page: ReportComparison) {
        guard compare.count == 2 else {
            throw ValidationError("--compare takes two report folders (one per data set), got \(compare.count)")
        }
        for (flag, given) in [
            ("--verify", verify != nil), ("--render", render != nil), ("--human", !human.isEmpty), ("--exclude-flagged", excludeFlagged),
            ("--quick", quick),
        ] where given {
            throw ValidationError("--compare only reads two finished reports; it does not take \(flag)")
        }
        let results: [ReportResults]
        do { results = try compare.map { try ReportResults.load(folder: $0, flag: "--compare") } } catch let problem
            as ReportResults.LoadProblem
        {
            throw ValidationError(problem.description)
        }
        if let problem = ReportComparison.problem(results[0], results[1], folders: compare) { throw ValidationError(problem) }
        let page = ReportComparison.render(results[0], results[1])
        for copy in page.copies where !FileManager.default.fileExists(atPath: compare[copy.report] + "/" + copy.source) {
            throw ValidationError(
                "--compare \(compare[copy.report]): \(copy.source), a figure its results.json names, is missing from the folder")
        }
        return (results, page)
    }

    func validateComparison() throws {
        _ = try comparisonInputs()
        try validateOutputFolder(out, flag: "--out")
    }

    /// Writes compare.md, compare.html, the page's plots and the two reports' heat maps into --out.
    func writeComparison() throws {
        let (results, page) = try comparisonInputs()
        try createFolder(out)
        for plot in page.plots { try AtomicFile.write(plot.svg, to: out + "/" + plot.file) }
        for copy in page.copies {
            let source = compare[copy.report] + "/" + copy.source
            guard let bytes = FileManager.default.contents(atPath: source) else {
                throw ValidationError("--compare \(compare[copy.report]): cannot read \(copy.source)")
            }
            try AtomicFile.write([UInt8](bytes), to: out + "/" + copy.file)
        }
        try AtomicFile.write(page.document.markdown(), to: out + "/compare.md")
        try AtomicFile.write(page.document.html(), to: out + "/compare.html")
        note(
            "wrote \(out)/compare.html and compare.md: \(results[0].data.title) (\(compare[0])) and "
                + "\(results[1].data.title) (\(compare[1])), from their results.json")
    }
}
