import AdvTensor

/// A figure made of `rows × columns` equally sized image tiles, with optional title, row and
/// column headers, text labels above or below each tile, and coloured frames around tiles.
/// Every image grid of the lab (GAN samples, attacks side by side, nearest neighbours) is one.
///
/// Layout, in output pixels: `padding` around everything and between cells; each cell is as
/// wide as the widest of (tile · `scale`, any label) and holds an optional label band above, the
/// tile, and an optional label band below; row headers sit right-aligned left of the cells,
/// column headers centred above them, the title centred on top. Nothing is clipped: the
/// output grows to fit the text. With no text at all,
///
///     width  = padding + columns · (tileWidth · scale + padding)
///     height = padding + rows    · (tileHeight · scale + padding)
///
/// The output is gray (one channel) when everything drawn is gray, RGB otherwise.
public struct ImageGrid: Sendable {
    /// Where a tile's label goes.
    public enum LabelPosition: Sendable { case above, below }

    private struct Label: Sendable {
        var text: String
        var color: RGBColor
    }

    public let rows: Int
    public let columns: Int
    /// Tile size in source pixels (before `scale`).
    public let tileWidth: Int
    public let tileHeight: Int
    /// Integer upscaling factor applied to tiles (nearest neighbour).
    public let scale: Int
    /// Pixels around the figure and between cells.
    public let padding: Int
    public var background: RGBColor
    /// Font scale of labels and headers (the 5×7 font is drawn `textScale` times larger).
    public var textScale: Int
    /// Text colour of the title and headers.
    public var textColor: RGBColor = .black
    /// Centred title above the grid, drawn at `textScale + 1`; nil for none.
    public var title: String?

    private var tiles: [Bitmap?]
    private var labelsAbove: [Label?]
    private var labelsBelow: [Label?]
    private var frames: [RGBColor?]
    private var rowHeaders: [String?]
    private var columnHeaders: [String?]

    /// An empty grid (background only). Preconditions: `rows`, `columns` ≥ 0; tile size,
    /// `scale` and `textScale` ≥ 1; `padding` ≥ 0.
    public init(
        rows: Int, columns: Int, tileWidth: Int, tileHeight: Int, scale: Int = 1, padding: Int = 2,
        background: RGBColor = .white, textScale: Int = 1
    ) {
        precondition(rows >= 0 && columns >= 0, "ImageGrid needs rows, columns ≥ 0, got \(rows)×\(columns)")
        precondition(tileWidth >= 1 && tileHeight >= 1, "ImageGrid tile size must be ≥ 1, got \(tileWidth)×\(tileHeight)")
        precondition(scale >= 1 && textScale >= 1, "ImageGrid scale and textScale must be ≥ 1")
        precondition(padding >= 0, "ImageGrid padding must be ≥ 0, got \(padding)")
        self.rows = rows
        self.columns = columns
        self.tileWidth = tileWidth
        self.tileHeight = tileHeight
        self.scale = scale
        self.padding = padding
        self.background = background
        self.textScale = textScale
        tiles = Array(repeating: nil, count: rows * columns)
        labelsAbove = Array(repeating: nil, count: rows * columns)
        labelsBelow = Array(repeating: nil, count: rows * columns)
        frames = Array(repeating: nil, count: rows * columns)
        rowHeaders = Array(repeating: nil, count: rows)
        columnHeaders = Array(repeating: nil, count: columns)
    }

    // MARK: Content

    /// Places `bitmap` (gray or RGB, `tileWidth × tileHeight` source pixels) in a cell. A bitmap
    /// of another size is centred in the tile and cropped to it.
    public mutating func set(row: Int, column: Int, bitmap: Bitmap) {
        tiles[cellIndex(row, column)] = bitmap
    }

    /// Puts `text` below (default) or above the tile in a cell.
    public mutating func label(
        row: Int, column: Int, text: String, color: RGBColor = .black,
        position: LabelPosition = .below
    ) {
        let index = cellIndex(row, column)
        switch position {
        case .above: labelsAbove[index] = Label(text: text, color: color)
        case .below: labelsBelow[index] = Label(text: text, color: color)
        }
    }

    /// Draws a `color` frame around the tile in a cell (in the padding when there is room),
    /// e.g. red for a successful attack.
    public mutating func frame(row: Int, column: Int, color: RGBColor) {
        frames[cellIndex(row, column)] = color
    }

    /// Text left of a row, right-aligned and vertically centred on the tiles.
    public mutating func rowHeader(row: Int, text: String) {
        precondition(row >= 0 && row < rows, "row \(row) outside 0..<\(rows)")
        rowHeaders[row] = text
    }

