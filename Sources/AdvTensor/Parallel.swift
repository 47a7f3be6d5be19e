import Dispatch
import Foundation

/// Work splitting over the machine's cores for elementwise and per-example loops.
public enum Parallel {
    /// Number of worker threads: `ADVLAB_THREADS` when set (1 makes runs bit-reproducible
    /// across machines), else the number of active processors.
    public static let threadCount: Int = {
        if let text = ProcessInfo.processInfo.environment["ADVLAB_THREADS"], let n = Int(text), n >= 1 { return n }
        return max(1, ProcessInfo.processInfo.activeProcessorCount)
    }()

    /// Calls `body(range)` on disjoint chunks that cover `0..<count`, concurrently when the work
    /// is large enough to pay for the threads (`minimumChunk` items per chunk at least).
    public static func forEachChunk(_ count: Int, minimumChunk: Int = 16_384, _ body: (Range<Int>) -> Void) {
        guard count > 0 else { return }
        let chunks = min(threadCount, max(1, count / max(1, minimumChunk)))
        if chunks == 1 {
            body(0..<count)
            return
        }
        let size = (count + chunks - 1) / chunks
        DispatchQueue.concurrentPerform(iterations: chunks) { chunk in
            let lower = chunk * size
            let upper = min(count, lower + size)
            if lower < upper { body(lower..<upper) }
        }
    }

    /// Calls `body(i)` for every `i` in `0..<count`, spread over the worker threads.
    public static func forEach(_ count: Int, _ body: (Int) -> Void) {
        forEachChunk(count, minimumChunk: 1) { range in for i in range { body(i) } }
    }
}
