import Foundation

/// A dependency-free SVG line plot: named series of (x, y) points, axis ticks and labels, a
/// light grid, title, legend (placed inside the plot where it hides the least of the curves),
/// optional logarithmic y axis. Used for loss curves and for robust
/// accuracy against ε.
///
/// `render()` returns the SVG document as a string (the caller writes it, e.g. with
/// `AtomicFile.write(_:to:)`). Each series is exactly one `<path>` element (plus optional
/// `<circle>` or diamond `<polygon>` markers); non-finite points — and non-positive y on a log
/// axis — break the line instead of distorting the axes. A series that does not connect its
/// points (`connectsPoints` false: single measurements drawn over a curve) is one `<path>` of
/// filled marker shapes, and its legend entry shows the marker instead of a line.
public struct SVGPlot: Sendable {
    /// One named curve.
    public struct Series: Sendable {
        public var name: String
        public var points: [Point]
        /// Any SVG colour (`#1f77b4`); nil picks the next colour of the palette.
        public var color: String?
        public var dashed: Bool
        /// Draw a small marker at each point; nil draws them when there are at most 40 points.
        public var showsMarkers: Bool?
        public var marker: Marker
        /// false: no line, only a larger marker at each point (outlined, so it stands out on a curve).
        public var connectsPoints: Bool

        public init(
            name: String, points: [Point], color: String? = nil, dashed: Bool = false, showsMarkers: Bool? = nil,
            marker: Marker = .circle, connectsPoints: Bool = true
        ) {
            self.name = name
            self.points = points
            self.color = color
            self.dashed = dashed
            self.showsMarkers = showsMarkers
            self.marker = marker
            self.connectsPoints = connectsPoints
        }
    }

    /// The shape drawn at a series' points.
    public enum Marker: Sendable {
        case circle, diamond
    }

    public struct Point: Sendable, Equatable {
        public var x: Double
        public var y: Double
        public init(x: Double, y: Double) {
            self.x = x
            self.y = y
        }
    }

    /// matplotlib's "tab10" palette, distinguishable and familiar to readers in the field.
    public static let palette = [
        "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
        "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf",
    ]

    public var title: String
    public var xLabel: String
    public var yLabel: String
    public var logY: Bool = false
    /// Overall size in SVG user units (the `viewBox`); the SVG scales to its container.
    public var width: Double = 720
    public var height: Double = 440
    /// Axis limits; nil fits the data (rounded outward to tick marks).
    public var xRange: ClosedRange<Double>?
    public var yRange: ClosedRange<Double>?
    /// Prefix of the element ids in the document, so several plots can share one HTML page.
    public var identifier: String = "plot"
    public private(set) var series: [Series] = []

    public init(title: String, xLabel: String, yLabel: String, logY: Bool = false) {
        self.title = title
        self.xLabel = xLabel
        self.yLabel = yLabel
        self.logY = logY
    }

    /// Adds a series.
    public mutating func add(_ series: Series) { self.series.append(series) }

    /// Adds a series from parallel `x` and `y` arrays (extra values of the longer one are ignored).
    public mutating func addSeries(_ name: String, x: [Double], y: [Double], color: String? = nil, dashed: Bool = false) {
        add(Series(name: name, points: zip(x, y).map { Point(x: $0, y: $1) }, color: color, dashed: dashed))
    }

    /// Adds points drawn as `marker` shapes without a line between them (e.g. a few measurements of
    /// a stronger attack over another attack's curve).
    public mutating func addPoints(_ name: String, x: [Double], y: [Double], color: String? = nil, marker: Marker = .diamond) {
        add(Series(name: name, points: zip(x, y).map { Point(x: $0, y: $1) }, color: color, marker: marker, connectsPoints: false))
    }

    /// Adds a series whose x values are 0, 1, 2, … (e.g. a loss per step or epoch).
    public mutating func addSeries(_ name: String, y: [Double], color: String? = nil, dashed: Bool = false) {
        addSeries(name, x: y.indices.map(Double.init), y: y, color: color, dashed: dashed)
    }

