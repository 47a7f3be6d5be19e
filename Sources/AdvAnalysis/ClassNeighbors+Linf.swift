import AdvTensor
import Foundation

// The L∞ class-neighbour scan. L∞ has no GEMM identity, so every pair is looked at; what makes
// 70,000² pairs affordable is abandoning a pair after its first 32 pixels:
//  - MNIST pixels are exactly k/255, so the scan runs on UInt8 codes (16 pixels per SSE
//    register instead of 4) and is exact; other data takes the Float kernel below.
//  - Pixels are permuted into decreasing variance, so the first 32 are where images differ most.
//  - Each query starts with both bounds at real candidates (its seeds, e.g. its L2 neighbours),
//    and candidates come class by class, so a block of queries of one class compares against a
//    whole range of candidates with one bound each.
//  - The first 32 pixels of every image sit in one dense array (2.2 MB for 70,000 images), read
//    once per block of 16 queries.

@inline(__always) private func maximum(_ a: SIMD16<UInt8>, _ b: SIMD16<UInt8>) -> SIMD16<UInt8> {
    // `replacing(with:where:)` inlines to pmaxub; the generic `pointwiseMax` is an out-of-line call.
    a.replacing(with: b, where: a .< b)
}

@inline(__always) private func absoluteDifference(_ a: SIMD16<UInt8>, _ b: SIMD16<UInt8>) -> SIMD16<UInt8> {
    a.replacing(with: b, where: a .< b) &- a.replacing(with: b, where: b .< a)
}

/// Whether some lane of `a` is ≥ the same lane of `bound` (a movemask, not the generic `any`).
@inline(__always) private func anyAtLeast(_ a: SIMD16<UInt8>, _ bound: SIMD16<UInt8>) -> Bool {
    let mask = unsafeBitCast(a .>= bound, to: SIMD2<UInt64>.self)
    return (mask[0] | mask[1]) != 0
}

/// Images as UInt8 codes in class-sorted order, pixels permuted by decreasing variance and
/// zero-padded to whole 16-byte vectors, plus the dense array of every image's first two vectors.
struct ByteImages {
    static let headVectors = 2
    let vectorsPerImage: Int
    var rows: [SIMD16<UInt8>]
    var heads: [SIMD16<UInt8>]

    /// nil when some pixel is not k/255 for an integer k in 0…255 (then only the Float kernel is exact).
    init?(images: Tensor, order: ClassOrder) {
        let n = images.batchCount
        let d = images.featureCount
        var codes = [UInt8](repeating: 0, count: n * d)
        for (i, value) in images.scalars.enumerated() {
            let scaled = value * 255
            let code = scaled.rounded()
            // k/255 in Float, however it was rounded, is within 1e-4 of k after × 255.
            guard code >= 0, code <= 255, abs(scaled - code) <= 1e-3 else { return nil }
            codes[i] = UInt8(code)
        }
        var mean = [Double](repeating: 0, count: d)
        var squares = mean
        for i in 0..<n {
            for k in 0..<d {
                let v = Double(codes[i * d + k])
                mean[k] += v
                squares[k] += v * v
            }
        }
        let variance = (0..<d).map { squares[$0] / Double(max(1, n)) - (mean[$0] / Double(max(1, n))) * (mean[$0] / Double(max(1, n))) }
        let pixelOrder = (0..<d).sorted { (variance[$0], $1) > (variance[$1], $0) }
        vectorsPerImage = max(Self.headVectors, (d + 15) / 16)
        rows = [SIMD16<UInt8>](repeating: .zero, count: n * vectorsPerImage)
        heads = [SIMD16<UInt8>](repeating: .zero, count: n * Self.headVectors)
        for (position, image) in order.originalIndex.enumerated() {
            for (k, pixel) in pixelOrder.enumerated() { rows[position * vectorsPerImage + k / 16][k % 16] = codes[image * d + pixel] }
            for v in 0..<Self.headVectors { heads[position * Self.headVectors + v] = rows[position * vectorsPerImage + v] }
        }
    }
}

