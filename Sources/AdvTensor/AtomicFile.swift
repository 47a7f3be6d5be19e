import Foundation

/// Errors of file output, each naming the path and what went wrong.
public struct FileWriteError: Error, CustomStringConvertible {
    public let path: String
    public let reason: String
    public var description: String { "cannot write \(path): \(reason)" }
    public init(path: String, reason: String) {
        self.path = path
        self.reason = reason
    }
}

/// Atomic file output: the bytes go to a temporary file in the destination's folder, are
/// flushed to disk, and only then renamed over the destination. A reader (or a crash) sees the
/// old file or the new one, never a half-written one.
public enum AtomicFile {
    /// Writes `bytes` to `path` atomically; throws `FileWriteError` naming the path when the
    /// folder is missing or not writable. Nothing at `path` changes when it throws.
    public static func write(_ bytes: [UInt8], to path: String) throws {
        try bytes.withUnsafeBytes { try write(raw: $0, to: path) }
    }

    /// Writes UTF-8 `text` to `path` atomically.
    public static func write(_ text: String, to path: String) throws {
        try write(Array(text.utf8), to: path)
    }

    /// Writes the raw bytes of `buffer` to `path` atomically.
    public static func write(raw buffer: UnsafeRawBufferPointer, to path: String) throws {
        let url = URL(fileURLWithPath: path)
        let folder = url.deletingLastPathComponent().path
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder, isDirectory: &isFolder), isFolder.boolValue else {
            throw FileWriteError(path: path, reason: "folder \(folder) does not exist")
        }
        let temporary = folder + "/." + url.lastPathComponent + ".\(getpid()).\(UInt32.random(in: 0...UInt32.max)).tmp"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL, 0o644)
        guard fd >= 0 else {
            throw FileWriteError(path: path, reason: String(cString: strerror(errno)))
        }
        var offset = 0
        while offset < buffer.count {
            let written = Foundation.write(fd, buffer.baseAddress! + offset, buffer.count - offset)
            if written <= 0 {
                let reason = String(cString: strerror(errno))
                close(fd)
                unlink(temporary)
                throw FileWriteError(path: path, reason: reason)
            }
            offset += written
        }
        if fsync(fd) != 0 || close(fd) != 0 {
            let reason = String(cString: strerror(errno))
            unlink(temporary)
            throw FileWriteError(path: path, reason: reason)
        }
        if rename(temporary, path) != 0 {
            let reason = String(cString: strerror(errno))
            unlink(temporary)
            throw FileWriteError(path: path, reason: reason)
        }
        removeStaleTemporaries(of: url.lastPathComponent, in: folder)
    }

    /// Removes the temporary files of earlier writes of `name` whose writing process no longer
    /// exists: a run killed mid-write (`kill -9`, power loss) leaves its `.name.PID.N.tmp` behind,
    /// and a training run that is killed and resumed again and again would otherwise pile up one
    /// checkpoint-sized file per kill. A file whose process still runs (another writer, or a
    /// reused PID) is left alone; failures are ignored, since the write itself succeeded.
    static func removeStaleTemporaries(of name: String, in folder: String) {
        let prefix = "." + name + "."
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: folder) else { return }
        for entry in entries where entry.hasPrefix(prefix) && entry.hasSuffix(".tmp") {
            let fields = entry.dropFirst(prefix.count).dropLast(".tmp".count).split(separator: ".")
            guard fields.count == 2, let pid = pid_t(fields[0]), pid > 0, pid != getpid(), UInt32(fields[1]) != nil else { continue }
            if kill(pid, 0) != 0 && errno == ESRCH { unlink(folder + "/" + entry) }
        }
    }
}
