/// An error of image input or output, naming the file (or in-memory source) and what went wrong.
///
/// `description` is one line a person can act on, e.g.
/// `cannot read PNG /tmp/x.png: not a PNG file (signature mismatch)`.
public struct ImagingError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The file path, or a name for in-memory data given by the caller.
    public let path: String
    /// What went wrong, e.g. libpng's message.
    public let reason: String
    /// `"read"` or `"write"`: the direction that failed.
    public let operation: String

    public init(path: String, operation: String, reason: String) {
        self.path = path
        self.operation = operation
        self.reason = reason
    }

    public var description: String { "cannot \(operation) PNG \(path): \(reason)" }
}