    // MARK: Axes

    /// An axis: its data interval, its ticks and how a value maps to [0, 1] along it.
    struct Axis {
        var lower: Double
        var upper: Double
        var ticks: [Double]
        var logarithmic: Bool
        var labelDecimals: Int?

        func fraction(_ value: Double) -> Double {
            if logarithmic { return (log10(value) - log10(lower)) / (log10(upper) - log10(lower)) }
            return (value - lower) / (upper - lower)
        }

        func label(_ value: Double) -> String {
            if let labelDecimals { return String(format: "%.\(labelDecimals)f", value) }
            return String(format: "%g", value)
        }
    }

    /// Linear ticks at a 1-2-5 step, about `target` of them, covering `lower…upper`; with
    /// `expand`, the interval grows outward to the first and last tick.
    static func linearAxis(lower: Double, upper: Double, expand: Bool, target: Int = 6) -> Axis {
        var lower = lower
        var upper = upper
        if !(upper > lower) {
            let half = lower == 0 ? 1 : abs(lower) * 0.1
            lower -= half
            upper += half
        }
        let rough = (upper - lower) / Double(target)
        let power = pow(10, floor(log10(rough)))
        let step = [1.0, 2, 5, 10].map { $0 * power }.first { $0 >= rough } ?? 10 * power
        if expand {
            lower = floor(lower / step + 1e-9) * step
            upper = ceil(upper / step - 1e-9) * step
        }
        var ticks: [Double] = []
        var tick = ceil(lower / step - 1e-9) * step
        while tick <= upper + step * 1e-9 {
            ticks.append(abs(tick) < step * 1e-9 ? 0 : tick)
            tick += step
        }
        let decimals = max(0, Int(ceil(-log10(step) - 1e-9)))
        return Axis(lower: lower, upper: upper, ticks: ticks, logarithmic: false, labelDecimals: decimals)
    }

    /// Logarithmic ticks at powers of ten (and at 2× and 5× when the range spans under two
    /// decades); the interval grows to whole decades when `expand`. Needs `0 < lower`.
    static func logarithmicAxis(lower: Double, upper: Double, expand: Bool) -> Axis {
        var lower = lower
        var upper = upper
        if !(upper > lower) {
            lower /= 10
            upper *= 10
        }
        if expand {
            lower = pow(10, floor(log10(lower) + 1e-9))
            upper = pow(10, ceil(log10(upper) - 1e-9))
        }
        let firstDecade = Int(floor(log10(lower) + 1e-9))
        let lastDecade = Int(ceil(log10(upper) - 1e-9))
        let multiples: [Double] = lastDecade - firstDecade < 2 ? [1, 2, 5] : [1]
        var ticks: [Double] = []
        for decade in firstDecade...lastDecade {
            for multiple in multiples {
                let tick = multiple * pow(10, Double(decade))
                if tick >= lower * (1 - 1e-9) && tick <= upper * (1 + 1e-9) { ticks.append(tick) }
            }
        }
        return Axis(lower: lower, upper: upper, ticks: ticks, logarithmic: true, labelDecimals: nil)
    }

    private func isDrawable(_ point: Point) -> Bool {
        point.x.isFinite && point.y.isFinite && (!logY || point.y > 0)
    }

    private func axes() -> (x: Axis, y: Axis) {
        let points = series.flatMap(\.points).filter(isDrawable)
        let xs = points.map(\.x)
        let ys = points.map(\.y)
        let xAxis: Axis
        if let xRange {
            xAxis = Self.linearAxis(lower: xRange.lowerBound, upper: xRange.upperBound, expand: false)
        } else {
            xAxis = Self.linearAxis(lower: xs.min() ?? 0, upper: xs.max() ?? 1, expand: true)
        }
        let yAxis: Axis
        if logY {
            // A non-positive lower limit cannot be shown on a log axis: fall back to the data.
            let dataLower = ys.min() ?? 0.1
            let lower = yRange.map { $0.lowerBound > 0 ? $0.lowerBound : dataLower } ?? dataLower
            let upper = yRange?.upperBound ?? ys.max() ?? 1
            yAxis = Self.logarithmicAxis(lower: lower, upper: max(upper, lower), expand: yRange == nil)
        } else if let yRange {
            yAxis = Self.linearAxis(lower: yRange.lowerBound, upper: yRange.upperBound, expand: false)
        } else {
            yAxis = Self.linearAxis(lower: ys.min() ?? 0, upper: ys.max() ?? 1, expand: true)
        }
        return (xAxis, yAxis)
    }

