import Foundation

/// A matrix figure: one coloured cell per entry with its value printed in it, labels on both
/// axes, a colour scale bar with its minimum and maximum, and optional marks — a frame around
/// chosen cells (e.g. each row's minimum in a class-pair distance matrix) and a `▶` next to
/// chosen row labels.
///
/// ```swift
/// var heatmap = Heatmap(values: meanL2, rowLabels: classNames, columnLabels: classNames)
/// heatmap.title = "mean L2 distance between classes"
/// heatmap.markedCells = Heatmap.rowMinima(of: meanL2)
/// try heatmap.writePNG(to: out + "/distances-l2.png")
/// ```
public struct Heatmap {
    /// `rows × columns` values, row-major; NaN and ±∞ cells are drawn gray and printed as `-`.
    public var values: [[Float]]
    public var rowLabels: [String]
    public var columnLabels: [String]
    /// Centred above the figure.
    public var title: String?
    /// Printed above the row labels (e.g. `"class"`).
    public var rowAxisTitle: String?
    /// Printed centred above the column labels.
    public var columnAxisTitle: String?
    public var colormap: Colormap = .viridis
    /// The values mapped to the ends of the colour map; nil for the smallest and largest finite value.
    public var valueRange: ClosedRange<Float>?
    /// How a value is printed in its cell.
    public var formatValue: (Float) -> String = Heatmap.compactFormat
    /// Cells to frame in `markColor`.
    public var markedCells: [(row: Int, column: Int)] = []
    /// Rows whose label gets a `▶` marker in `markColor`.
    public var markedRows: [Int] = []
    public var markColor: RGBColor = .red
    /// Font scale of all text (2 draws the 5×7 font as 10×14).
    public var textScale: Int = 2
    /// Pixels around the figure.
    public var padding: Int = 12

    /// A heatmap of `values`, labelled `0, 1, …` unless labels are given.
    /// Preconditions: `values` is rectangular with at least one row and column, and label
    /// counts match the row and column counts.
    public init(values: [[Float]], rowLabels: [String]? = nil, columnLabels: [String]? = nil) {
        precondition(!values.isEmpty && !values[0].isEmpty, "Heatmap needs at least one row and column")
        precondition(values.allSatisfy { $0.count == values[0].count }, "Heatmap rows must all have \(values[0].count) values")
        self.values = values
        self.rowLabels = rowLabels ?? values.indices.map(String.init)
        self.columnLabels = columnLabels ?? values[0].indices.map(String.init)
        precondition(self.rowLabels.count == values.count, "Heatmap has \(values.count) rows but \(self.rowLabels.count) row labels")
        precondition(
            self.columnLabels.count == values[0].count,
            "Heatmap has \(values[0].count) columns but \(self.columnLabels.count) column labels")
    }

    /// Three significant-looking digits without exponent: `123`, `12.3`, `1.23`, `0`.
    public static func compactFormat(_ value: Float) -> String {
        guard value.isFinite else { return "-" }
        if value == 0 { return "0" }
        // Thresholds sit where rounding would add a digit (9.996 prints as "10.0", not "10.00").
        let magnitude = abs(value)
        if magnitude >= 99.95 { return String(format: "%.0f", Double(value)) }
        if magnitude >= 9.995 { return String(format: "%.1f", Double(value)) }
        return String(format: "%.2f", Double(value))
    }

    /// The position of each row's smallest finite value (first on ties); rows without a finite
    /// value are skipped. With `excludingDiagonal`, entry (i, i) is ignored.
    public static func rowMinima(of values: [[Float]], excludingDiagonal: Bool = false) -> [(row: Int, column: Int)] {
        var minima: [(row: Int, column: Int)] = []
        for (row, entries) in values.enumerated() {
            var best: Int?
            for (column, value) in entries.enumerated() where value.isFinite && !(excludingDiagonal && row == column) {
                if best.map({ value < entries[$0] }) ?? true { best = column }
            }
            if let best { minima.append((row, best)) }
        }
        return minima
    }

