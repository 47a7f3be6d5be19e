import AdvTensor

/// The triplet loss with batch-wise semi-hard mining (Schroff et al. 2015, FaceNet):
/// for every anchor–positive pair (a, p) of the batch, the negative n with the smallest
/// `d(a, n) > d(a, p)` (semi-hard); when none is farther than the positive, the farthest
/// negative (as TensorFlow's `triplet_semihard_loss`). Loss: mean over pairs of
/// `max(d(a, p) − d(a, n) + margin, 0)`, with d the squared Euclidean distance.
/// embeddings: [N, D]; labels: N -> (loss, ∂loss/∂embeddings [N, D], active triplets)
public func tripletSemiHardLoss(embeddings: Tensor, labels: [Int], margin: Float) -> (loss: Float, gradient: Tensor, activeTriplets: Int) {
    let n = embeddings.shape[0]
    let d = embeddings.shape[1]
    let e = embeddings.scalars
    var distances = [Float](repeating: 0, count: n * n)
    for i in 0..<n {
        for j in (i + 1)..<max(i + 1, n) {
            var s: Float = 0
            for k in 0..<d {
                let diff = e[i * d + k] - e[j * d + k]
                s += diff * diff
            }
            distances[i * n + j] = s
            distances[j * n + i] = s
        }
    }
    var gradient = Tensor.zeros([n, d])
    var total: Float = 0
    var pairs = 0
    var active = 0
    for a in 0..<n {
        for p in 0..<n where p != a && labels[p] == labels[a] {
            pairs += 1
            let dap = distances[a * n + p]
            var semiHard = -1
            var semiHardDistance = Float.infinity
            var farthest = -1
            var farthestDistance = -Float.infinity
            for candidate in 0..<n where labels[candidate] != labels[a] {
                let dan = distances[a * n + candidate]
                if dan > dap && dan < semiHardDistance {
                    semiHard = candidate
                    semiHardDistance = dan
                }
                if dan > farthestDistance {
                    farthest = candidate
                    farthestDistance = dan
                }
            }
            let negative = semiHard >= 0 ? semiHard : farthest
            guard negative >= 0 else { continue }
            let value = dap - distances[a * n + negative] + margin
            guard value > 0 else { continue }
            total += value
            active += 1
            // ∂(‖a − p‖² − ‖a − n‖²): a gets 2(a − p) − 2(a − n) = 2(n − p); p gets −2(a − p); n gets 2(a − n).
            for k in 0..<d {
                let ea = e[a * d + k]
                let ep = e[p * d + k]
                let en = e[negative * d + k]
                gradient.scalars[a * d + k] += 2 * (en - ep)
                gradient.scalars[p * d + k] += -2 * (ea - ep)
                gradient.scalars[negative * d + k] += 2 * (ea - en)
            }
        }
    }
    let scale = 1 / Float(max(1, pairs))
    return (total * scale, gradient * scale, active)
}
