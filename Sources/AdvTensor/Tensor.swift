import Foundation

/// A contiguous, row-major Float32 tensor with value semantics.
///
/// Images are `[N, C, H, W]`, vectors `[N, D]`. Storage is a Swift array, so copies are
/// copy-on-write; hot loops take `withUnsafeBufferPointer` / `withUnsafeMutableBufferPointer`
/// and never copy. Shapes are checked with `precondition`: a wrong shape inside the engine is a
/// programming error, not an input error (inputs are validated where they are read).
public struct Tensor: Equatable, Sendable {
    public private(set) var shape: [Int]
    public var scalars: [Float]

    /// A tensor of `shape` holding `scalars` in row-major order; `scalars.count` must match.
    public init(shape: [Int], scalars: [Float]) {
        precondition(shape.allSatisfy { $0 >= 0 }, "negative dimension in \(shape)")
        precondition(
            shape.reduce(1, *) == scalars.count,
            "shape \(shape) needs \(shape.reduce(1, *)) scalars, got \(scalars.count)")
        self.shape = shape
        self.scalars = scalars
    }

    /// A tensor of `shape` filled with `value`.
    public init(repeating value: Float, shape: [Int]) {
        self.init(shape: shape, scalars: [Float](repeating: value, count: shape.reduce(1, *)))
    }

    /// A zero tensor of `shape`.
    public static func zeros(_ shape: [Int]) -> Tensor { Tensor(repeating: 0, shape: shape) }

    /// A zero tensor shaped like `other`.
    public static func zeros(like other: Tensor) -> Tensor { Tensor(repeating: 0, shape: other.shape) }

    /// A tensor of `shape` whose storage is written by `body` (uninitialised memory is zeroed first).
    public init(shape: [Int], _ body: (UnsafeMutableBufferPointer<Float>) -> Void) {
        var scalars = [Float](repeating: 0, count: shape.reduce(1, *))
        scalars.withUnsafeMutableBufferPointer { body($0) }
        self.init(shape: shape, scalars: scalars)
    }

    public var count: Int { scalars.count }
    public var rank: Int { shape.count }

    /// Leading dimension (batch size for `[N, …]` tensors).
    public var batchCount: Int { shape.first ?? 1 }

    /// Number of scalars per batch element: `count / shape[0]`.
    public var featureCount: Int { shape.isEmpty ? 1 : (shape[0] == 0 ? shape.dropFirst().reduce(1, *) : count / shape[0]) }

    /// The same scalars under another shape with the same element count.
    public func reshaped(_ newShape: [Int]) -> Tensor {
        var newShape = newShape
        if let inferred = newShape.firstIndex(of: -1) {
            let known = newShape.enumerated().filter { $0.offset != inferred }.map(\.element).reduce(1, *)
            precondition(known > 0 && count % known == 0, "cannot infer dimension of \(newShape) for \(count) scalars")
            newShape[inferred] = count / known
        }
        return Tensor(shape: newShape, scalars: scalars)
    }

    /// Changes the shape in place; the element count must stay the same.
    public mutating func reshape(_ newShape: [Int]) {
        precondition(newShape.reduce(1, *) == count, "reshape \(shape) -> \(newShape) changes the element count")
        shape = newShape
    }

    /// Batch elements `range` of a `[N, …]` tensor.
    public func slice(_ range: Range<Int>) -> Tensor {
        precondition(range.lowerBound >= 0 && range.upperBound <= batchCount, "slice \(range) out of 0..<\(batchCount)")
        let f = featureCount
        var newShape = shape
        newShape[0] = range.count
        return Tensor(shape: newShape, scalars: Array(scalars[(range.lowerBound * f)..<(range.upperBound * f)]))
    }

    /// Batch elements at `indices` of a `[N, …]` tensor, in that order.
    public func gather(_ indices: [Int]) -> Tensor {
        let f = featureCount
        var newShape = shape
        newShape[0] = indices.count
        return Tensor(shape: newShape) { out in
            scalars.withUnsafeBufferPointer { src in
                for (row, index) in indices.enumerated() {
                    precondition(index >= 0 && index < batchCount, "gather index \(index) out of 0..<\(batchCount)")
                    (out.baseAddress! + row * f).update(from: src.baseAddress! + index * f, count: f)
                }
            }
        }
    }

    /// Concatenates `[N_i, …]` tensors with equal trailing shapes along the batch dimension.
    public static func concatenate(_ parts: [Tensor]) -> Tensor {
        precondition(!parts.isEmpty, "concatenate needs at least one tensor")
        let tail = Array(parts[0].shape.dropFirst())
        precondition(parts.allSatisfy { Array($0.shape.dropFirst()) == tail }, "concatenate: trailing shapes differ")
        var scalars = [Float]()
        scalars.reserveCapacity(parts.reduce(0) { $0 + $1.count })
        for part in parts { scalars.append(contentsOf: part.scalars) }
        return Tensor(shape: [parts.reduce(0) { $0 + $1.batchCount }] + tail, scalars: scalars)
    }

    /// Overwrites batch elements starting at `start` with `part`'s elements.
    public mutating func replaceBatch(at start: Int, with part: Tensor) {
        precondition(part.featureCount == featureCount && start + part.batchCount <= batchCount, "replaceBatch shape mismatch")
        let f = featureCount
        scalars.replaceSubrange((start * f)..<((start + part.batchCount) * f), with: part.scalars)
    }

    /// Scalar at a multi-index (slow; for tests and small code paths).
    public subscript(_ index: Int...) -> Float {
        get { scalars[flatIndex(index)] }
        set { scalars[flatIndex(index)] = newValue }
    }

    private func flatIndex(_ index: [Int]) -> Int {
        precondition(index.count == shape.count, "index \(index) for shape \(shape)")
        var flat = 0
        for (i, dim) in zip(index, shape) {
            precondition(i >= 0 && i < dim, "index \(index) out of bounds for \(shape)")
            flat = flat * dim + i
        }
        return flat
    }
}

extension Tensor: CustomStringConvertible {
    public var description: String {
        let preview = scalars.prefix(8).map { String(format: "%.4g", Double($0)) }.joined(separator: ", ")
        return "Tensor(\(shape), [\(preview)\(count > 8 ? ", …" : "")])"
    }
}
