/// Elementwise kernels. Large loops are split over the cores with `Parallel.forEachChunk`;
/// each kernel works on raw buffers so no intermediate arrays are made.
extension Tensor {
    /// `f(x)` for every scalar.
    ///
    /// Inlinable so that a caller in another module gets a copy specialised to its closure (a
    /// call per scalar otherwise); the result is written once into fresh storage rather than
    /// copied from `self` first.
    @inlinable
    public func map(_ f: (Float) -> Float) -> Tensor {
        let count = self.count
        let result = [Float](unsafeUninitializedCapacity: count) { out, initialized in
            if count > 0 {
                scalars.withUnsafeBufferPointer { source in
                    let s = source.baseAddress!
                    let o = out.baseAddress!
                    Parallel.forEachChunk(count) { range in for i in range { o[i] = f(s[i]) } }
                }
            }
            initialized = count
        }
        return Tensor(shape: shape, scalars: result)
    }

    /// `f(a, b)` scalar by scalar for tensors of the same shape (inlinable, as `map`).
    @inlinable
    public func zipMap(_ other: Tensor, _ f: (Float, Float) -> Float) -> Tensor {
        precondition(shape == other.shape, "zipMap shapes differ: \(shape) and \(other.shape)")
        let count = self.count
        let result = [Float](unsafeUninitializedCapacity: count) { out, initialized in
            if count > 0 {
                scalars.withUnsafeBufferPointer { first in
                    other.scalars.withUnsafeBufferPointer { second in
                        let a = first.baseAddress!
                        let b = second.baseAddress!
                        let o = out.baseAddress!
                        Parallel.forEachChunk(count) { range in for i in range { o[i] = f(a[i], b[i]) } }
                    }
                }
            }
            initialized = count
        }
        return Tensor(shape: shape, scalars: result)
    }

    /// `self += scale · other` in place (same shape).
    public mutating func addScaled(_ other: Tensor, scale: Float = 1) {
        precondition(shape == other.shape, "addScaled shapes differ: \(shape) and \(other.shape)")
        let n = count
        scalars.withUnsafeMutableBufferPointer { out in
            other.scalars.withUnsafeBufferPointer { b in
                let o = out.baseAddress!
                let bb = b.baseAddress!
                Parallel.forEachChunk(n) { range in for i in range { o[i] += scale * bb[i] } }
            }
        }
    }

    public static func + (a: Tensor, b: Tensor) -> Tensor { a.zipMap(b, +) }
    public static func - (a: Tensor, b: Tensor) -> Tensor { a.zipMap(b, -) }
    public static func * (a: Tensor, b: Tensor) -> Tensor { a.zipMap(b, *) }
    public static func * (a: Tensor, s: Float) -> Tensor { a.map { $0 * s } }
    public static func * (s: Float, a: Tensor) -> Tensor { a.map { $0 * s } }
    public static func + (a: Tensor, s: Float) -> Tensor { a.map { $0 + s } }
    public static func += (a: inout Tensor, b: Tensor) { a.addScaled(b) }
    public static func -= (a: inout Tensor, b: Tensor) { a.addScaled(b, scale: -1) }

    /// Every scalar clamped to `[low, high]`.
    public func clamped(_ low: Float, _ high: Float) -> Tensor { map { min(max($0, low), high) } }

    /// Sign of every scalar (0 stays 0), as used by FGSM.
    public func sign() -> Tensor { map { $0 > 0 ? 1 : ($0 < 0 ? -1 : 0) } }

    /// Sum of all scalars, accumulated in Double.
    public func sum() -> Double {
        scalars.withUnsafeBufferPointer { b in
            var s = 0.0
            for v in b { s += Double(v) }
            return s
        }
    }

    /// Mean of all scalars.
    public func mean() -> Double { count == 0 ? 0 : sum() / Double(count) }

    /// Largest absolute scalar.
    public func maxAbs() -> Float { scalars.reduce(0) { max($0, abs($1)) } }

    /// Whether every scalar is finite (no NaN or ±Inf).
    public var isFinite: Bool { scalars.withUnsafeBufferPointer { b in b.allSatisfy { $0.isFinite } } }

    /// Row-wise argmax of a `[N, K]` tensor.
    public func argmaxRows() -> [Int] {
        precondition(rank == 2, "argmaxRows needs [N, K], got \(shape)")
        let k = shape[1]
        return scalars.withUnsafeBufferPointer { b in
            (0..<shape[0]).map { row in
                var best = 0
                var bestValue = -Float.infinity
                for j in 0..<k where b[row * k + j] > bestValue {
                    bestValue = b[row * k + j]
                    best = j
                }
                return best
            }
        }
    }

    /// ‖row‖² of every batch element of a `[N, …]` tensor (the norms of the GEMM distance identity
    /// ‖a − b‖² = ‖a‖² + ‖b‖² − 2 a·b).
    public func rowSquaredNorms() -> [Float] {
        let f = featureCount
        return scalars.withUnsafeBufferPointer { b in
            (0..<batchCount).map { row in
                var sum: Float = 0
                for k in (row * f)..<((row + 1) * f) { sum += b[k] * b[k] }
                return sum
            }
        }
    }

    /// Per-example norms of a `[N, …]` tensor: `p` is 0 (non-zero count), 1, 2 or `.infinity`.
    public func normsPerExample(p: Double, zeroTolerance: Float = 0) -> [Float] {
        let f = featureCount
        return scalars.withUnsafeBufferPointer { b in
            (0..<batchCount).map { row in
                let values = UnsafeBufferPointer(rebasing: b[(row * f)..<((row + 1) * f)])
                switch p {
                case 0: return Float(values.reduce(0) { $0 + (abs($1) > zeroTolerance ? 1 : 0) })
                case 1: return Float(values.reduce(0.0) { $0 + Double(abs($1)) })
                case 2: return Float(values.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot())
                default: return values.reduce(0) { max($0, abs($1)) }
                }
            }
        }
    }
}
