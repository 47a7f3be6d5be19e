import Foundation

/// Whole-file reads with errors that name the file.
public enum FileBytes {
    /// The bytes of the file at `path`.
    ///
    /// Throws `DataError.unreadable(file: path, …)` with the system's reason when the file
    /// cannot be opened or read, or is not a regular file.
    public static func read(_ path: String) throws -> [UInt8] {
        let descriptor = open(path, O_RDONLY)
        guard descriptor >= 0 else { throw DataError.unreadable(file: path, reason: String(cString: strerror(errno))) }
        defer { close(descriptor) }

        var status = stat()
        guard fstat(descriptor, &status) == 0 else {
            throw DataError.unreadable(file: path, reason: String(cString: strerror(errno)))
        }
        guard (status.st_mode & S_IFMT) == S_IFREG else {
            throw DataError.unreadable(file: path, reason: "not a regular file")
        }

        let size = Int(status.st_size)
        var bytes = [UInt8](repeating: 0, count: size)
        var filled = 0
        var readError: Int32 = 0
        bytes.withUnsafeMutableBytes { buffer in
            guard let base = buffer.baseAddress else { return }
            while filled < size {
                let got = Foundation.read(descriptor, base + filled, size - filled)
                if got < 0 {
                    if errno == EINTR { continue }
                    readError = errno
                    return
                }
                if got == 0 { return }  // the file shrank while we read it
                filled += got
            }
        }
        if readError != 0 { throw DataError.unreadable(file: path, reason: String(cString: strerror(readError))) }
        if filled < size { bytes.removeLast(size - filled) }
        return bytes
    }
}