    // MARK: Rendering

    /// The SVG document: a well-formed XML string with a `viewBox` of `width × height`.
    public func render() -> String {
        let (xAxis, yAxis) = axes()
        let fontSize = 13.0
        let characterWidth = fontSize * 0.6
        let longestName = series.map(\.name.count).max() ?? 0
        let legendWidth = series.isEmpty ? 0 : Double(longestName) * characterWidth + 44
        let yTickWidth = Double(yAxis.ticks.map { yAxis.label($0).count }.max() ?? 1) * characterWidth

        let plotLeft = 26 + yTickWidth + 10
        let plotRight = width - 20
        let plotTop = title.isEmpty ? 16.0 : 44.0
        let plotBottom = height - 52
        let plotWidth = max(plotRight - plotLeft, 10)
        let plotHeight = max(plotBottom - plotTop, 10)
        func screenX(_ x: Double) -> Double { plotLeft + xAxis.fraction(x) * plotWidth }
        func screenY(_ y: Double) -> Double { plotBottom - yAxis.fraction(y) * plotHeight }

        var svg = """
            <?xml version="1.0" encoding="UTF-8"?>
            <svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 \(number(width)) \(number(height))" \
            width="\(number(width))" height="\(number(height))" font-family="Helvetica, Arial, sans-serif" font-size="\(number(fontSize))">
            <rect x="0" y="0" width="\(number(width))" height="\(number(height))" fill="#ffffff"/>

            """
        if !title.isEmpty {
            svg +=
                "<text x=\"\(number(width / 2))\" y=\"26\" text-anchor=\"middle\" font-size=\"16\" font-weight=\"bold\" fill=\"#222222\">\(escaped(title))</text>\n"
        }

        // Grid and ticks.
        svg += "<g stroke=\"#e6e6e6\" stroke-width=\"1\">\n"
        for tick in xAxis.ticks {
            svg +=
                "<line x1=\"\(number(screenX(tick)))\" y1=\"\(number(plotTop))\" x2=\"\(number(screenX(tick)))\" y2=\"\(number(plotBottom))\"/>\n"
        }
        for tick in yAxis.ticks {
            svg +=
                "<line x1=\"\(number(plotLeft))\" y1=\"\(number(screenY(tick)))\" x2=\"\(number(plotRight))\" y2=\"\(number(screenY(tick)))\"/>\n"
        }
        svg += "</g>\n<g fill=\"#444444\">\n"
        for tick in xAxis.ticks {
            svg +=
                "<text x=\"\(number(screenX(tick)))\" y=\"\(number(plotBottom + 18))\" text-anchor=\"middle\">\(escaped(xAxis.label(tick)))</text>\n"
        }
        for tick in yAxis.ticks {
            svg +=
                "<text x=\"\(number(plotLeft - 8))\" y=\"\(number(screenY(tick) + 4))\" text-anchor=\"end\">\(escaped(yAxis.label(tick)))</text>\n"
        }
        svg += "</g>\n"
        svg +=
            "<rect x=\"\(number(plotLeft))\" y=\"\(number(plotTop))\" width=\"\(number(plotWidth))\" height=\"\(number(plotHeight))\" fill=\"none\" stroke=\"#888888\" stroke-width=\"1\"/>\n"
        svg +=
            "<text x=\"\(number(plotLeft + plotWidth / 2))\" y=\"\(number(height - 14))\" text-anchor=\"middle\" fill=\"#222222\">\(escaped(xLabel))</text>\n"
        let yLabelX = 16.0
        let yLabelY = plotTop + plotHeight / 2
        svg +=
            "<text x=\"\(number(yLabelX))\" y=\"\(number(yLabelY))\" text-anchor=\"middle\" fill=\"#222222\" transform=\"rotate(-90 \(number(yLabelX)) \(number(yLabelY)))\">\(escaped(yLabel))</text>\n"

        // Each series as runs of screen points; a non-drawable point ends a run.
        let seriesRuns: [[[(x: Double, y: Double)]]] = series.map { series in
            var result: [[(x: Double, y: Double)]] = []
            var current: [(x: Double, y: Double)] = []
            for point in series.points {
                if isDrawable(point) {
                    current.append((screenX(point.x), screenY(point.y)))
                } else if !current.isEmpty {
                    result.append(current)
                    current = []
                }
            }
            if !current.isEmpty { result.append(current) }
            return result
        }

        // Series, clipped to the plot area.
        svg +=
            "<clipPath id=\"\(escaped(identifier))-area\"><rect x=\"\(number(plotLeft))\" y=\"\(number(plotTop))\" width=\"\(number(plotWidth))\" height=\"\(number(plotHeight))\"/></clipPath>\n"
        svg +=
            "<g clip-path=\"url(#\(escaped(identifier))-area)\" fill=\"none\" stroke-width=\"2\" stroke-linejoin=\"round\" stroke-linecap=\"round\">\n"
        for (index, series) in series.enumerated() {
            let color = series.color ?? Self.palette[index % Self.palette.count]
            guard series.connectsPoints else {
                let shapes = seriesRuns[index].joined().map { markerPath(series.marker, at: $0, radius: 6) }.joined(separator: " ")
                svg +=
                    "<path d=\"\(shapes)\" fill=\"\(escaped(color))\" stroke=\"#222222\" stroke-width=\"1\"><title>\(escaped(series.name))</title></path>\n"
                continue
            }
            let data = seriesRuns[index].map { run in
                run.enumerated().map { "\($0.offset == 0 ? "M" : "L")\(number($0.element.x)) \(number($0.element.y))" }
                    .joined(separator: " ")
            }.joined(separator: " ")
            let dash = series.dashed ? " stroke-dasharray=\"6 4\"" : ""
            svg += "<path d=\"\(data)\" stroke=\"\(escaped(color))\"\(dash)><title>\(escaped(series.name))</title></path>\n"
            if series.showsMarkers ?? (series.points.count <= 40) {
                for point in seriesRuns[index].joined() { svg += markerElement(series.marker, at: point, radius: 3, color: color) }
            }
        }
        svg += "</g>\n"

        // Legend inside the plot area, in the corner (or side middle) that hides the fewest
        // stretches of the curves.
        if !series.isEmpty {
            let legendHeight = Double(series.count) * 20 + 10
            let inset = 10.0
            let right = plotRight - inset - legendWidth
            let left = plotLeft + inset
            let top = plotTop + inset
            let bottom = plotBottom - inset - legendHeight
            let middle = plotTop + (plotHeight - legendHeight) / 2
            let candidates = [(right, top), (left, top), (right, bottom), (left, bottom), (right, middle), (left, middle)]
            // Sample every segment so long straight segments count too.
            var samples: [(x: Double, y: Double)] = []
            for (index, runs) in seriesRuns.enumerated() {
                for run in runs {
                    guard series[index].connectsPoints else {
                        // A lone measurement weighs as much as a stretch of curve.
                        for point in run { samples += Array(repeating: point, count: 12) }
                        continue
                    }
                    samples.append(run[0])
                    for (from, to) in zip(run, run.dropFirst()) {
                        for step in 1...12 {
                            let t = Double(step) / 12
                            samples.append((from.x + (to.x - from.x) * t, from.y + (to.y - from.y) * t))
                        }
                    }
                }
            }
            func hidden(_ corner: (Double, Double)) -> Int {
                samples.filter {
                    $0.x >= corner.0 - 4 && $0.x <= corner.0 + legendWidth + 4
                        && $0.y >= corner.1 - 4 && $0.y <= corner.1 + legendHeight + 4
                }.count
            }
            let (legendLeft, legendTop) = candidates.min { hidden($0) < hidden($1) } ?? candidates[0]
            svg += "<g>\n"
            svg +=
                "<rect x=\"\(number(legendLeft))\" y=\"\(number(legendTop))\" width=\"\(number(legendWidth))\" height=\"\(number(legendHeight))\" fill=\"#ffffff\" fill-opacity=\"0.9\" stroke=\"#cccccc\" rx=\"3\"/>\n"
            for (index, series) in series.enumerated() {
                let color = series.color ?? Self.palette[index % Self.palette.count]
                let rowY = legendTop + 18 + Double(index) * 20
                let dash = series.dashed ? " stroke-dasharray=\"6 4\"" : ""
                guard series.connectsPoints else {
                    svg += markerElement(series.marker, at: (legendLeft + 19, rowY - 4), radius: 5, color: color)
                    svg += "<text x=\"\(number(legendLeft + 36))\" y=\"\(number(rowY))\" fill=\"#222222\">\(escaped(series.name))</text>\n"
                    continue
                }
                svg +=
                    "<line x1=\"\(number(legendLeft + 8))\" y1=\"\(number(rowY - 4))\" x2=\"\(number(legendLeft + 30))\" y2=\"\(number(rowY - 4))\" stroke=\"\(escaped(color))\" stroke-width=\"2\"\(dash)/>\n"
                svg += "<text x=\"\(number(legendLeft + 36))\" y=\"\(number(rowY))\" fill=\"#222222\">\(escaped(series.name))</text>\n"
            }
            svg += "</g>\n"
        }
        svg += "</svg>\n"
        return svg
    }

