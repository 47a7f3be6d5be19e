import Foundation

/// Mechanical Turk in and out, as Song et al. 2018 ran their study (their
/// `mturk_websites/mturk.html`): a HIT layout with `${…}` placeholders showing `imagesPerHIT`
/// images, the input CSV that fills it (one row per HIT, images as data URIs), and the
/// platform's results CSV turned back into one labels file per worker.
public enum MTurk {
    public static let imagesPerHIT = 5
    /// The answer for "not a <noun>" in the layout's radio buttons.
    public static let noneAnswer = "none"

    /// Input CSV columns: the items' ids, their images, the instruction and the page seed.
    public static var inputColumns: [String] {
        (1...imagesPerHIT).map { "item_\($0)" } + (1...imagesPerHIT).map { "image_\($0)" } + ["instruction", "page_seed"]
    }

    /// The input CSV: `items` in order, `imagesPerHIT` to a row; the last row's empty slots have
    /// an empty item and image (the layout hides them).
    public static func inputCSV(items: [JudgeItem], instruction: JudgeInstruction, seed: UInt64) throws -> String {
        var rows: [[String]] = [inputColumns]
        for start in stride(from: 0, to: items.count, by: imagesPerHIT) {
            let hit = Array(items[start..<min(items.count, start + imagesPerHIT)])
            let ids = (0..<imagesPerHIT).map { $0 < hit.count ? hit[$0].id : "" }
            let images = try (0..<imagesPerHIT).map { $0 < hit.count ? try JudgePage.dataURI(hit[$0]) : "" }
            rows.append(ids + images + [instruction.rawValue, String(seed)])
        }
        return CSV.text(rows)
    }

    /// The HIT layout: the instruction, then each image with 0–9 and "not a <noun>" as required
    /// radio buttons named `label_1`…; MTurk returns them as `Answer.label_1`….
    public static func layout(instruction: JudgeInstruction, noun: String) -> String {
        let cells = (1...imagesPerHIT).map { slot -> String in
            let radios =
                (0...9).map { "<label><input type=\"radio\" name=\"label_\(slot)\" value=\"\($0)\" required> \($0)</label>" }
                + ["<label><input type=\"radio\" name=\"label_\(slot)\" value=\"\(noneAnswer)\" required> not a \(noun)</label>"]
            return """
                  <div class="slot" id="slot_\(slot)">
                    <img src="${image_\(slot)}" alt="image \(slot)">
                    <div class="choices">\(radios.joined(separator: " "))</div>
                  </div>
                """
        }
        return """
            <!-- advlab judge --mturk: \(imagesPerHIT) images per HIT; fill with input.csv
                 (columns \(inputColumns.joined(separator: ", "))). -->
            <meta content="width=device-width,initial-scale=1" name="viewport"/>
            <style>
            .advlab-hit { font-family: system-ui, sans-serif; max-width: 980px; margin: 0 auto; }
            .advlab-hit .instruction { background: #f4f4f0; padding: 8px 12px; }
            .advlab-hit .slot { display: inline-block; vertical-align: top; width: 180px; margin: 6px; text-align: center; }
            .advlab-hit img { width: 168px; height: 168px; image-rendering: pixelated; background: black; }
            .advlab-hit .choices label { display: inline-block; min-width: 2.2em; }
            </style>
            <section class="advlab-hit">
              <h2>Which \(noun) is each image?</h2>
              <p class="instruction">\(instruction.text(noun: noun))</p>
            \(cells.joined(separator: "\n"))
            </section>
            <script>
            // The last HIT may hold fewer images: empty slots are hidden and their buttons disabled (not required, not sent).
            for (let slot = 1; slot <= \(imagesPerHIT); slot++) {
              const image = document.querySelector("#slot_" + slot + " img");
              if (image && image.getAttribute("src") === "") {
                document.getElementById("slot_" + slot).style.display = "none";
                for (const radio of document.getElementsByName("label_" + slot)) radio.disabled = true;
              }
            }
            </script>

            """
    }

