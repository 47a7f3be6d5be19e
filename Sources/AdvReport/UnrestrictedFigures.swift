import AdvAttacks
import AdvImaging
import AdvModels
import AdvTensor
import Foundation

/// Figures of unrestricted adversarial examples.
public enum UnrestrictedFigures {
    /// (height, width) of the images of a batch. images01: [N, C, H, W]
    static func tileSize(_ images01: Tensor) -> (Int, Int) { (images01.shape[2], images01.shape[3]) }

    /// Pairs *G(z0, s) | G(z, s)* side by side, `pairsPerRow` pairs per row, each labelled with
    /// the attacked classifier's prediction (f) and the auxiliary classifier's (aux). A success is
    /// framed green when valid (`valid`, per record, from `UnrestrictedPanel`), orange when the
    /// panel disputes it; without `valid` every success counts as valid, as in `pairCells`.
    public static func pairs(
        outcome: LatentSearchOutcome, indices: [Int], startPredictions: [Int], pairsPerRow: Int = 5,
        title: String, valid: [Bool]? = nil
    ) -> ImageGrid {
        let rows = max(1, (indices.count + pairsPerRow - 1) / pairsPerRow)
        let (height, width) = tileSize(outcome.images)
        var grid = ImageGrid(rows: rows, columns: 2 * pairsPerRow, tileWidth: width, tileHeight: height, scale: 2, padding: 4)
        grid.title = title
        for column in 0..<pairsPerRow {
            grid.columnHeader(column: 2 * column, text: "G(z0,s)")
            grid.columnHeader(column: 2 * column + 1, text: "G(z,s)")
        }
        for (position, index) in indices.enumerated() {
            let row = position / pairsPerRow
            let column = 2 * (position % pairsPerRow)
            let record = outcome.records[index]
            grid.set(row: row, column: column, bitmap: Bitmap(image01: outcome.startImages.slice(index..<(index + 1))))
            grid.label(row: row, column: column, text: "s\(record.source) f\(startPredictions[index])")
            grid.set(row: row, column: column + 1, bitmap: Bitmap(image01: outcome.images.slice(index..<(index + 1))))
            let color: RGBColor = !record.success ? .black : (valid.map { $0[index] } ?? true) ? .green : .orange
            grid.label(row: row, column: column + 1, text: "f\(record.classifierPrediction) aux\(record.auxiliaryPrediction)", color: color)
            if record.success { grid.frame(row: row, column: column + 1, color: color) }
        }
        return grid
    }

    /// What a cell of the all-pairs grid shows.
    public enum PairCell: Equatable, Sendable {
        /// No search of the pair succeeded: the last attempt, unframed.
        case failed
        /// A valid success: every judge of the panel says the source (green frame).
        case valid
        /// Every success of the pair is one the panel disputes (orange frame).
        case disputed
        /// The diagonal of a targeted grid: a plain sample of the class, unframed.
        case plainSample
    }

    /// Per (source, target) cell — target = source for untargeted records — the success rate
    /// and the example to show: the first valid success (`valid`, per record, from
    /// `UnrestrictedPanel`), else the first success as `.disputed`, else the last attempt.
    /// Without `valid` every success counts as valid.
    /// `classCount` × `classCount` cells.
    public static func pairCells(_ outcome: LatentSearchOutcome, classCount: Int, valid: [Bool]? = nil)
        -> (rates: [[Double?]], examples: [[Tensor?]], cells: [[PairCell]])
    {
        precondition(
            valid.map { $0.count == outcome.records.count } ?? true,
            "validity: \(valid?.count ?? 0) flags for \(outcome.records.count) records")
        let n = classCount
        var rates = [[Double?]](repeating: [Double?](repeating: nil, count: n), count: n)
        var examples = [[Tensor?]](repeating: [Tensor?](repeating: nil, count: n), count: n)
        var cells = [[PairCell]](repeating: [PairCell](repeating: .failed, count: n), count: n)
        var members = [[[Int]]](repeating: [[Int]](repeating: [], count: n), count: n)
        for (index, record) in outcome.records.enumerated() { members[record.source][record.target ?? record.source].append(index) }
        for s in 0..<n {
            for t in 0..<n where !members[s][t].isEmpty {
                let cell = members[s][t]
                let successes = cell.filter { outcome.records[$0].success }
                rates[s][t] = Double(successes.count) / Double(cell.count)
                let validSuccess = successes.first { index in valid.map { $0[index] } ?? true }
                guard let shown = validSuccess ?? successes.first ?? cell.last else { continue }
                examples[s][t] = outcome.images.slice(shown..<(shown + 1))
                cells[s][t] = validSuccess != nil ? .valid : successes.isEmpty ? .failed : .disputed
            }
        }
        return (rates, examples, cells)
    }

    /// The all-pairs grid of a targeted search, with a plain sample of each class (drawn from
    /// `seed` + 1000 + class) on the diagonal; `valid` as in `pairCells`; one row and one column
    /// per class of the generator, headed by `classNames`.
    public static func allPairs(
        outcome: LatentSearchOutcome, generator: any ConditionalGenerator, seed: UInt64, title: String,
        classNames: [String], valid: [Bool]? = nil
    ) -> ImageGrid {
        var (_, examples, cells) = pairCells(outcome, classCount: generator.classCount, valid: valid)
        for s in 0..<generator.classCount {
            var rng = SeededGenerator(seed: seed &+ UInt64(s) &+ 1000)
            examples[s][s] = generator.generate(Tensor.randomNormal([1, generator.latentSize], using: &rng), classes: [s])
            cells[s][s] = .plainSample
        }
        return allPairs(examples: examples, cells: cells, title: title, classNames: classNames)
    }