    // MARK: Layout

    private var rowCount: Int { values.count }
    private var columnCount: Int { values[0].count }
    private var characterWidth: Int { BitmapFont.advance * textScale }
    private var textHeight: Int { BitmapFont.glyphHeight * textScale }
    private var gap: Int { 4 * textScale }

    /// Square cells, wide enough for the longest printed value and column label.
    private var cellSize: Int {
        let widestValue = values.joined().map { BitmapFont.width(of: formatValue($0), scale: textScale) }.max() ?? 0
        let widestColumnLabel = columnLabels.map { BitmapFont.width(of: $0, scale: textScale) }.max() ?? 0
        return max(widestValue + 3 * gap / 2, widestColumnLabel + gap, 3 * textHeight)
    }

    private var range: (minimum: Float, maximum: Float) {
        if let valueRange { return (valueRange.lowerBound, valueRange.upperBound) }
        let finite = values.joined().filter(\.isFinite)
        return (finite.min() ?? 0, finite.max() ?? 0)
    }

    private var scaleLabels: (maximum: String, middle: String, minimum: String) {
        let (minimum, maximum) = range
        return (formatValue(maximum), formatValue((minimum + maximum) / 2), formatValue(minimum))
    }

    /// Output size in pixels.
    public var size: (width: Int, height: Int) {
        let geometry = geometry()
        return (geometry.width, geometry.height)
    }

    private struct Geometry {
        var width = 0, height = 0
        /// Top-left of cell (0, 0).
        var matrixLeft = 0, matrixTop = 0
        var cellSize = 0
        var barLeft = 0, barWidth = 0
        var titleTop = 0, columnAxisTitleTop = 0, columnLabelsTop = 0
    }

    private func geometry() -> Geometry {
        var geometry = Geometry()
        geometry.cellSize = cellSize
        let markerWidth = markedRows.isEmpty ? 0 : characterWidth + textScale
        let rowLabelWidth = max(
            rowLabels.map { BitmapFont.width(of: $0, scale: textScale) }.max() ?? 0,
            BitmapFont.width(of: rowAxisTitle ?? "", scale: textScale))
        geometry.matrixLeft = padding + markerWidth + rowLabelWidth + gap

        var top = padding
        if let title, !title.isEmpty {
            geometry.titleTop = top
            top += BitmapFont.height(of: title, scale: textScale + 1) + 2 * gap
        }
        if (columnAxisTitle ?? "").isEmpty == false || (rowAxisTitle ?? "").isEmpty == false {
            geometry.columnAxisTitleTop = top
            top += textHeight + gap
        }
        geometry.columnLabelsTop = top
        top += textHeight + gap
        geometry.matrixTop = top

        let matrixWidth = columnCount * geometry.cellSize
        let matrixHeight = rowCount * geometry.cellSize
        geometry.barLeft = geometry.matrixLeft + matrixWidth + 2 * gap
        geometry.barWidth = 4 * gap
        let labels = scaleLabels
        let widestScaleLabel =
            [labels.maximum, labels.middle, labels.minimum]
            .map { BitmapFont.width(of: $0, scale: textScale) }.max() ?? 0
        let contentRight = geometry.barLeft + geometry.barWidth + gap + widestScaleLabel
        let titleWidth = BitmapFont.width(of: title ?? "", scale: textScale + 1)
        geometry.width = max(contentRight, padding + titleWidth) + padding
        // Half a text line of slack below so the minimum label of the bar is never clipped.
        geometry.height = geometry.matrixTop + matrixHeight + textHeight / 2 + padding
        return geometry
    }

    // MARK: Rendering