    /// Reads MTurk's results CSV into one labels file per worker (in the order of their first
    /// row), looking every item up in `set`. Throws one line naming `path`, the row and the
    /// column for anything foreign: a missing column, an unknown item, an answer that is not 0–9
    /// or `none`, a worker who labelled an image twice. Rejected assignments are skipped.
    public static func importResults(csv text: String, path: String, set: JudgeSet) throws -> [HumanLabels] {
        let rows: [[String]]
        do { rows = try CSV.parse(text) } catch let error as CSV.ParseError {
            throw ReportError.invalid(path, "row \(error.row): \(error.problem)")
        }
        guard let header = rows.first, !header.isEmpty else { throw ReportError.invalid(path, "empty file; expected MTurk's results CSV") }
        func column(_ name: String) throws -> Int {
            guard let index = header.firstIndex(of: name) else {
                throw ReportError.invalid(
                    path,
                    "row 1 (the header): no column \(name); "
                        + "expected MTurk's results CSV for a HIT made by advlab judge --mturk")
            }
            return index
        }
        let worker = try column("WorkerId")
        let slots = try (1...imagesPerHIT).map { slot in
            (item: try column("Input.item_\(slot)"), answer: try column("Answer.label_\(slot)"), slot: slot)
        }
        let instructionColumn = try column("Input.instruction")
        let seedColumn = try column("Input.page_seed")
        let status = header.firstIndex(of: "AssignmentStatus")
        let items = Dictionary(set.items.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        var order: [String] = []
        var files: [String: HumanLabels] = [:]
        for (offset, row) in rows.dropFirst().enumerated() {
            let number = offset + 2
            if row.count == 1 && row[0].isEmpty { continue }
            guard row.count == header.count else {
                throw ReportError.invalid(path, "row \(number): \(row.count) fields, but the header has \(header.count)")
            }
            if let status, row[status] == "Rejected" { continue }
            let workerId = row[worker]
            guard !workerId.isEmpty else { throw ReportError.invalid(path, "row \(number), column WorkerId: empty") }
            guard let instruction = JudgeInstruction(rawValue: row[instructionColumn]) else {
                throw ReportError.invalid(
                    path,
                    "row \(number), column Input.instruction: \"\(row[instructionColumn])\" is not "
                        + JudgeInstruction.allCases.map(\.rawValue).joined(separator: " or "))
            }
            guard let seed = UInt64(row[seedColumn]) else {
                throw ReportError.invalid(path, "row \(number), column Input.page_seed: \"\(row[seedColumn])\" is not a seed")
            }
            let name = "mturk:" + workerId
            if files[name] == nil {
                order.append(name)
                files[name] = HumanLabels(page_seed: seed, annotator: name, instruction: instruction.rawValue, origin: "mturk", labels: [])
            }
            guard files[name]?.instruction == instruction.rawValue, files[name]?.page_seed == seed else {
                throw ReportError.invalid(path, "row \(number): worker \(workerId) has HITs with another instruction or page seed")
            }
            for slot in slots {
                let id = row[slot.item]
                if id.isEmpty { continue }
                guard let item = items[id] else {
                    throw ReportError.invalid(path, "row \(number), column Input.item_\(slot.slot): item \(id) is not in the judge set")
                }
                let value = row[slot.answer]
                let answer: Int?
                if value == noneAnswer {
                    answer = nil
                } else if let digit = Int(value), (0...9).contains(digit) {
                    answer = digit
                } else {
                    throw ReportError.invalid(
                        path,
                        "row \(number), column Answer.label_\(slot.slot): \"\(value)\" is not 0…9 or \(noneAnswer)")
                }
                guard files[name]?.labels.contains(where: { $0.id == id }) == false else {
                    throw ReportError.invalid(
                        path,
                        "row \(number), column Input.item_\(slot.slot): worker \(workerId) labelled item \(id) twice")
                }
                files[name]?.labels.append(
                    HumanLabels.Label(
                        id: id, kind: item.kind, intended: item.intended, setting: item.setting,
                        answer: answer))
            }
        }
        guard !order.isEmpty else { throw ReportError.invalid(path, "no assignment rows after the header") }
        return order.compactMap { files[$0] }
    }

    /// A worker id as a file name.
    public static func fileName(for labels: HumanLabels) -> String {
        let name = (labels.annotator ?? "worker").replacingOccurrences(of: "mturk:", with: "")
        return "labels-mturk-" + String(name.map { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" ? $0 : "_" }) + ".json"
    }
}

/// RFC 4180 CSV: fields separated by commas, quoted with double quotes when they hold a comma,
/// a quote or a line break, a quote inside doubled; rows end in CRLF or LF.
public enum CSV {
    public struct ParseError: Error {
        /// 1-based row (the header is row 1).
        public var row: Int
        public var problem: String
    }

    public static func text(_ rows: [[String]]) -> String {
        rows.map { row in row.map(quoted).joined(separator: ",") }.joined(separator: "\r\n") + "\r\n"
    }

    static func quoted(_ field: String) -> String {
        guard field.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return field }
        return "\"" + field.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    public static func parse(_ text: String) throws -> [[String]] {
        var rows: [[String]] = []
        var row: [String] = []
        var field = ""
        var inQuotes = false
        var fieldWasQuoted = false
        var characters = Array(text.unicodeScalars)
        if characters.first == "\u{FEFF}" { characters.removeFirst() }
        var index = 0
        func endRow() {
            row.append(field)
            rows.append(row)
            row = []
            field = ""
            fieldWasQuoted = false
        }
        while index < characters.count {
            let character = characters[index]
            if inQuotes {
                if character == "\"" {
                    if index + 1 < characters.count && characters[index + 1] == "\"" {
                        field.unicodeScalars.append("\"")
                        index += 1
                    } else {
                        inQuotes = false
                    }
                } else {
                    field.unicodeScalars.append(character)
                }
            } else if character == "\"" {
                guard field.isEmpty, !fieldWasQuoted else {
                    throw ParseError(row: rows.count + 1, problem: "a quote inside an unquoted field")
                }
                inQuotes = true
                fieldWasQuoted = true
            } else if character == "," {
                row.append(field)
                field = ""
                fieldWasQuoted = false
            } else if character == "\r" || character == "\n" {
                if character == "\r" && index + 1 < characters.count && characters[index + 1] == "\n" { index += 1 }
                endRow()
            } else {
                guard !fieldWasQuoted else { throw ParseError(row: rows.count + 1, problem: "text after a closing quote") }
                field.unicodeScalars.append(character)
            }
            index += 1
        }
        guard !inQuotes else { throw ParseError(row: rows.count + 1, problem: "a quoted field is not closed") }
        if !field.isEmpty || !row.isEmpty || fieldWasQuoted { endRow() }
        return rows
    }
}