    /// The all-pairs grid: row = source class, column = target class, one example per cell,
    /// framed green for a valid success, orange for a success the panel disputes, unframed for a
    /// pair without success; the diagonal shows a plain sample. Rows and columns are headed
    /// s=/t= and the class name (`classNames`, one per class; their count sets the grid's size).
    public static func allPairs(examples: [[Tensor?]], cells: [[PairCell]], title: String, classNames: [String]) -> ImageGrid {
        let n = classNames.count
        let (height, width) = examples.joined().compactMap { $0 }.first.map(tileSize) ?? (28, 28)
        var grid = ImageGrid(rows: n, columns: n, tileWidth: width, tileHeight: height, scale: 2, padding: 4)
        grid.title = title
        for target in 0..<n { grid.columnHeader(column: target, text: "t=\(classNames[target])") }
        for source in 0..<n {
            grid.rowHeader(row: source, text: "s=\(classNames[source])")
            for target in 0..<n {
                guard let image = examples[source][target] else { continue }
                grid.set(row: source, column: target, bitmap: Bitmap(image01: image))
                switch cells[source][target] {
                case .valid: grid.frame(row: source, column: target, color: .green)
                case .disputed: grid.frame(row: source, column: target, color: .orange)
                case .failed, .plainSample: break
                }
            }
        }
        return grid
    }

    /// The success rate per (source, target) pair as a heat map on [0, 1]: rows are sources,
    /// columns targets; a pair without searches is blank. rates: [source][target]
    /// Rows and columns are labelled by `classNames`.
    public static func successMatrix(rates: [[Double?]], title: String, classNames: [String]) -> Heatmap {
        precondition(rates.count == classNames.count, "success matrix: \(rates.count) rows for \(classNames.count) class names")
        var heat = Heatmap(
            values: rates.map { $0.map { Float($0 ?? .nan) } }, rowLabels: classNames.map { "s=\($0)" },
            columnLabels: classNames.map { "t=\($0)" })
        heat.title = title
        heat.valueRange = 0...1
        return heat
    }

    /// The auxiliary classifier's mean confidence in the source class over the successes; nil when
    /// nothing succeeded. (That it *says* the source on every success is part of the success rule,
    /// so only its confidence can vary.)
    public static func meanAuxiliarySourceConfidence(_ records: [LatentSearchRecord]) -> Double? {
        let successes = records.filter(\.success)
        guard !successes.isEmpty else { return nil }
        return successes.reduce(0) { $0 + Double($1.auxiliaryConfidence) } / Double(successes.count)
    }

    /// Per-example records as CSV (latent vectors are in the JSON records); with a panel, each
    /// classifier judge's class (`<judge>_prediction`; the 5-NN's is `knn_prediction`) and `valid`;
    /// when the panel judged the starting images too, each judge's class of G(z0, s)
    /// (`<judge>_start_prediction`, the 5-NN's first) and `start_accepted`.
    public static func recordsCSV(
        _ records: [LatentSearchRecord], nearestL2: [Float], nearestLinf: [Float], knnLabels: [Int],
        panel: UnrestrictedPanel? = nil
    ) -> String {
        let judges = panel.map { Array(zip($0.judges, $0.labels).dropFirst()) } ?? []
        var startJudges: [(String, [Int])] = []
        if let panel, !panel.startLabels.isEmpty { startJudges = Array(zip(["knn"] + panel.judges.dropFirst(), panel.startLabels)) }
        var lines = [
            "index,source,target,success,steps,attempts,classifier_prediction,classifier_confidence,auxiliary_prediction,"
                + "auxiliary_confidence,discriminator_real_score,latent_distance,nearest_train_l2,nearest_train_linf,knn_prediction"
                + judges.map { "," + $0.0 + "_prediction" }.joined() + (panel == nil ? "" : ",valid")
                + startJudges.map { "," + $0.0 + "_start_prediction" }.joined() + (startJudges.isEmpty ? "" : ",start_accepted")
        ]
        for (i, r) in records.enumerated() {
            lines.append(
                [
                    String(i), String(r.source), r.target.map(String.init) ?? "", r.success ? "1" : "0", String(r.steps),
                    String(r.attempts),
                    String(r.classifierPrediction), String(format: "%.4f", r.classifierConfidence), String(r.auxiliaryPrediction),
                    String(format: "%.4f", r.auxiliaryConfidence), String(format: "%.4f", r.discriminatorRealScore),
                    String(format: "%.4f", r.latentDistance), String(format: "%.4f", nearestL2[i]),
                    String(format: "%.4f", nearestLinf[i]), String(knnLabels[i]),
                ].joined(separator: ",")
                    + judges.map { "," + String($0.1[i]) }.joined() + (panel.map { $0.valid[i] ? ",1" : ",0" } ?? "")
                    + startJudges.map { "," + String($0.1[i]) }.joined()
                    + (startJudges.isEmpty ? "" : (panel?.startAccepted[i] ?? false) ? ",1" : ",0"))
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