    /// Text centred above a column.
    public mutating func columnHeader(column: Int, text: String) {
        precondition(column >= 0 && column < columns, "column \(column) outside 0..<\(columns)")
        columnHeaders[column] = text
    }

    // MARK: Geometry

    /// Every measurement of the figure, computed once per query or render.
    private struct Layout {
        var cellWidth = 0
        var bandAbove = 0
        var bandBelow = 0
        var tilePixelWidth = 0
        var tilePixelHeight = 0
        var rowHeaderWidth = 0
        var columnHeaderHeight = 0
        var titleHeight = 0
        var width = 0
        var height = 0
        /// Top-left corner of cell (0, 0).
        var left = 0
        var top = 0
        var padding = 0

        var cellHeight: Int { bandAbove + tilePixelHeight + bandBelow }

        func cellOrigin(row: Int, column: Int) -> (x: Int, y: Int) {
            (left + column * (cellWidth + padding), top + row * (cellHeight + padding))
        }

        func tileOrigin(row: Int, column: Int) -> (x: Int, y: Int) {
            let cell = cellOrigin(row: row, column: column)
            return (cell.x + (cellWidth - tilePixelWidth) / 2, cell.y + bandAbove)
        }
    }

    private var titleScale: Int { textScale + 1 }
    private var labelGap: Int { textScale }

    private func layout() -> Layout {
        var layout = Layout()
        layout.padding = padding
        layout.tilePixelWidth = tileWidth * scale
        layout.tilePixelHeight = tileHeight * scale

        func bandHeight(_ labels: [Label?]) -> Int {
            let heights = labels.compactMap { $0.map { BitmapFont.height(of: $0.text, scale: textScale) } }
            return heights.max().map { $0 + labelGap } ?? 0
        }
        layout.bandAbove = bandHeight(labelsAbove)
        layout.bandBelow = bandHeight(labelsBelow)
        let widestLabel =
            (labelsAbove + labelsBelow)
            .compactMap { $0.map { BitmapFont.width(of: $0.text, scale: textScale) } }.max() ?? 0
        layout.cellWidth = max(layout.tilePixelWidth, widestLabel)

        let widestRowHeader = rowHeaders.compactMap { $0.map { BitmapFont.width(of: $0, scale: textScale) } }.max() ?? 0
        layout.rowHeaderWidth = widestRowHeader > 0 ? widestRowHeader + padding + textScale : 0
        let tallestColumnHeader = columnHeaders.compactMap { $0.map { BitmapFont.height(of: $0, scale: textScale) } }.max() ?? 0
        layout.columnHeaderHeight = tallestColumnHeader > 0 ? tallestColumnHeader + max(padding, labelGap) : 0
        var titleWidth = 0
        if let title, !title.isEmpty {
            layout.titleHeight = BitmapFont.height(of: title, scale: titleScale) + max(padding, 2 * textScale)
            titleWidth = BitmapFont.width(of: title, scale: titleScale) + padding
        }

        let cellsWidth = layout.rowHeaderWidth + columns * (layout.cellWidth + padding)
        layout.width = padding + max(cellsWidth, titleWidth)
        layout.height = padding + layout.titleHeight + layout.columnHeaderHeight + rows * (layout.cellHeight + padding)
        // A title wider than the cells centres the cells under it.
        layout.left = padding + (layout.width - padding - cellsWidth) / 2 + layout.rowHeaderWidth
        layout.top = padding + layout.titleHeight + layout.columnHeaderHeight
        return layout
    }

    /// Output size in pixels.
    public var size: (width: Int, height: Int) {
        let layout = layout()
        return (layout.width, layout.height)
    }

    /// Top-left output pixel of the tile at (`row`, `column`).
    public func tileOrigin(row: Int, column: Int) -> (x: Int, y: Int) {
        _ = cellIndex(row, column)
        return layout().tileOrigin(row: row, column: column)
    }

    private func cellIndex(_ row: Int, _ column: Int) -> Int {
        precondition(
            row >= 0 && row < rows && column >= 0 && column < columns,
            "cell (\(row), \(column)) outside the \(rows)×\(columns) grid")
        return row * columns + column
    }

    // MARK: Rendering

    /// Whether everything that will be drawn is gray, so the output can be one channel.
    private var isGrayContent: Bool {
        background.isGray && textColor.isGray
            && tiles.allSatisfy { $0?.isGrayContent ?? true }
            && (labelsAbove + labelsBelow).allSatisfy { $0?.color.isGray ?? true }
            && frames.allSatisfy { $0?.isGray ?? true }
    }