extension NearestNeighbors {
    /// L∞ class neighbours, exact: the UInt8 kernel when every pixel is k/255, else the Float kernel.
    /// `seeds` (indices into `images`, e.g. the L2 class neighbours) only speed it up.
    static func classNeighborsLinf(images: Tensor, labels: [Int], seeds: ClassNeighbors?) -> ClassNeighbors {
        let order = ClassOrder(labels: labels)
        guard let bytes = ByteImages(images: images, order: order) else {
            return classNeighborsLinfFloat(images: images, labels: labels)
        }
        var position = [Int](repeating: 0, count: labels.count)
        for (p, image) in order.originalIndex.enumerated() { position[image] = p }
        let seedPositions: [(same: Int, other: Int)] = order.originalIndex.map { image in
            (
                seeds.map { $0.sameClass[image].index >= 0 ? position[$0.sameClass[image].index] : -1 } ?? -1,
                seeds.map { $0.otherClass[image].index >= 0 ? position[$0.otherClass[image].index] : -1 } ?? -1
            )
        }
        let (same, other) = byteClassNeighbors(bytes, order: order, seeds: seedPositions)
        return ClassNeighbors(
            sameClass: exactMatches(same, order: order, images: images, norm: .linf),
            otherClass: exactMatches(other, order: order, images: images, norm: .linf))
    }

    /// The UInt8 scan; matches in class-sorted positions, distances in codes (0…255).
    static func byteClassNeighbors(
        _ bytes: ByteImages, order: ClassOrder, seeds: [(same: Int, other: Int)],
        queryBlock: Int = 16
    ) -> (same: [Match], other: [Match]) {
        let n = order.sortedLabels.count
        let vectors = bytes.vectorsPerImage
        let h = ByteImages.headVectors
        let none = Match(index: -1, distance: .infinity)
        var same = [Match](repeating: none, count: n)
        var other = same
        // Query blocks never straddle two classes: one bound per query per candidate segment.
        var blocks: [(label: Int, range: Range<Int>)] = []
        for segment in order.segments {
            for lower in stride(from: segment.range.lowerBound, to: segment.range.upperBound, by: queryBlock) {
                blocks.append((segment.label, lower..<min(segment.range.upperBound, lower + queryBlock)))
            }
        }
        bytes.rows.withUnsafeBufferPointer { rowBuffer in
            bytes.heads.withUnsafeBufferPointer { headBuffer in
                same.withUnsafeMutableBufferPointer { sameBuffer in
                    other.withUnsafeMutableBufferPointer { otherBuffer in
                        guard let rows = rowBuffer.baseAddress, let heads = headBuffer.baseAddress,
                            let sameOut = sameBuffer.baseAddress, let otherOut = otherBuffer.baseAddress
                        else { return }
                        // Exact L∞ between two positions, in codes.
                        func distance(_ a: Int, _ b: Int) -> UInt8 {
                            var largest = SIMD16<UInt8>.zero
                            for v in 0..<vectors {
                                largest = maximum(largest, absoluteDifference(rows[a * vectors + v], rows[b * vectors + v]))
                            }
                            return largest.max()
                        }
                        // Blocks dealt round-robin (classes differ in cost, so contiguous halves would not balance).
                        let workers = min(Parallel.threadCount, blocks.count)
                        Parallel.forEach(workers) { worker in
                            let queryHeads = UnsafeMutablePointer<SIMD16<UInt8>>.allocate(capacity: queryBlock * h)
                            let bounds = UnsafeMutablePointer<SIMD16<UInt8>>.allocate(capacity: queryBlock)
                            let bestSame = UnsafeMutablePointer<(index: Int, code: Int)>.allocate(capacity: queryBlock)
                            let bestOther = UnsafeMutablePointer<(index: Int, code: Int)>.allocate(capacity: queryBlock)
                            defer {
                                queryHeads.deallocate()
                                bounds.deallocate()
                                bestSame.deallocate()
                                bestOther.deallocate()
                            }
                            for blockIndex in stride(from: worker, to: blocks.count, by: workers) {
                                let (label, queries) = blocks[blockIndex]
                                let count = queries.count
                                for j in 0..<count {
                                    let q = queries.lowerBound + j
                                    for v in 0..<h { queryHeads[j * h + v] = heads[q * h + v] }
                                    // Start from the seeds, else from the first candidate of each relation, so
                                    // that every bound is a real distance (ties at 255 still find a neighbour).
                                    var sameSeed = seeds[q].same
                                    var otherSeed = seeds[q].other
                                    if sameSeed < 0 || sameSeed == q || order.sortedLabels[sameSeed] != label {
                                        let range = order.segments.first { $0.label == label }?.range ?? 0..<0
                                        sameSeed = range.first { $0 != q } ?? -1
                                    }
                                    if otherSeed < 0 || order.sortedLabels[otherSeed] == label {
                                        otherSeed = order.segments.first { $0.label != label }?.range.lowerBound ?? -1
                                    }
                                    bestSame[j] = sameSeed < 0 ? (-1, 256) : (sameSeed, Int(distance(q, sameSeed)))
                                    bestOther[j] = otherSeed < 0 ? (-1, 256) : (otherSeed, Int(distance(q, otherSeed)))
                                }
                                // The query's own class first: its same-class bound is the one that seeds help least.
                                let segments = order.segments.filter { $0.label == label } + order.segments.filter { $0.label != label }
                                for segment in segments {
                                    let isSame = segment.label == label
                                    var anyOpen = false
                                    for j in 0..<count {
                                        let code = isSame ? bestSame[j].code : bestOther[j].code
                                        // A bound of 0 cannot be beaten; 256 (no candidate yet) admits everything.
                                        bounds[j] = SIMD16(repeating: UInt8(min(255, code)))
                                        if code > 0 { anyOpen = true }
                                    }
                                    guard anyOpen else { continue }
                                    for m in segment.range {
                                        let c0 = heads[m * h]
                                        let c1 = heads[m * h + 1]
                                        for j in 0..<count {
                                            var largest = maximum(
                                                absoluteDifference(queryHeads[j * h], c0), absoluteDifference(queryHeads[j * h + 1], c1))
                                            if anyAtLeast(largest, bounds[j]) { continue }
                                            let q = queries.lowerBound + j
                                            if m == q { continue }
                                            // Survived the head: the rest of the row, four vectors at a time.
                                            let queryRow = rows + q * vectors
                                            let candidateRow = rows + m * vectors
                                            var v = h
                                            var abandoned = false
                                            while v < vectors {
                                                let stop = min(vectors, v + 4)
                                                while v < stop {
                                                    largest = maximum(largest, absoluteDifference(queryRow[v], candidateRow[v]))
                                                    v += 1
                                                }
                                                if anyAtLeast(largest, bounds[j]) {
                                                    abandoned = true
                                                    break
                                                }
                                            }
                                            if abandoned { continue }
                                            let code = Int(largest.max())
                                            if isSame { bestSame[j] = (m, code) } else { bestOther[j] = (m, code) }
                                            bounds[j] = SIMD16(repeating: UInt8(code))
                                        }
                                    }
                                }
                                for j in 0..<count {
                                    let q = queries.lowerBound + j
                                    sameOut[q] =
                                        bestSame[j].index < 0
                                        ? none : Match(index: bestSame[j].index, distance: Float(bestSame[j].code) / 255)
                                    otherOut[q] =
                                        bestOther[j].index < 0
                                        ? none : Match(index: bestOther[j].index, distance: Float(bestOther[j].code) / 255)
                                }
                            }
                        }
                    }
                }
            }
        }
        return (same, other)
    }

