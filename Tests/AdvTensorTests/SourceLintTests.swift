import Foundation
import XCTest

/// No `fatalError`, `try!` or force-unwrap in `Sources/` on paths input can reach (issue 8).
/// The one documented invariant: `baseAddress!` on the buffer of an array the code has just
/// checked or built to be non-empty (engine kernels).
final class SourceLintTests: XCTestCase {
    static let allowedForceUnwraps = ["baseAddress!"]

    /// `Sources/` of this repository, found from this file's path.
    var sourcesFolder: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Sources")
    }

    /// The line without its `//` comment and without the contents of string literals.
    static func code(of line: String) -> String {
        var result = ""
        var inString = false
        var previous: Character = " "
        var characters = Array(line)[...]
        while let c = characters.popFirst() {
            if !inString && c == "/" && characters.first == "/" { break }
            if c == "\"" && previous != "\\" {
                inString.toggle()
                result.append(c)
            } else if !inString {
                result.append(c)
            }
            previous = c
        }
        return result
    }

    static func violations(in text: String) -> [String] {
        var found: [String] = []
        let forceUnwrap = try? NSRegularExpression(pattern: #"[A-Za-z0-9_\)\]]+!(?!=)"#)
        for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let code = Self.code(of: String(line))
            if code.contains("fatalError(") { found.append("line \(number + 1): fatalError") }
            if code.contains("try!") { found.append("line \(number + 1): try!") }
            let range = NSRange(code.startIndex..., in: code)
            for match in forceUnwrap?.matches(in: code, range: range) ?? [] {
                guard let r = Range(match.range, in: code) else { continue }
                let token = String(code[r])
                if token != "try!" && !Self.allowedForceUnwraps.contains(where: { token.hasSuffix($0) }) {
                    found.append("line \(number + 1): force-unwrap \(token)")
                }
            }
        }
        return found
    }

    func testTheLintCatchesWhatItLooksFor() {
        XCTAssertEqual(Self.violations(in: "let x = try! f()").count, 1)
        XCTAssertEqual(Self.violations(in: "fatalError(\"no\")").count, 1)
        XCTAssertEqual(Self.violations(in: "let y = dictionary[key]!.count").count, 1)
        XCTAssertEqual(Self.violations(in: "let z = optional!").count, 1)
        XCTAssertEqual(Self.violations(in: "if a != b && !c { } // fatalError( in a comment").count, 0)
        XCTAssertEqual(Self.violations(in: "print(\"wow!\")").count, 0)
        XCTAssertEqual(Self.violations(in: "let p = buffer.baseAddress!").count, 0)
    }

    func testSourcesHaveNoFatalErrorTryBangOrForceUnwrap() throws {
        let enumerator = FileManager.default.enumerator(at: sourcesFolder, includingPropertiesForKeys: nil)
        var checked = 0
        var problems: [String] = []
        while let url = enumerator?.nextObject() as? URL {
            guard url.pathExtension == "swift" else { continue }
            let text = try String(contentsOf: url, encoding: .utf8)
            checked += 1
            problems += Self.violations(in: text).map { "\(url.lastPathComponent) \($0)" }
        }
        XCTAssertGreaterThan(checked, 50, "the lint found too few source files under \(sourcesFolder.path)")
        XCTAssertEqual(problems, [], problems.joined(separator: "\n"))
    }
}
