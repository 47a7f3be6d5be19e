/// What Mechanical Turk returns for an input CSV (`advlab judge --mturk`), as rows: one row per
/// HIT and worker with the platform's own columns, every input column as `Input.<name>`, and
/// `Answer.label_k` for the worker's answer to image k (`none` for "not a digit", empty for an
/// empty slot). `input` is the parsed input CSV (header first); `answers[worker][item id]`.
public func mturkResultRows(input: [[String]], answers: [String: [String: Int?]], imagesPerHIT: Int, none: String) -> [[String]] {
    let header = input[0]
    var out: [[String]] = [
        ["HITId", "AssignmentId", "WorkerId", "AssignmentStatus"] + header.map { "Input." + $0 }
            + (1...imagesPerHIT).map { "Answer.label_\($0)" }
    ]
    for worker in answers.keys.sorted() {
        for (hit, row) in input.dropFirst().enumerated() {
            let labels = (1...imagesPerHIT).map { slot -> String in
                guard let column = header.firstIndex(of: "item_\(slot)"), !row[column].isEmpty,
                    let answer = answers[worker]?[row[column]]
                else { return "" }
                return answer.map(String.init) ?? none
            }
            out.append(["HIT\(hit)", "A\(hit)-\(worker)", worker, "Submitted"] + row + labels)
        }
    }
    return out
}