    /// The Float kernel, for data that is not k/255: pixels reordered by decreasing variance,
    /// each pair scanned 16 pixels at a time and abandoned as soon as it cannot beat the best so
    /// far for its class relation.
    static func classNeighborsLinfFloat(images: Tensor, labels: [Int]) -> ClassNeighbors {
        let n = images.batchCount
        let d = images.featureCount
        let lanes = 16
        let padded = (d + lanes - 1) / lanes * lanes
        var mean = [Double](repeating: 0, count: d)
        var variance = mean
        for i in 0..<n { for k in 0..<d { mean[k] += Double(images.scalars[i * d + k]) } }
        for k in 0..<d { mean[k] /= Double(max(1, n)) }
        for i in 0..<n {
            for k in 0..<d {
                let v = Double(images.scalars[i * d + k]) - mean[k]
                variance[k] += v * v
            }
        }
        let order = (0..<d).sorted { variance[$0] > variance[$1] }
        let chunksPerImage = padded / lanes
        var packed = [SIMD16<Float>](repeating: .zero, count: n * chunksPerImage)
        for i in 0..<n {
            for (position, pixel) in order.enumerated() {
                packed[i * chunksPerImage + position / lanes][position % lanes] = images.scalars[i * d + pixel]
            }
        }
        let none = Match(index: -1, distance: .infinity)
        var same = [Match](repeating: none, count: n)
        var other = same
        packed.withUnsafeBufferPointer { packedBuffer in
            same.withUnsafeMutableBufferPointer { sameBuffer in
                other.withUnsafeMutableBufferPointer { otherBuffer in
                    guard let x = packedBuffer.baseAddress, let sb = sameBuffer.baseAddress, let ob = otherBuffer.baseAddress else {
                        return
                    }
                    Parallel.forEachChunk(n, minimumChunk: 64) { chunk in
                        for q in chunk {
                            let query = x + q * chunksPerImage
                            let label = labels[q]
                            var bestSame = none
                            var bestOther = none
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
                                    if isSame {
                                        bestSame = Match(index: m, distance: largest)
                                    } else {
                                        bestOther = Match(index: m, distance: largest)
                                    }
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
