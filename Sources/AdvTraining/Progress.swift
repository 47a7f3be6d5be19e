import Foundation

/// Progress of a long job: on a terminal, one line rewritten in place with the iteration rate,
/// ETA and running values; otherwise (logs, CI) a plain line every `plainInterval` seconds.
/// Writes to standard error so standard output stays clean for `--json`.
public final class ProgressReporter {
    public let label: String
    public let total: Int
    private let start = Date()
    private var lastPrint = Date.distantPast
    private let interactive: Bool
    private let plainInterval: TimeInterval
    private let quiet: Bool

    public init(label: String, total: Int, plainInterval: TimeInterval = 15, quiet: Bool = false) {
        self.label = label
        self.total = total
        self.interactive = isatty(STDERR_FILENO) != 0
        self.plainInterval = plainInterval
        self.quiet = quiet
    }

    /// Seconds since the reporter was made.
    public var elapsed: TimeInterval { Date().timeIntervalSince(start) }

    /// Reports `done` of `total` iterations with named running values (e.g. losses).
    public func update(_ done: Int, values: KeyValuePairs<String, Double> = [:], force: Bool = false) {
        guard !quiet else { return }
        let now = Date()
        let minimumGap = interactive ? 0.2 : plainInterval
        guard force || done == total || now.timeIntervalSince(lastPrint) >= minimumGap else { return }
        lastPrint = now
        let seconds = max(1e-9, now.timeIntervalSince(start))
        let rate = Double(done) / seconds
        let eta = rate > 0 ? Double(total - done) / rate : 0
        let shown = values.map { "\($0.key) \(String(format: "%.4f", $0.value))" }.joined(separator: "  ")
        let line = "\(label) \(done)/\(total)  \(String(format: "%.1f", rate)) it/s  ETA \(Self.clock(eta))  \(shown)"
        if interactive {
            FileHandle.standardError.write(Data(("\r\u{1B}[K" + line + (done == total ? "\n" : "")).utf8))
        } else {
            FileHandle.standardError.write(Data((line + "\n").utf8))
        }
    }

    /// `h:mm:ss` or `m:ss`.
    public static func clock(_ seconds: Double) -> String {
        guard seconds.isFinite else { return "?" }
        let s = Int(seconds.rounded())
        return s >= 3600 ? String(format: "%d:%02d:%02d", s / 3600, (s / 60) % 60, s % 60) : String(format: "%d:%02d", s / 60, s % 60)
    }
}

/// Prints one line to standard error (status messages that must not mix with `--json` output).
public func note(_ message: String) {
    FileHandle.standardError.write(Data((message + "\n").utf8))
}
