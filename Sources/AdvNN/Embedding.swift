import AdvTensor

/// A lookup table `[count, dimension]` (class embeddings of the AC-GAN generator).
/// Its input is integer indices, so the pullback has no input gradient: it only accumulates
/// ∂table rows.
public final class Embedding: ParameterContainer {
    public let table: Parameter  // [count, dimension]

    /// Rows drawn from N(0, 1), as PyTorch's `nn.Embedding`.
    public init(count: Int, dimension: Int, using rng: inout some RandomNumberGenerator) {
        table = Parameter(.randomNormal([count, dimension], using: &rng))
    }

    public var namedParameters: [(String, Parameter)] { [("weight", table)] }
    public var count: Int { table.value.shape[0] }
    public var dimension: Int { table.value.shape[1] }

    // indices: [N] in 0..<count -> [N, dimension]
    public func forward(_ indices: [Int], mode: ForwardMode) -> (Tensor, (Tensor) -> Void) {
        precondition(indices.allSatisfy { $0 >= 0 && $0 < count }, "Embedding index out of 0..<\(count)")
        let y = table.value.gather(indices)
        let table = self.table
        let d = dimension
        return (
            y,
            { dy in
                guard mode.parameterGradients else { return }
                precondition(dy.shape == [indices.count, d], "Embedding pullback got \(dy.shape)")
                for (row, index) in indices.enumerated() {
                    for j in 0..<d { table.gradient.scalars[index * d + j] += dy.scalars[row * d + j] }
                }
            }
        )
    }
}