    /// The figure as an RGB bitmap of `size`.
    public func render() -> Bitmap {
        let geometry = geometry()
        let cell = geometry.cellSize
        var canvas = Bitmap(width: geometry.width, height: geometry.height, channels: 3, color: .white)
        let (minimum, maximum) = range

        if let title, !title.isEmpty {
            canvas.drawText(title, centeredAt: geometry.width / 2, y: geometry.titleTop, color: .black, scale: textScale + 1)
        }
        if let columnAxisTitle, !columnAxisTitle.isEmpty {
            canvas.drawText(
                columnAxisTitle, centeredAt: geometry.matrixLeft + columnCount * cell / 2,
                y: geometry.columnAxisTitleTop, color: .darkGray, scale: textScale)
        }
        if let rowAxisTitle, !rowAxisTitle.isEmpty {
            canvas.drawText(
                rowAxisTitle, rightAlignedAt: geometry.matrixLeft - gap, y: geometry.columnLabelsTop,
                color: .darkGray, scale: textScale)
        }
        for (column, label) in columnLabels.enumerated() {
            canvas.drawText(
                label, centeredAt: geometry.matrixLeft + column * cell + cell / 2, y: geometry.columnLabelsTop,
                color: .black, scale: textScale)
        }
        for (row, label) in rowLabels.enumerated() {
            let textTop = geometry.matrixTop + row * cell + (cell - textHeight) / 2
            let labelRight = geometry.matrixLeft - gap
            canvas.drawText(label, rightAlignedAt: labelRight, y: textTop, color: .black, scale: textScale)
            if markedRows.contains(row) {
                let labelLeft = labelRight - BitmapFont.width(of: label, scale: textScale)
                canvas.drawText("▶", rightAlignedAt: labelLeft - textScale, y: textTop, color: markColor, scale: textScale)
            }
        }

        // Cells, separated by a one-pixel white line.
        for row in 0..<rowCount {
            for column in 0..<columnCount {
                let value = values[row][column]
                let x = geometry.matrixLeft + column * cell
                let y = geometry.matrixTop + row * cell
                let fill = value.isFinite ? colormap.color(for: value, minimum: minimum, maximum: maximum) : .lightGray
                canvas.fillRectangle(x: x, y: y, width: cell - 1, height: cell - 1, color: fill)
                let ink: RGBColor = fill.luminance < 128 ? .white : .black
                canvas.drawText(
                    formatValue(value), centeredAt: x + cell / 2, y: y + (cell - textHeight) / 2,
                    color: ink, scale: textScale)
            }
        }
        for (row, column) in markedCells where row >= 0 && row < rowCount && column >= 0 && column < columnCount {
            canvas.strokeRectangle(
                x: geometry.matrixLeft + column * cell - 1, y: geometry.matrixTop + row * cell - 1,
                width: cell + 1, height: cell + 1, thickness: 2 * textScale, color: markColor)
        }

        // Colour bar: maximum at the top, minimum at the bottom, with three labelled ticks.
        let barTop = geometry.matrixTop
        let barHeight = rowCount * cell - 1
        for offset in 0..<barHeight {
            let t = barHeight > 1 ? 1 - Float(offset) / Float(barHeight - 1) : 0.5
            canvas.fillRectangle(
                x: geometry.barLeft, y: barTop + offset, width: geometry.barWidth, height: 1,
                color: colormap.color(at: t))
        }
        canvas.strokeRectangle(x: geometry.barLeft, y: barTop, width: geometry.barWidth, height: barHeight, color: .darkGray)
        let labels = scaleLabels
        let tickLeft = geometry.barLeft + geometry.barWidth
        let labelLeft = tickLeft + gap
        for (label, tickY) in [(labels.maximum, barTop), (labels.middle, barTop + barHeight / 2), (labels.minimum, barTop + barHeight - 1)]
        {
            canvas.fillRectangle(x: tickLeft, y: tickY, width: gap / 2, height: 1, color: .darkGray)
            let textTop = min(max(tickY - textHeight / 2, 0), geometry.height - textHeight)
            canvas.drawText(label, x: labelLeft, y: textTop, color: .black, scale: textScale)
        }
        return canvas
    }

    /// Renders and writes the heatmap to `path` as a PNG, atomically (see `PNG.write(_:to:)`).
    public func writePNG(to path: String) throws {
        try PNG.write(render(), to: path)
    }
}
