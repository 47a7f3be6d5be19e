import AdvData
import Foundation

/// What ties a report to the run that wrote it (issue 23): the SHA-256 of every checkpoint and
/// data file the study read, and of the advlab executable. The seed and the settings are
/// `ReportResults.seed` and `.settings`.
public struct RunFingerprint: Codable, Sendable, Equatable {
    public struct File: Codable, Sendable, Equatable {
        /// What the file was to the study: "natural", "robust", "generator", "embedding", "judge",
        /// or "data" for the data set's files.
        public var role: String
        /// A checkpoint by its absolute path; a data file by its name alone, found again through
        /// `--data` or the data set's environment variable.
        public var path: String
        public var sha256: String
    }

    public var files: [File]
    /// SHA-256 of the advlab executable that ran the study, its version (recorded, not checked:
    /// a rebuilt binary may verify an older report).
    public var executable_sha256: String?

    public init(files: [File], executable_sha256: String?) {
        self.files = files
        self.executable_sha256 = executable_sha256
    }

    /// SHA-256 of a file's bytes, hex.
    public static func digest(path: String) throws -> String {
        guard let data = FileManager.default.contents(atPath: path) else { throw ReportError.invalid(path, "cannot be read") }
        return try data.withUnsafeBytes { try SHA256.hexDigest($0) }
    }

    /// The fingerprint of a study's inputs: `checkpoints` (role, path as given) and every file of
    /// the data folder `dataDirectory` (by name).
    public static func make(checkpoints: [(role: String, path: String)], dataDirectory: String) throws -> RunFingerprint {
        // Absolute, so that --verify finds them from any working directory.
        var files = try checkpoints.map {
            File(role: $0.role, path: URL(fileURLWithPath: $0.path).standardizedFileURL.path, sha256: try digest(path: $0.path))
        }
        for name in try dataFileNames(in: dataDirectory) {
            files.append(File(role: "data", path: name, sha256: try digest(path: dataDirectory + "/" + name)))
        }
        let executable = Bundle.main.executablePath.flatMap { try? digest(path: $0) }
        return RunFingerprint(files: files, executable_sha256: executable)
    }

    /// The data set's files in its folder (IDX files, gzipped or not), sorted.
    static func dataFileNames(in directory: String) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.contains("-idx") }.sorted()
    }

    /// The files whose bytes differ from the fingerprint (or cannot be read); data files are
    /// looked for in `dataDirectory`.
    public func problems(dataDirectory: String?) -> [String] {
        files.compactMap { file in
            let path: String
            if file.role == "data" {
                guard let dataDirectory else {
                    return "results.json: fingerprint names data file \(file.path) but no data folder was found"
                }
                path = dataDirectory + "/" + file.path
            } else {
                path = file.path
            }
            guard let digest = try? Self.digest(path: path) else {
                return "results.json: fingerprint file \(path) (\(file.role)) cannot be read"
            }
            return digest == file.sha256 ? nil : "results.json: \(path) (\(file.role)) is not the file the study read (SHA-256 differs)"
        }
    }
}

/// The checks that give `advlab report --verify` its power (issue 23, item 1), beside
/// `ReportChecks`' number and figure checks:
/// - the pages are a pure function of results.json: rendered again they equal the files byte for byte;
/// - results.json agrees with itself: shares in [0, 1], robust ≤ clean accuracy, per-class
///   figures averaging back to the overall one with the class counts, counts that add up;
/// - its fingerprint matches the checkpoints and data on disk.
public enum ReportVerification {
    /// The pages rendered again from `results` against the written ones: the first differing line of each.
    public static func renderingProblems(results: ReportResults, markdown: String, html: String) -> [String] {
        let document = ReportContent.document(results)
        return [("report.md", document.markdown(), markdown), ("index.html", document.html(), html)].compactMap {
            name, expected, written -> String? in
            guard expected != written else { return nil }
            let expectedLines = expected.split(separator: "\n", omittingEmptySubsequences: false)
            let writtenLines = written.split(separator: "\n", omittingEmptySubsequences: false)
            let common = min(expectedLines.count, writtenLines.count)
            let line = (0..<common).first { expectedLines[$0] != writtenLines[$0] } ?? common
            return "\(name): differs from the page rendered again from results.json, first at line \(line + 1)"
        }
    }

