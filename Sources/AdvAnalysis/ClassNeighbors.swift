import AdvTensor
import Foundation

/// Each image's nearest neighbour of the same class and of another class, over a whole set
/// (e.g. all 70,000 MNIST images): the numbers behind condition (2).
public struct ClassNeighbors: Sendable {
    /// Distance to the nearest other image of the same class (and its index).
    public var sameClass: [NearestNeighbors.Match]
    /// Distance to the nearest image of any other class (and its index).
    public var otherClass: [NearestNeighbors.Match]
}

extension NearestNeighbors {
    /// Nearest same-class and other-class neighbours of every image of `images` among all
    /// others, under L2 or L∞.
    ///
    /// L2: blocks of queries × blocks of memory through the GEMM (‖q‖² + ‖m‖² − 2 q·m), memory
    /// bounded by the block sizes. L∞: pixels reordered by decreasing variance (where images
    /// differ most), then each pair is scanned 16 pixels at a time with SIMD and abandoned as soon
    /// as it cannot beat the best so far for its class relation.
    /// images: [N, …]; labels: N
    public static func classNeighbors(images: Tensor, labels: [Int], norm: DistanceNorm,
                                      queryBlock: Int = 2048, memoryBlock: Int = 4096) -> ClassNeighbors {
        precondition(norm == .l2 || norm == .linf, "classNeighbors supports l2 and linf")
        return norm == .l2 ? classNeighborsL2(images: images, labels: labels, queryBlock: queryBlock, memoryBlock: memoryBlock)
            : classNeighborsLinf(images: images, labels: labels)
    }

    static func classNeighborsL2(images: Tensor, labels: [Int], queryBlock: Int, memoryBlock: Int) -> ClassNeighbors {
        let n = images.batchCount, d = images.featureCount
        let norms = images.rowSquaredNorms()
        let none = Match(index: -1, distance: .infinity)
        var same = [Match](repeating: none, count: n), other = same
        var products = [Float](repeating: 0, count: queryBlock * memoryBlock)
        images.scalars.withUnsafeBufferPointer { buffer in
            let x = buffer.baseAddress!
            var queryStart = 0
            while queryStart < n {
                let queryEnd = min(n, queryStart + queryBlock), rows = queryEnd - queryStart
                var memoryStart = 0
                while memoryStart < n {
                    let memoryEnd = min(n, memoryStart + memoryBlock), width = memoryEnd - memoryStart
                    products.withUnsafeMutableBufferPointer { p in
                        gemm(transposeA: false, transposeB: true, m: rows, n: width, k: d, a: x + queryStart * d, lda: d,
                             b: x + memoryStart * d, ldb: d, c: p.baseAddress!, ldc: width)
                    }
                    products.withUnsafeBufferPointer { p in
                        same.withUnsafeMutableBufferPointer { sameBuffer in
                            other.withUnsafeMutableBufferPointer { otherBuffer in
                                let pb = p.baseAddress!, sb = sameBuffer.baseAddress!, ob = otherBuffer.baseAddress!
                                Parallel.forEachChunk(rows, minimumChunk: 16) { chunk in
                                    for row in chunk {
                                        let q = queryStart + row, label = labels[q], qNorm = norms[q]
                                        var bestSame = sb[q], bestOther = ob[q]
                                        let line = pb + row * width
                                        for j in 0..<width {
                                            let m = memoryStart + j
                                            if m == q { continue }
                                            let squared = max(0, qNorm + norms[m] - 2 * line[j])
                                            if labels[m] == label {
                                                if squared < bestSame.distance { bestSame = Match(index: m, distance: squared) }
                                            } else if squared < bestOther.distance {
                                                bestOther = Match(index: m, distance: squared)
                                            }
                                        }
                                        sb[q] = bestSame
                                        ob[q] = bestOther
                                    }
                                }
                            }
                        }
                    }
                    memoryStart = memoryEnd
                }
                queryStart = queryEnd
            }
        }
        let root: (Match) -> Match = { Match(index: $0.index, distance: $0.distance.squareRoot()) }
        return ClassNeighbors(sameClass: same.map(root), otherClass: other.map(root))
    }

    static func classNeighborsLinf(images: Tensor, labels: [Int]) -> ClassNeighbors {
        let n = images.batchCount, d = images.featureCount
        let lanes = 16
        let padded = (d + lanes - 1) / lanes * lanes
        // Pixel order: decreasing variance, so that pairs are abandoned after few chunks.
        var mean = [Double](repeating: 0, count: d), variance = mean
        for i in 0..<n { for k in 0..<d { mean[k] += Double(images.scalars[i * d + k]) } }
        for k in 0..<d { mean[k] /= Double(max(1, n)) }
        for i in 0..<n { for k in 0..<d { let v = Double(images.scalars[i * d + k]) - mean[k]; variance[k] += v * v } }
        let order = (0..<d).sorted { variance[$0] > variance[$1] }
        // Reordered, zero-padded copy as SIMD16 chunks: [N, padded / 16].
        let chunksPerImage = padded / lanes
        var packed = [SIMD16<Float>](repeating: .zero, count: n * chunksPerImage)
        for i in 0..<n {
            for (position, pixel) in order.enumerated() {
                packed[i * chunksPerImage + position / lanes][position % lanes] = images.scalars[i * d + pixel]
            }
        }
        let none = Match(index: -1, distance: .infinity)
        var same = [Match](repeating: none, count: n), other = same
        packed.withUnsafeBufferPointer { packedBuffer in
            same.withUnsafeMutableBufferPointer { sameBuffer in
                other.withUnsafeMutableBufferPointer { otherBuffer in
                    let x = packedBuffer.baseAddress!, sb = sameBuffer.baseAddress!, ob = otherBuffer.baseAddress!
                    Parallel.forEachChunk(n, minimumChunk: 64) { chunk in
                        for q in chunk {
                            let query = x + q * chunksPerImage, label = labels[q]
                            var bestSame = none, bestOther = none
                            for m in 0..<n where m != q {
                                let isSame = labels[m] == label
                                let bound = isSame ? bestSame.distance : bestOther.distance
                                let candidate = x + m * chunksPerImage
                                var largest: Float = 0
                                var c = 0
                                while c < chunksPerImage {
                                    let difference = query[c] - candidate[c]
                                    largest = max(largest, pointwiseMax(difference, -difference).max())
                                    if largest >= bound { break }
                                    c += 1
                                }
                                if largest < bound {
                                    if isSame { bestSame = Match(index: m, distance: largest) } else { bestOther = Match(index: m, distance: largest) }
                                }
                            }
                            sb[q] = bestSame
                            ob[q] = bestOther
                        }
                    }
                }
            }
        }
        return ClassNeighbors(sameClass: same, otherClass: other)
    }
}
