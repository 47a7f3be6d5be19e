import AdvAnalysis
import AdvAttacks
import AdvImaging
import AdvTensor
import Foundation

/// Figures and tables of invariance (label-changing) examples.
public enum InvarianceFigures {
    /// One row per example: *original | nearest other class x̂ (shifted) | perturbation |
    /// invariance example*, labelled with the classes the k-NN (k), the model (m) and the reference
    /// (r) give; under x̂ its class, distance and shift (x, y) when not zero. A red
    /// frame marks an example the model is invariant to although the k-NN says the class changed.
    /// clean, targets, adversarial: [N, C, H, W]
    public static func rows(
        clean: Tensor, targets: Tensor, adversarial: Tensor, records: [InvarianceRecord], rows indices: [Int],
        title: String
    ) -> ImageGrid {
        let (height, width) = (clean.shape[2], clean.shape[3])
        var grid = ImageGrid(
            rows: max(1, indices.count), columns: 4, tileWidth: width, tileHeight: height, scale: 3, padding: 24, textScale: 1)
        grid.title = title
        grid.columnHeader(column: 0, text: "original x")
        grid.columnHeader(column: 1, text: "nearest other x^")
        grid.columnHeader(column: 2, text: "perturbation")
        grid.columnHeader(column: 3, text: "invariance x'")
        for (row, index) in indices.enumerated() {
            let record = records[index]
            let x = clean.slice(index..<(index + 1))
            let xAdv = adversarial.slice(index..<(index + 1))
            let delta = (xAdv - x).scalars
            let limit = max(1e-6, delta.reduce(0) { max($0, abs($1)) })
            grid.set(row: row, column: 0, bitmap: Bitmap(image01: x))
            grid.label(row: row, column: 0, text: "y \(record.label): " + verdicts(record, adversarial: false))
            grid.set(row: row, column: 1, bitmap: Bitmap(image01: targets.slice(index..<(index + 1))))
            let shift = record.shift_x == 0 && record.shift_y == 0 ? "" : String(format: " (%+d,%+d)", record.shift_x, record.shift_y)
            grid.label(row: row, column: 1, text: String(format: "%d, L2 %.1f", record.target, record.nearest_l2) + shift)
            grid.set(row: row, column: 2, bitmap: Colormap.redBlue.bitmap(signed: delta, width: width, height: height, limit: limit))
            grid.label(row: row, column: 2, text: String(format: "±%.2f", limit))
            grid.set(row: row, column: 3, bitmap: Bitmap(image01: xAdv))
            grid.label(
                row: row, column: 3, text: verdicts(record, adversarial: true),
                color: record.modelInvariantWhereChanged ? .red : .black)
            if record.modelInvariantWhereChanged { grid.frame(row: row, column: 3, color: .red) }
        }
        return grid
    }

    static func verdicts(_ record: InvarianceRecord, adversarial: Bool) -> String {
        let knn = adversarial ? record.knn_adversarial : record.knn_clean
        let model = adversarial ? record.model_adversarial : record.model_clean
        let reference = adversarial ? record.reference_adversarial : record.reference_clean
        return "k\(knn) m\(model)" + (reference.map { " r\($0)" } ?? "")
    }

    /// Per-example CSV: the attack columns (target = x̂'s class; success = the k-NN says the
    /// target and the model still says the label) followed by the nearest image and every judge.
    public static func resultsCSV(_ results: [ExampleResult], records: [InvarianceRecord]) -> String {
        let attackLines = AttackFigures.resultsCSV(results).split(separator: "\n", omittingEmptySubsequences: true)
        var lines = [
            String(attackLines.first ?? "") + ",nearest_index,shift_x,shift_y,nearest_l2,knn_clean,knn_adversarial,"
                + "reference_clean,reference_adversarial,knn_changed_to_target,model_still_source"
        ]
        for (line, record) in zip(attackLines.dropFirst(), records) {
            lines.append(
                String(line) + ",\(record.nearest_index),\(record.shift_x),\(record.shift_y),"
                    + String(format: "%.6g", record.nearest_l2) + ",\(record.knn_clean),\(record.knn_adversarial),"
                    + "\(record.reference_clean.map(String.init) ?? ""),\(record.reference_adversarial.map(String.init) ?? ""),"
                    + "\(record.knnChanged ? 1 : 0),\(record.model_adversarial == record.label ? 1 : 0)")
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
