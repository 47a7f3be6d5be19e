import AdvTensor

/// k-nearest-neighbour classification in a triplet embedding, with a labelled memory (the
/// training set): the independent reference the post suggests for "did the class change?".
public struct EmbeddingKNN {
    public let embedding: TripletEmbedding
    /// Embeddings of the memory. [M, D]
    public let memory: Tensor
    public let memoryLabels: [Int]

    /// Embeds `images01` ([M, 1, 28, 28]) as the memory.
    public init(embedding: TripletEmbedding, images01: Tensor, labels: [Int]) {
        self.embedding = embedding
        self.memory = embedding.embed(images01)
        self.memoryLabels = labels
    }

    /// Majority label of the k nearest memory embeddings (ties: the nearer neighbour's label).
    /// images01: [N, 1, 28, 28] -> N labels for each requested k
    public func predict(_ images01: Tensor, ks: [Int] = [1, 5]) -> [Int: [Int]] {
        predict(embeddings: embedding.embed(images01), ks: ks)
    }

    /// Same, from embeddings already computed. embeddings: [N, D]
    public func predict(embeddings queries: Tensor, ks: [Int] = [1, 5]) -> [Int: [Int]] {
        let kMax = ks.max() ?? 1
        let neighbors = kNearest(queries: queries, memory: memory, k: kMax)
        var result: [Int: [Int]] = [:]
        for k in ks {
            result[k] = neighbors.map { list in
                var votes = [Int: Int]()
                for index in list.prefix(k) { votes[memoryLabels[index], default: 0] += 1 }
                let best = votes.values.max() ?? 0
                // Among the labels with the most votes, the one of the nearest neighbour.
                return list.prefix(k).map { memoryLabels[$0] }.first { votes[$0] == best } ?? 0
            }
        }
        return result
    }
}

/// Indices of the k nearest memory rows (squared L2 via GEMM), nearest first, per query.
/// queries: [N, D], memory: [M, D] -> N lists of k indices
public func kNearest(queries: Tensor, memory: Tensor, k: Int, block: Int = 1024) -> [[Int]] {
    let n = queries.batchCount
    let m = memory.batchCount
    let memoryNorms = memory.rowSquaredNorms()
    var result = [[Int]](repeating: [], count: n)
    var start = 0
    while start < n {
        let end = min(n, start + block)
        let products = queries.slice(start..<end).matmul(memory, transposeOther: true)  // [B, M]
        result.withUnsafeMutableBufferPointer { out in
            let base = out.baseAddress!
            Parallel.forEachChunk(end - start, minimumChunk: 8) { rows in
                for row in rows {
                    // Keep the k best of ‖m‖² − 2 q·m (‖q‖² is the same for every m).
                    var best: [(Float, Int)] = []
                    best.reserveCapacity(k + 1)
                    for j in 0..<m {
                        let score = memoryNorms[j] - 2 * products.scalars[row * m + j]
                        if best.count < k || score < best[best.count - 1].0 {
                            var position = best.count
                            while position > 0 && best[position - 1].0 > score { position -= 1 }
                            best.insert((score, j), at: position)
                            if best.count > k { best.removeLast() }
                        }
                    }
                    base[start + row] = best.map(\.1)
                }
            }
        }
        start = end
    }
    return result
}
