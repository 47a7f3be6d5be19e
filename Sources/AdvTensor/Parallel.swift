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
    /// Inside a lane (`forEachLane`) the whole range runs on the lane's own thread.
    public static func forEachChunk(_ count: Int, minimumChunk: Int = 16_384, _ body: (Range<Int>) -> Void) {
        guard count > 0 else { return }
        let chunks = currentLane == 0 ? min(threadCount, max(1, count / max(1, minimumChunk))) : 1
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

    /// Runs `body(i)` for every `i` in `0..<count` on `lanes` threads side by side, each taking the
    /// next index when it is free, every lane single-threaded throughout: the lab's own loops run
    /// inline, oneDNN (OpenMP) on the lane's thread alone, and each lane builds its own convolution
    /// plans (`DNNLConvolution` keys them by `currentLane`). For many independent pieces of small
    /// work, such as the batches of an attack, this uses the cores better than one piece at a time
    /// with every primitive split across them (oneDNN's convolutions on MNIST-sized batches gain
    /// about 1.4× from a second core). Which lane runs which index is left to timing, so `body`
    /// must not depend on it: give each index its own random stream. With one lane, or when
    /// called from inside a lane, the indices run in order on the calling thread.
    public static func forEachLane(_ count: Int, lanes: Int = threadCount, _ body: (Int) -> Void) {
        let workers = min(max(1, lanes), count)
        if workers <= 1 || currentLane != 0 {
            for i in 0..<count { body(i) }
            return
        }
        let queue = LaneQueue(count: count)
        DispatchQueue.concurrentPerform(iterations: workers) { worker in
            setCurrentLane(worker + 1)
            let previousThreads = OpenMP.maxThreads()
            OpenMP.setThreads(1)
            defer {
                OpenMP.setThreads(previousThreads)
                setCurrentLane(0)
            }
            while let i = queue.next() { body(i) }
        }
    }

    /// The lane (1, 2, …) that the calling thread is running for `forEachLane`, 0 outside one.
    public static var currentLane: Int { Int(bitPattern: pthread_getspecific(laneKey)) }

    private static let laneKey: pthread_key_t = {
        var key = pthread_key_t()
        precondition(pthread_key_create(&key, nil) == 0, "Parallel: no thread-specific key for lanes")
        return key
    }()

    private static func setCurrentLane(_ lane: Int) {
        _ = pthread_setspecific(laneKey, UnsafeRawPointer(bitPattern: lane))
    }
}

/// Hands out the indices `0..<count` once each, in order, to whichever lane asks.
private final class LaneQueue: @unchecked Sendable {
    private var nextIndex = 0
    private let count: Int
    private let lock = NSLock()
    init(count: Int) { self.count = count }
    func next() -> Int? {
        lock.lock()
        defer { lock.unlock() }
        guard nextIndex < count else { return nil }
        nextIndex += 1
        return nextIndex - 1
    }
}

/// The calling thread's OpenMP thread count (libgomp's per-thread `nthreads-var`), which bounds
/// oneDNN's parallel regions started from that thread. libgomp is loaded with libdnnl; its two
/// functions are looked up by name so that no OpenMP header or link flag is needed. Without
/// them (another OpenMP runtime under other names) lanes still run, oneDNN then with its own
/// thread count in each.
public enum OpenMP {
    private typealias SetThreads = @convention(c) (Int32) -> Void
    private typealias MaxThreads = @convention(c) () -> Int32
    private static let set: SetThreads? = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "omp_set_num_threads").map {
        unsafeBitCast($0, to: SetThreads.self)
    }
    private static let max: MaxThreads? = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "omp_get_max_threads").map {
        unsafeBitCast($0, to: MaxThreads.self)
    }

    /// What an OpenMP parallel region started on this thread would use (0 when the runtime is not found).
    public static func maxThreads() -> Int { max.map { Int($0()) } ?? 0 }

    /// Sets it for this thread; 0 or less leaves it alone.
    public static func setThreads(_ count: Int) {
        guard count > 0 else { return }
        set?(Int32(count))
    }
}
