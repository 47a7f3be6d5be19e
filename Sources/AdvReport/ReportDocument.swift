import Foundation

/// The report as blocks, rendered once as Markdown (`report.md`) and once as HTML
/// (`index.html`), so both pages say exactly the same thing.
public enum ReportBlock: Sendable {
    case heading(level: Int, text: String, anchor: String?)
    case paragraph(String)
    case list([String])
    /// The first row is the header; `numericColumns` are right-aligned.
    case table(header: [String], rows: [[String]], numericColumns: Set<Int>)
    case figure(file: String, caption: String)
    /// Side-by-side figures (HTML); one after the other in Markdown.
    case figures([(file: String, caption: String)])
}

public struct ReportDocument: Sendable {
    public var title: String
    public var blocks: [ReportBlock] = []

    public init(title: String) { self.title = title }

    /// Every figure file the document shows.
    public var figureFiles: [String] {
        blocks.flatMap { block -> [String] in
            switch block {
            case .figure(let file, _): return [file]
            case .figures(let list): return list.map(\.file)
            default: return []
            }
        }
    }

    // MARK: - Markdown

    public func markdown() -> String {
        var lines = ["# \(title)", ""]
        for block in blocks {
            switch block {
            case .heading(let level, let text, _):
                lines += [String(repeating: "#", count: level) + " " + text, ""]
            case .paragraph(let text):
                lines += [text, ""]
            case .list(let items):
                lines += items.map { "- " + $0 } + [""]
            case .table(let header, let rows, let numeric):
                func row(_ cells: [String]) -> String {
                    "| " + cells.map { $0.replacingOccurrences(of: "|", with: "\\|") }.joined(separator: " | ") + " |"
                }
                lines.append(row(header))
                lines.append("|" + header.indices.map { numeric.contains($0) ? " ---: |" : " --- |" }.joined())
                lines += rows.map(row)
                lines.append("")
            case .figure(let file, let caption):
                lines += ["![\(caption)](\(file))", "", "*\(caption)*", ""]
            case .figures(let list):
                for (file, caption) in list { lines += ["![\(caption)](\(file))", "", "*\(caption)*", ""] }
            }
        }
        return lines.joined(separator: "\n")
    }

    // MARK: - HTML

    public static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }

    /// A single self-contained page (figures are files beside it).
    public func html() -> String {
        var body: [String] = []
        var toc: [String] = []
        for block in blocks {
            switch block {
            case .heading(let level, let text, let anchor):
                let id = anchor.map { " id=\"\(Self.escape($0))\"" } ?? ""
                body.append("<h\(level)\(id)>\(Self.escape(text))</h\(level)>")
                if level == 2, let anchor { toc.append("<a href=\"#\(Self.escape(anchor))\">\(Self.escape(text))</a>") }
            case .paragraph(let text):
                body.append("<p>\(Self.escape(text))</p>")
            case .list(let items):
                body.append("<ul>" + items.map { "<li>\(Self.escape($0))</li>" }.joined() + "</ul>")
            case .table(let header, let rows, let numeric):
                var html = "<div class=\"table\"><table><thead><tr>"
                html += header.enumerated().map {
                    "<th\(numeric.contains($0.offset) ? " class=\"n\"" : "")>\(Self.escape($0.element))</th>"
                }.joined()
                html += "</tr></thead><tbody>"
                for row in rows {
                    html +=
                        "<tr>"
                        + row.enumerated().map { cell -> String in
                            let classes =
                                (numeric.contains(cell.offset) ? ["n"] : [])
                                + (cell.element.hasPrefix("violated") ? ["bad"] : cell.element.hasPrefix("holds") ? ["good"] : [])
                            return
                                "<td\(classes.isEmpty ? "" : " class=\"\(classes.joined(separator: " "))\"")>\(Self.escape(cell.element))</td>"
                        }.joined() + "</tr>"
                }
                body.append(html + "</tbody></table></div>")
            case .figure(let file, let caption):
                body.append(Self.figureHTML(file, caption))
            case .figures(let list):
                body.append("<div class=\"row\">" + list.map { Self.figureHTML($0.file, $0.caption) }.joined() + "</div>")
            }
        }
        return """
            <!DOCTYPE html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>\(Self.escape(title))</title>
            <style>
            body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 0 auto; max-width: 1180px; padding: 24px; color: #1b1b1b; line-height: 1.45; }
            h1 { font-size: 1.7em; margin-bottom: 0.2em; }
            h2 { border-bottom: 1px solid #ccc; padding-bottom: 4px; margin-top: 2em; }
            nav { font-size: 0.92em; margin: 0.5em 0 1.5em; }
            nav a { margin-right: 1em; }
            .table { overflow-x: auto; margin: 0.8em 0 1.2em; }
            table { border-collapse: collapse; font-size: 0.84em; }
            th, td { border: 1px solid #d0d0d0; padding: 3px 7px; vertical-align: top; text-align: left; }
            th { background: #f2f2f2; }
            td.n { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
            th.n { text-align: right; }
            td.good { color: #1a7f37; }
            td.bad { color: #b42318; }
            figure { margin: 0.8em 0; }
            figure img { max-width: 100%; border: 1px solid #e3e3e3; background: white; }
            figcaption { font-size: 0.88em; color: #555; max-width: 760px; }
            .row { display: flex; flex-wrap: wrap; gap: 18px; align-items: flex-start; }
            .row figure { flex: 1 1 360px; max-width: 560px; }
            li { margin-bottom: 0.35em; }
            </style>
            </head>
            <body>
            <h1>\(Self.escape(title))</h1>
            <nav>\(toc.joined(separator: " "))</nav>
            \(body.joined(separator: "\n"))
            </body>
            </html>

            """
    }

    static func figureHTML(_ file: String, _ caption: String) -> String {
        "<figure><img src=\"\(escape(file))\" alt=\"\(escape(caption))\"><figcaption>\(escape(caption))</figcaption></figure>"
    }
}
