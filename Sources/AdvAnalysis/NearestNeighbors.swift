import AdvTensor
import Foundation

/// Nearest neighbours under L2 and L∞ between query images and a memory of images.
///
/// L2 goes through the GEMM: ‖q − m‖² = ‖q‖² + ‖m‖² − 2 q·m, one `[Q, D] · [D, M]` product per
/// block of memory rows. L∞ has no such identity; it is a blocked loop over memory rows with the
/// running minimum used to abandon a row as soon as one coordinate exceeds it.
public enum NearestNeighbors {
    public struct Match: Sendable, Equatable {
        public var index: Int
        public var distance: Float
    }

    /// For each query row, the nearest memory row in L2 (excluding `exclude[q]`, e.g. itself).
    /// queries: [Q, …], memory: [M, …] with equal feature counts.
    public static func nearestL2(queries: Tensor, memory: Tensor, exclude: [Int]? = nil, blockSize: Int = 4096) -> [Match] {
        let q = queries.batchCount
        let m = memory.batchCount
        let d = queries.featureCount
        precondition(memory.featureCount == d, "nearestL2: feature counts \(d) and \(memory.featureCount)")
        let queryNorms = queries.rowSquaredNorms()
        let memoryNorms = memory.rowSquaredNorms()
        var best = [Match](repeating: Match(index: -1, distance: .infinity), count: q)
        var start = 0
        while start < m {
            let end = min(m, start + blockSize)
            let width = end - start
            var products = [Float](repeating: 0, count: q * width)
            queries.scalars.withUnsafeBufferPointer { a in
                memory.scalars.withUnsafeBufferPointer { b in
                    products.withUnsafeMutableBufferPointer { c in
                        gemm(
                            transposeA: false, transposeB: true, m: q, n: width, k: d, a: a.baseAddress!, lda: d,
                            b: b.baseAddress! + start * d, ldb: d, c: c.baseAddress!, ldc: width)
                    }
                }
            }
            best.withUnsafeMutableBufferPointer { bestBuffer in
                let bestBase = bestBuffer.baseAddress!
                products.withUnsafeBufferPointer { p in
                    Parallel.forEachChunk(q, minimumChunk: max(1, 65_536 / max(1, width))) { rows in
                        for row in rows {
                            var current = bestBase[row]
                            let skip = exclude?[row] ?? -1
                            for j in 0..<width where start + j != skip {
                                let squared = max(0, queryNorms[row] + memoryNorms[start + j] - 2 * p[row * width + j])
                                if squared < current.distance { current = Match(index: start + j, distance: squared) }
                            }
                            bestBase[row] = current
                        }
                    }
                }
            }
            start = end
        }
        return best.map { Match(index: $0.index, distance: $0.distance.squareRoot()) }
    }

    /// For each query row, the nearest memory row in L∞ (excluding `exclude[q]`).
    public static func nearestLinf(queries: Tensor, memory: Tensor, exclude: [Int]? = nil) -> [Match] {
        let q = queries.batchCount
        let m = memory.batchCount
        let d = queries.featureCount
        precondition(memory.featureCount == d, "nearestLinf: feature counts \(d) and \(memory.featureCount)")
        var best = [Match](repeating: Match(index: -1, distance: .infinity), count: q)
        queries.scalars.withUnsafeBufferPointer { a in
            memory.scalars.withUnsafeBufferPointer { b in
                best.withUnsafeMutableBufferPointer { bestBuffer in
                    let bestBase = bestBuffer.baseAddress!
                    let qa = a.baseAddress!
                    let mb = b.baseAddress!
                    Parallel.forEachChunk(q, minimumChunk: 1) { rows in
                        for row in rows {
                            var current = Match(index: -1, distance: .infinity)
                            let skip = exclude?[row] ?? -1
                            let query = qa + row * d
                            for j in 0..<m where j != skip {
                                let candidate = mb + j * d
                                var largest: Float = 0
                                var k = 0
                                // Abandon the row once it can no longer beat the best so far.
                                while k < d {
                                    let end = min(d, k + 64)
                                    while k < end {
                                        largest = max(largest, abs(query[k] - candidate[k]))
                                        k += 1
                                    }
                                    if largest >= current.distance { break }
                                }
                                if largest < current.distance { current = Match(index: j, distance: largest) }
                            }
                            bestBase[row] = current
                        }
                    }
                }
            }
        }
        return best
    }

    /// Plain reference: every pair, in Double. For tests.
    public static func referenceNearest(queries: Tensor, memory: Tensor, p: Double, exclude: [Int]? = nil) -> [Match] {
        let d = queries.featureCount
        return (0..<queries.batchCount).map { row in
            var best = Match(index: -1, distance: .infinity)
            for j in 0..<memory.batchCount where j != (exclude?[row] ?? -1) {
                var value = 0.0
                for k in 0..<d {
                    let diff = abs(Double(queries.scalars[row * d + k]) - Double(memory.scalars[j * d + k]))
                    value = p.isInfinite ? max(value, diff) : value + diff * diff
                }
                let distance = Float(p.isInfinite ? value : value.squareRoot())
                if distance < best.distance { best = Match(index: j, distance: distance) }
            }
            return best
        }
    }

}

extension NearestNeighbors {
    /// For each image, its L2 and L∞ distance to the nearest `memory` image of its own class
    /// (e.g. an unrestricted example against the training images of its source class).
    /// images: [N, 1, 28, 28]; classes: N; memory: [M, …]; memoryLabels: M -> N distances each
    public static func nearestOfClass(_ images: Tensor, classes: [Int], memory: Tensor, memoryLabels: [Int]) -> (l2: [Float], linf: [Float])
    {
        var l2 = [Float](repeating: .infinity, count: classes.count)
        var linf = l2
        for digit in Set(classes) {
            let members = classes.indices.filter { classes[$0] == digit }
            let queries = images.gather(members)
            let candidates = memory.gather(memoryLabels.indices.filter { memoryLabels[$0] == digit })
            guard candidates.batchCount > 0 else { continue }
            let nearestL2 = NearestNeighbors.nearestL2(queries: queries, memory: candidates)
            let nearestLinf = NearestNeighbors.nearestLinf(queries: queries, memory: candidates)
            for (row, example) in members.enumerated() {
                l2[example] = nearestL2[row].distance
                linf[example] = nearestLinf[row].distance
            }
        }
        return (l2, linf)
    }
}