    /// A closed outline of `marker` centred on `point` (screen units), for a `<path>`'s `d`.
    private func markerPath(_ marker: Marker, at point: (x: Double, y: Double), radius r: Double) -> String {
        let (x, y) = point
        switch marker {
        case .diamond:
            return
                "M\(number(x)) \(number(y - r)) L\(number(x + r)) \(number(y)) L\(number(x)) \(number(y + r)) L\(number(x - r)) \(number(y)) Z"
        case .circle:
            return "M\(number(x - r)) \(number(y)) A\(number(r)) \(number(r)) 0 1 0 \(number(x + r)) \(number(y)) "
                + "A\(number(r)) \(number(r)) 0 1 0 \(number(x - r)) \(number(y)) Z"
        }
    }

    /// A small filled marker at a point of a connected series.
    private func markerElement(_ marker: Marker, at point: (x: Double, y: Double), radius: Double, color: String) -> String {
        switch marker {
        case .circle:
            return
                "<circle cx=\"\(number(point.x))\" cy=\"\(number(point.y))\" r=\"\(number(radius))\" fill=\"\(escaped(color))\" stroke=\"none\"/>\n"
        case .diamond:
            let (x, y, r) = (point.x, point.y, radius + 1)
            let corners = [(x, y - r), (x + r, y), (x, y + r), (x - r, y)].map { "\(number($0.0)),\(number($0.1))" }
            return "<polygon points=\"\(corners.joined(separator: " "))\" fill=\"\(escaped(color))\" stroke=\"none\"/>\n"
        }
    }

    /// A coordinate with at most two decimals and no trailing zeros.
    private func number(_ value: Double) -> String {
        var text = String(format: "%.2f", value)
        while text.hasSuffix("0") { text.removeLast() }
        if text.hasSuffix(".") { text.removeLast() }
        return text == "-0" ? "0" : text
    }

    /// `text` with the five XML special characters escaped.
    private func escaped(_ text: String) -> String {
        var result = ""
        for character in text {
            switch character {
            case "&": result += "&amp;"
            case "<": result += "&lt;"
            case ">": result += "&gt;"
            case "\"": result += "&quot;"
            case "'": result += "&apos;"
            default: result.append(character)
            }
        }
        return result
    }
}