    /// The finished figure, `size.width × size.height`, gray or RGB (see the type's doc).
    public func render() -> Bitmap {
        let layout = layout()
        let channels = isGrayContent ? 1 : 3
        var canvas = Bitmap(width: layout.width, height: layout.height, channels: channels, color: background)
        let tilePixelWidth = layout.tilePixelWidth
        let tilePixelHeight = layout.tilePixelHeight

        if let title, !title.isEmpty {
            canvas.drawText(title, centeredAt: layout.width / 2, y: padding, color: textColor, scale: titleScale)
        }
        for column in 0..<columns {
            guard let header = columnHeaders[column] else { continue }
            let cell = layout.cellOrigin(row: 0, column: column)
            canvas.drawText(
                header, centeredAt: cell.x + layout.cellWidth / 2, y: cell.y - layout.columnHeaderHeight,
                color: textColor, scale: textScale)
        }
        for row in 0..<rows {
            if let header = rowHeaders[row] {
                let tile = layout.tileOrigin(row: row, column: 0)
                let textTop = tile.y + (tilePixelHeight - BitmapFont.height(of: header, scale: textScale)) / 2
                canvas.drawText(
                    header, rightAlignedAt: layout.left - padding - textScale,
                    y: textTop, color: textColor, scale: textScale)
            }
            for column in 0..<columns {
                let index = row * columns + column
                let cell = layout.cellOrigin(row: row, column: column)
                let tile = layout.tileOrigin(row: row, column: column)
                let centerX = cell.x + layout.cellWidth / 2
                if let bitmap = tiles[index] {
                    let scaled = bitmap.upscaled(by: scale)
                    canvas.blit(cropped(scaled, toWidth: tilePixelWidth, height: tilePixelHeight), x: tile.x, y: tile.y)
                }
                if let frameColor = frames[index] {
                    let thickness = max(1, min(2 * textScale, padding))
                    canvas.strokeRectangle(
                        x: tile.x - thickness, y: tile.y - thickness,
                        width: tilePixelWidth + 2 * thickness, height: tilePixelHeight + 2 * thickness,
                        thickness: thickness, color: frameColor)
                }
                if let label = labelsAbove[index] {
                    canvas.drawText(label.text, centeredAt: centerX, y: cell.y, color: label.color, scale: textScale)
                }
                if let label = labelsBelow[index] {
                    canvas.drawText(
                        label.text, centeredAt: centerX, y: tile.y + tilePixelHeight + labelGap,
                        color: label.color, scale: textScale)
                }
            }
        }
        return canvas
    }

    /// `bitmap` centred in a `width × height` window: cropped where larger, padded with the
    /// background where smaller.
    private func cropped(_ bitmap: Bitmap, toWidth width: Int, height: Int) -> Bitmap {
        if bitmap.width == width && bitmap.height == height { return bitmap }
        var window = Bitmap(width: width, height: height, channels: bitmap.channels, color: background)
        window.blit(bitmap, x: (width - bitmap.width) / 2, y: (height - bitmap.height) / 2)
        return window
    }

    /// Renders and writes the grid to `path` as a PNG, atomically (see `PNG.write(_:to:)`).
    public func writePNG(to path: String) throws {
        try PNG.write(render(), to: path)
    }

    // MARK: Convenience

    /// A grid of the images of a batch, `columns` per row, row-major, each optionally labelled
    /// below with `labels[i]` (missing or extra labels are ignored).
    ///
    /// `images01`: `[N, 1, H, W]` (gray) or `[N, 3, H, W]` (RGB), values in [0, 1] (clamped).
    /// Precondition: that shape and `columns ≥ 1`.
    public static func fromImages(
        _ images01: Tensor, columns: Int, scale: Int = 1, padding: Int = 2,
        labels: [String]? = nil, textScale: Int = 1
    ) -> ImageGrid {
        precondition(
            images01.rank == 4 && (images01.shape[1] == 1 || images01.shape[1] == 3),
            "ImageGrid.fromImages needs [N, 1 or 3, H, W], got \(images01.shape)")
        precondition(columns >= 1, "ImageGrid.fromImages needs columns ≥ 1, got \(columns)")
        let count = images01.shape[0]
        let rows = (count + columns - 1) / columns
        var grid = ImageGrid(
            rows: rows, columns: columns, tileWidth: images01.shape[3], tileHeight: images01.shape[2],
            scale: scale, padding: padding, textScale: textScale)
        for index in 0..<count {
            let row = index / columns
            let column = index % columns
            grid.set(row: row, column: column, bitmap: Bitmap(image01: images01.slice(index..<(index + 1))))
            if let labels, index < labels.count {
                grid.label(row: row, column: column, text: labels[index])
            }
        }
        return grid
    }
}
