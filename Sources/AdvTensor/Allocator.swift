#if canImport(Glibc)
    import Glibc
#endif

/// How the process's allocator treats the large, short-lived buffers of the engine.
public enum Allocator {
    /// Keeps freed memory in the process for the next allocation instead of returning it.
    ///
    /// Every forward pass allocates its activations and every pullback its gradients afresh
    /// (value semantics), megabytes each. glibc serves blocks above its mmap threshold (128 KiB
    /// at first, adapting up to 32 MiB) with fresh mappings and trims the top of the heap back to
    /// the kernel on free, so the next step faults the same memory in again, zeroed page by page:
    /// measured on a classifier training step, about 7,700 page faults (30 MB) per step and a
    /// tenth of its time in the kernel. With the thresholds raised, blocks up to 32 MiB come from
    /// the heap and stay there between steps; larger ones (whole datasets, distance tiles) are
    /// still mapped and returned on free, so the peak resident memory does not grow.
    /// Call once, early (the command-line tool does in `main`).
    public static func keepFreedMemoryForReuse() {
        #if canImport(Glibc)
            // <malloc.h> is not part of Swift's Glibc module, so `mallopt` is looked up by name.
            typealias Mallopt = @convention(c) (Int32, Int32) -> Int32
            guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "mallopt") else { return }  // RTLD_DEFAULT
            let mallopt = unsafeBitCast(symbol, to: Mallopt.self)
            let mmapThreshold: Int32 = -3
            let trimThreshold: Int32 = -1  // M_MMAP_THRESHOLD, M_TRIM_THRESHOLD
            _ = mallopt(mmapThreshold, 32 << 20)  // glibc's largest allowed value on 64-bit
            _ = mallopt(trimThreshold, 1 << 30)
        #endif
    }
}
