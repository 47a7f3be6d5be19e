import AdvNN
import AdvTensor

/// The embedding network of a triplet network (Hoffer & Ailon, "Deep Metric Learning Using
/// Triplet Network", 2015; FaceNet's L2-normalised embedding and semi-hard mining, Schroff,
/// Kalenichenko & Philbin 2015): the post's proposal for measuring ε where distances carry
/// meaning. conv 5×5×32 → ReLU → pool → conv 5×5×64 → ReLU → pool → FC 256 → ReLU → FC D → ‖·‖₂ = 1.
public final class TripletEmbedding: ParameterContainer {
    public static let architecture = "triplet-cnn"

    public let dimension: Int
    public let conv1: Conv2d
    public let conv2: Conv2d
    public let fc1: Linear
    public let fc2: Linear
    private let pool = MaxPool2d(kernelSize: 2)
    private let relu = ReLU()
    private let flatten = Flatten()

    public init(dimension: Int = 32, using rng: inout some RandomNumberGenerator) {
        self.dimension = dimension
        conv1 = Conv2d(inputChannels: 1, outputChannels: 32, kernelSize: 5, padding: 2, using: &rng)
        conv2 = Conv2d(inputChannels: 32, outputChannels: 64, kernelSize: 5, padding: 2, using: &rng)
        fc1 = Linear(inputSize: 7 * 7 * 64, outputSize: 256, using: &rng)
        fc2 = Linear(inputSize: 256, outputSize: dimension, using: &rng)
    }

    public var namedParameters: [(String, Parameter)] {
        prefixed("conv1", conv1.namedParameters) + prefixed("conv2", conv2.namedParameters)
            + prefixed("fc1", fc1.namedParameters) + prefixed("fc2", fc2.namedParameters)
    }

    /// Unit-length embeddings and their pullback. images01: [N, 1, 28, 28] -> [N, D]
    public func forward(_ images01: Tensor, mode firstMode: ForwardMode) -> (Tensor, Pullback) {
        let mode = firstMode.needingInputGradient
        let (c1, c1Back) = conv1.forward(images01, mode: firstMode)
        let (r1, r1Back) = relu.forward(c1, mode: mode)
        let (p1, p1Back) = pool.forward(r1, mode: mode)
        let (c2, c2Back) = conv2.forward(p1, mode: mode)
        let (r2, r2Back) = relu.forward(c2, mode: mode)
        let (p2, p2Back) = pool.forward(r2, mode: mode)
        let (flat, flatBack) = flatten.forward(p2, mode: mode)
        let (h, hBack) = fc1.forward(flat, mode: mode)
        let (a, aBack) = relu.forward(h, mode: mode)
        let (raw, rawBack) = fc2.forward(a, mode: mode)
        let (embedding, normalizeBack) = l2Normalize(raw)
        return (
            embedding,
            { dEmbedding in
                let dRaw = normalizeBack(dEmbedding)
                let dA = rawBack(dRaw)
                let dH = aBack(dA)
                let dFlat = hBack(dH)
                let dP2 = flatBack(dFlat)
                let dR2 = p2Back(dP2)
                let dC2 = r2Back(dR2)
                let dP1 = c2Back(dC2)
                let dR1 = p1Back(dP1)
                let dC1 = r1Back(dR1)
                return c1Back(dC1)
            }
        )
    }

    /// Embeddings in evaluation mode, batched. images01: [N, 1, 28, 28] -> [N, D]
    public func embed(_ images01: Tensor, batchSize: Int = 500) -> Tensor {
        images01.mapBatches(batchSize) { forward($0, mode: .eval).0 }
    }
}

/// Row-wise `x / ‖x‖₂` and its pullback `(g − y (y·g)) / ‖x‖`. x: [N, D] -> [N, D]
public func l2Normalize(_ x: Tensor) -> (Tensor, Pullback) {
    let n = x.shape[0]
    let d = x.shape[1]
    var norms = [Float](repeating: 0, count: n)
    var y = x
    for row in 0..<n {
        var squared: Float = 0
        for j in 0..<d { squared += x.scalars[row * d + j] * x.scalars[row * d + j] }
        norms[row] = max(squared.squareRoot(), 1e-12)
        for j in 0..<d { y.scalars[row * d + j] /= norms[row] }
    }
    return (
        y,
        { dy in
            var dx = dy
            for row in 0..<n {
                var dot: Float = 0
                for j in 0..<d { dot += y.scalars[row * d + j] * dy.scalars[row * d + j] }
                for j in 0..<d { dx.scalars[row * d + j] = (dy.scalars[row * d + j] - y.scalars[row * d + j] * dot) / norms[row] }
            }
            return dx
        }
    )
}
