import AdvTensor
import Foundation

/// A CSV log of training metrics. Rows accumulate in memory and the whole file is rewritten
/// atomically on `flush()` (each epoch), so a crash never leaves a torn line and a resumed run
/// starts from the rows of its checkpoint's epoch.
public final class CSVLog {
    public let path: String
    public let columns: [String]
    public private(set) var rows: [[String]] = []

    public init(path: String, columns: [String]) {
        self.path = path
        self.columns = columns
    }

    /// Re-reads rows already on disk (for `--resume`), keeping those for which `keep` is true.
    public func loadExisting(keep: ([String: String]) -> Bool) {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return }
        let lines = text.split(separator: "\n").map(String.init)
        guard let header = lines.first?.split(separator: ",").map(String.init), header == columns else { return }
        for line in lines.dropFirst() {
            let fields = line.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            guard fields.count == columns.count else { continue }
            if keep(Dictionary(uniqueKeysWithValues: zip(columns, fields))) { rows.append(fields) }
        }
    }

    public func append(_ values: [String: Double]) {
        rows.append(columns.map { key in values[key].map { Self.format($0) } ?? "" })
    }

    public func flush() throws {
        let text = ([columns] + rows).map { $0.joined(separator: ",") }.joined(separator: "\n") + "\n"
        try AtomicFile.write(text, to: path)
    }

    /// Values of `column` as numbers (empty fields skipped), with their row index.
    public func series(_ column: String) -> [(Int, Double)] {
        guard let index = columns.firstIndex(of: column) else { return [] }
        return rows.enumerated().compactMap { row, fields in Double(fields[index]).map { (row, $0) } }
    }

    static func format(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int(value)) : String(format: "%.6g", value)
    }
}
