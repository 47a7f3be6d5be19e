import AdvNN
import AdvTensor

/// The four arithmetic operators of ONNX graphs (`Add`, `Sub`, `Mul`, `Div`).
enum ArithmeticOperation: String, Sendable {
    case add = "Add"
    case subtract = "Sub"
    case multiply = "Mul"
    case divide = "Div"
}

/// `x ∘ c`, or `c ∘ x` when `constantFirst`, for a constant `c` broadcast to one example
/// (`constant` holds its F scalars, already expanded): an exported model's input normalisation
/// (`(x − mean) / std`) and a `MatMul`'s bias. The pullback is ∂y, ±∂y, ∂y·c, ∂y/c or
/// −∂y·c/x² by the operation.
struct ConstantArithmetic: Layer {
    let operation: ArithmeticOperation
    let constant: [Float]  // [F], one example's shape flattened
    let constantFirst: Bool

    // x: [N, …] with F scalars per example -> same shape
    func forward(_ x: Tensor, mode: ForwardMode) -> (Tensor, Pullback) {
        let constant = self.constant
        let features = constant.count
        precondition(x.featureCount == features, "\(operation.rawValue) with a constant of \(features) scalars got \(x.shape)")
        let operation = self.operation
        let constantFirst = self.constantFirst
        let y = Self.rows(x, constant) { v, c, out, count in
            switch (operation, constantFirst) {
            case (.add, _): for i in 0..<count { out[i] = v[i] + c[i] }
            case (.subtract, false): for i in 0..<count { out[i] = v[i] - c[i] }
            case (.subtract, true): for i in 0..<count { out[i] = c[i] - v[i] }
            case (.multiply, _): for i in 0..<count { out[i] = v[i] * c[i] }
            case (.divide, false): for i in 0..<count { out[i] = v[i] / c[i] }
            case (.divide, true): for i in 0..<count { out[i] = c[i] / v[i] }
            }
        }
        return (
            y,
            { dy in
                precondition(dy.shape == x.shape, "\(operation.rawValue) pullback got \(dy.shape), expected \(x.shape)")
                switch (operation, constantFirst) {
                case (.add, _), (.subtract, false): return dy
                case (.subtract, true): return Self.rows(dy, constant) { g, _, out, count in for i in 0..<count { out[i] = -g[i] } }
                case (.multiply, _): return Self.rows(dy, constant) { g, c, out, count in for i in 0..<count { out[i] = g[i] * c[i] } }
                case (.divide, false): return Self.rows(dy, constant) { g, c, out, count in for i in 0..<count { out[i] = g[i] / c[i] } }
                case (.divide, true):
                    // ∂(c/x)/∂x = −c/x² = −y/x
                    return Self.rows(dy, constant, extra: x) { g, c, v, out, count in
                        for i in 0..<count { out[i] = -g[i] * c[i] / (v[i] * v[i]) }
                    }
                }
            }
        )
    }

    /// `kernel(row, constant, output, F)` on each example's row of `x`, rows split over the cores.
    @inline(__always)
    static func rows(
        _ x: Tensor, _ constant: [Float],
        _ kernel: (UnsafePointer<Float>, UnsafePointer<Float>, UnsafeMutablePointer<Float>, Int) -> Void
    ) -> Tensor {
        rows(x, constant, extra: x) { v, c, _, out, count in kernel(v, c, out, count) }
    }

    /// `kernel(row, constant, extraRow, output, F)`.
    typealias RowKernel = (UnsafePointer<Float>, UnsafePointer<Float>, UnsafePointer<Float>, UnsafeMutablePointer<Float>, Int) -> Void

    /// As `rows(_:_:_:)` with the matching row of a second tensor `extra` of `x`'s shape.
    @inline(__always)
    static func rows(
        _ x: Tensor, _ constant: [Float], extra: Tensor,
        _ kernel: RowKernel
    ) -> Tensor {
        let features = constant.count
        let count = x.count
        guard count > 0, features > 0 else { return x }
        let n = count / features
        let scalars = [Float](unsafeUninitializedCapacity: count) { output, initialized in
            x.scalars.withUnsafeBufferPointer { xs in
                extra.scalars.withUnsafeBufferPointer { es in
                    constant.withUnsafeBufferPointer { cs in
                        let xb = xs.baseAddress!
                        let eb = es.baseAddress!
                        let cb = cs.baseAddress!
                        let ob = output.baseAddress!
                        Parallel.forEachChunk(n, minimumChunk: max(1, 16_384 / features)) { range in
                            for row in range { kernel(xb + row * features, cb, eb + row * features, ob + row * features, features) }
                        }
                    }
                }
            }
            initialized = count
        }
        return Tensor(shape: x.shape, scalars: scalars)
    }
}

/// `a ∘ b` for two computed values of one shape (a residual connection's `Add`).
/// a, b: [N, …] -> [N, …]; the pullback returns (∂a, ∂b).
func valueArithmetic(_ operation: ArithmeticOperation, _ a: Tensor, _ b: Tensor) -> (Tensor, (Tensor) -> (Tensor, Tensor)) {
    precondition(a.shape == b.shape, "\(operation.rawValue) of \(a.shape) and \(b.shape)")
    switch operation {
    case .add: return (a + b, { dy in (dy, dy) })
    case .subtract: return (a - b, { dy in (dy, dy * -1) })
    case .multiply: return (a * b, { dy in (dy * b, dy * a) })
    case .divide:
        let y = a.zipMap(b, /)
        return (y, { dy in (dy.zipMap(b, /), (dy * y).zipMap(b) { -$0 / $1 }) })
    }
}