    /// Internal consistency of the results; each problem names the field.
    public static func consistencyProblems(_ r: ReportResults) -> [String] {
        var problems: [String] = []
        func share(_ value: Double?, _ field: String) {
            guard let value, value.isFinite else { return }
            if value < 0 || value > 1 { problems.append("results.json: \(field) = \(value) is not a share in [0, 1]") }
        }
        func close(_ a: Double, _ b: Double) -> Bool { abs(a - b) <= 1e-9 + 1e-6 * max(abs(a), abs(b)) }

        for (index, row) in r.robustness.enumerated() {
            let field = "robustness[\(index)] (\(row.model) \(row.method) \(row.norm) ε \(Format.eps(row.eps)))"
            share(row.clean_accuracy, field + ".clean_accuracy")
            share(row.robust_accuracy, field + ".robust_accuracy")
            for (c, value) in row.per_class_robust_accuracy.enumerated() { share(value, field + ".per_class_robust_accuracy[\(c)]") }
            if row.robust_accuracy > row.clean_accuracy + 1e-12 {
                problems.append(
                    "results.json: \(field).robust_accuracy \(row.robust_accuracy) exceeds its clean_accuracy \(row.clean_accuracy)")
            }
            let counts = row.condition_one.per_class.map(\.examples)
            if counts.count == row.per_class_robust_accuracy.count, counts.reduce(0, +) > 0 {
                if counts.reduce(0, +) != row.count {
                    problems.append("results.json: \(field): per-class counts add up to \(counts.reduce(0, +)), not count \(row.count)")
                }
                let weighted = zip(row.per_class_robust_accuracy, counts).reduce(0.0) { $0 + $1.0 * Double($1.1) } / Double(row.count)
                if !close(weighted, row.robust_accuracy) {
                    problems.append(
                        "results.json: \(field).per_class_robust_accuracy averages to \(weighted) with the class counts, not robust_accuracy \(row.robust_accuracy)"
                    )
                }
            }
            share(row.condition_two.share_with_same_class_within_eps, field + ".condition_two.share_with_same_class_within_eps")
        }
        for model in r.generalization.models {
            share(model.test_error, "generalization \(model.model).test_error")
            share(model.plain_sample_error, "generalization \(model.model).plain_sample_error")
        }
        for (index, row) in r.unrestricted.enumerated() {
            let field = "unrestricted[\(index)] (\(row.model) \(row.variant))"
            share(row.success_rate, field + ".success_rate")
            share(row.valid_success_rate, field + ".valid_success_rate")
            share(row.panel_agreement_on_successes, field + ".panel_agreement_on_successes")
            share(row.panel_agreement_on_starts_of_successes, field + ".panel_agreement_on_starts_of_successes")
            if let valid = row.valid_success_rate, valid > row.success_rate + 1e-12 {
                problems.append("results.json: \(field).valid_success_rate \(valid) exceeds its success_rate \(row.success_rate)")
            }
            // Every plan searches each source class equally often, so the per-source rates average to the overall one.
            let perSource = row.per_source_success_rate
            if !perSource.isEmpty {
                let mean = perSource.reduce(0, +) / Double(perSource.count)
                if !close(mean, row.success_rate) {
                    problems.append(
                        "results.json: \(field).per_source_success_rate averages to \(mean), not success_rate \(row.success_rate)")
                }
            }
        }
        for (index, curve) in r.condition_two_curves.enumerated() {
            for (k, value) in curve.share_with_same_class_within_eps.enumerated() {
                share(value, "condition_two_curves[\(index)].share_with_same_class_within_eps[\(k)]")
            }
            // A larger ball holds at least the images a smaller one holds.
            let shares = curve.share_with_same_class_within_eps
            if zip(shares, shares.dropFirst()).contains(where: { $0 > $1 + 1e-12 }) {
                problems.append("results.json: condition_two_curves[\(index)] (\(curve.norm)) falls with ε")
            }
        }
        return problems
    }

    /// Where robust accuracy rises with ε along a model's PGD curve (norm by norm): a sign of
    /// noise or of masking that the page states (`ReportContent`), not a failure of the run.
    public static func risingRobustness(_ r: ReportResults) -> [String] {
        var notes: [String] = []
        for model in Set(r.robustness.map(\.model)).sorted() {
            for norm in ["linf", "l2"] {
                let curve = r.robustness.filter { $0.model == model && $0.method == "pgd" && $0.norm == norm }.sorted { $0.eps < $1.eps }
                for (a, b) in zip(curve, curve.dropFirst()) where b.robust_accuracy > a.robust_accuracy + 1e-12 {
                    notes.append(
                        "\(model) PGD \(Format.norm(norm)): robust accuracy rises from \(Format.value(a.robust_accuracy)) at ε \(Format.eps(a.eps)) "
                            + "to \(Format.value(b.robust_accuracy)) at ε \(Format.eps(b.eps))")
                }
            }
        }
        return notes
    }
}
