import Foundation
import XCTest

@testable import AdvReport

/// The judge page in a real browser (headless Chromium through chromedriver), labelled as people
/// would: a name and an instruction, keys 0–9 and n, a slip taken back with Backspace, a reload
/// in the middle, "Save labels"; a second person on the same browser after "Label as someone
/// else". The two downloaded files then fold into the report with `advlab report --render`.
///
/// The report is `ADVLAB_JUDGE_REPORT` when set (CI sets it to the quick report that
/// `Scripts/demo --quick` wrote; it is copied, not changed), else `JudgeFixture`'s small report:
/// a quick report takes 15–30 minutes on two cores, too long to make for a test.
final class JudgeBrowserTests: CLITestCase {
    static let backspace = "\u{E003}"

    func testPeopleLabelThePageAndTheirLabelsFoldIntoTheReport() throws {
        if let missing = WebDriver.missing { throw XCTSkip("the judge page's browser test needs Chromium: \(missing)") }
        let folder = root.appendingPathComponent("report")
        if let source = ProcessInfo.processInfo.environment["ADVLAB_JUDGE_REPORT"], !source.isEmpty {
            try FileManager.default.copyItem(atPath: source, toPath: folder.path)
        } else {
            try JudgeFixture.writeReport(into: folder)
        }
        let set = try JudgeSet.load(folder: folder.path)
        let made = try run(["judge", "--from", folder.path, "--out", "judge.html", "--seed", "3"])
        XCTAssertEqual(made.status, 0, made.standardError)
        // What a person sees: the image. The test knows each image's item by its data URI.
        let items = Dictionary(try set.items.map { (try JudgePage.dataURI($0), $0) }, uniquingKeysWith: { first, _ in first })

        let downloads = try makeFolder("downloads")
        let browser = try WebDriver(downloads: downloads, profile: try makeFolder("profile"))
        defer { browser.quit() }
        try browser.open(work.appendingPathComponent("judge.html"))

        // ada is careful (strict: "not a digit" for every other unrestricted example); bo, on the
        // lenient instruction, gets the first two real images wrong.
        var unrestrictedSeen = 0
        let ada = try label(browser, name: "ada", instruction: "strict", items: items, downloads: downloads) { item in
            guard item.kind == "unrestricted" else { return item.intended }
            unrestrictedSeen += 1
            return unrestrictedSeen % 2 == 0 ? nil : item.intended
        }
        try browser.click("#restart")
        var realSeen = 0
        let bo = try label(browser, name: "bo", instruction: "lenient", items: items, downloads: downloads) { item in
            guard item.kind == "real" else { return item.intended }
            realSeen += 1
            return realSeen <= 2 ? (item.intended + 1) % 10 : item.intended
        }

        let started = Date()
        let folded = try run(["report", "--render", folder.path, "--human", ada.path, "--human", bo.path])
        XCTAssertEqual(folded.status, 0, folded.standardError)
        print("report --render with two annotators: \(String(format: "%.2f", Date().timeIntervalSince(started))) s")

        let files = [try HumanLabels.load(path: ada.path), try HumanLabels.load(path: bo.path)]
        let expected = try HumanAgreement.fold(files, set: set, setPath: "judge-set.json", excludeFlagged: false, noun: "digit")
        let results = try ReportResults.decode(try Data(contentsOf: folder.appendingPathComponent("results.json")))
        let people = try XCTUnwrap(results.human)
        XCTAssertEqual(people.annotators.map(\.name), ["ada", "bo"])
        XCTAssertEqual(people.annotators.map(\.instruction), ["strict", "lenient"])
        XCTAssertEqual(people.annotators.map(\.flagged), [false, true], "bo got two real images wrong")
        let markdown = try String(contentsOf: folder.appendingPathComponent("report.md"), encoding: .utf8)
        XCTAssertEqual(people.settings.map(\.setting), expected.settings.map(\.setting))
        for (row, want) in zip(people.settings, expected.settings) {
            XCTAssertEqual(row.intended, want.intended, row.setting)
            XCTAssertEqual(row.kappa, want.kappa, row.setting)
            let shown =
                "| \(row.setting) | \(row.items) | 2 | \(row.labels) | \(Format.value(row.intended)) | "
                + "\(Format.value(row.intended_low))–\(Format.value(row.intended_high)) | \(Format.value(row.not_a_class)) |"
            XCTAssertTrue(markdown.contains(shown), "report.md lacks \(shown)")
        }
        XCTAssertTrue(markdown.contains("| bo | lenient |"))
        XCTAssertTrue(markdown.contains("Flagged by the attention checks: bo, still counted."))
        let verified = try run(["report", "--verify", folder.path] + dataFlag)
        XCTAssertEqual(verified.status, 0, verified.standardError)
    }

    /// One person's session: name, instruction, every image by key, with a slip undone on the
    /// third image and a reload half-way; returns the saved file after checking it against the
    /// answers given.
    func label(
        _ browser: WebDriver, name: String, instruction: String, items: [String: JudgeItem], downloads: URL,
        answer: (JudgeItem) -> Int?
    ) throws -> URL {
        try browser.command("element/\(try browser.element("#name"))/clear", [:])
        try browser.type(name, into: "#name")
        try browser.click("input[name=instruction][value=\(instruction)]")
        try browser.click("#begin")
        let total = items.count
        var given: [String: Int?] = [:]
        var step = 0
        while try browser.script("return document.getElementById('done').style.display") as? String != "block" {
            step += 1
            guard step <= 2 * total else { throw WebDriver.Failure(description: "the page never finished") }
            let source = try browser.script("return document.getElementById('image').src") as? String ?? ""
            let item = try XCTUnwrap(items[source], "image \(step) is not one of the judge set's")
            if step == 3 {
                try browser.press(item.intended == 1 ? "2" : "1")
                try browser.press(Self.backspace)
                XCTAssertEqual(
                    try browser.script("return document.getElementById('image').src") as? String, source,
                    "Backspace brings it back")
            }
            if step == given.count + 1 && step == 8 {
                try browser.reload()
                // The page restores its progress from localStorage in its own script after loading.
                let restored = try browser.poll("return document.getElementById('image').src") { !(($0 as? String) ?? "").isEmpty }
                XCTAssertEqual(restored as? String, source, "the reload keeps the progress")
            }
            let value = answer(item)
            try browser.press(value.map(String.init) ?? "n")
            given[item.id] = value
        }
        try browser.click("#save")
        let file = downloads.appendingPathComponent("advlab-labels-\(name)-3.json")
        for _ in 0..<100 where !FileManager.default.fileExists(atPath: file.path) { Thread.sleep(forTimeInterval: 0.1) }
        let saved = try HumanLabels.load(path: file.path)
        XCTAssertEqual(saved.annotator, name)
        XCTAssertEqual(saved.instruction, instruction)
        XCTAssertEqual(saved.page_seed, 3)
        XCTAssertEqual(saved.labels.count, given.count)
        for label in saved.labels { XCTAssertEqual(label.answer, given[label.id] ?? -1, "\(name): \(label.id)") }
        return file
    }
}
