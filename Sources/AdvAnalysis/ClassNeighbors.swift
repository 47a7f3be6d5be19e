import AdvTensor
import Foundation

/// Each image's nearest neighbour of the same class and of another class, over a whole set
/// (e.g. all 70,000 MNIST images): the numbers behind condition (2).
public struct ClassNeighbors: Sendable {
    /// Distance to the nearest other image of the same class (and its index); index −1 and
    /// distance +∞ when the class has no other image.
    public var sameClass: [NearestNeighbors.Match]
    /// Distance to the nearest image of any other class (and its index).
    public var otherClass: [NearestNeighbors.Match]
}

/// The images regrouped by class, so that every class is one contiguous range of positions:
/// kernels then decide "same class or not" once per range instead of once per pair.
struct ClassOrder {
    /// `originalIndex[position]`: the image at a position of the class-sorted order.
    let originalIndex: [Int]
    let sortedLabels: [Int]
    /// Contiguous ranges of positions, one per class present, in increasing label order.
    let segments: [(label: Int, range: Range<Int>)]

    init(labels: [Int]) {
        originalIndex = labels.indices.sorted { (labels[$0], $0) < (labels[$1], $1) }
        sortedLabels = originalIndex.map { labels[$0] }
        var segments: [(label: Int, range: Range<Int>)] = []
        var start = 0
        while start < sortedLabels.count {
            var end = start
            while end < sortedLabels.count && sortedLabels[end] == sortedLabels[start] { end += 1 }
            segments.append((sortedLabels[start], start..<end))
            start = end
        }
        self.segments = segments
    }

    /// The segments that overlap `range`, clipped to it.
    func segments(in range: Range<Int>) -> [(label: Int, range: Range<Int>)] {
        segments.compactMap { segment in
            let lower = max(segment.range.lowerBound, range.lowerBound)
            let upper = min(segment.range.upperBound, range.upperBound)
            return lower < upper ? (segment.label, lower..<upper) : nil
        }
    }
}

extension NearestNeighbors {
    /// Nearest same-class and other-class neighbours of every image of `images` among all
    /// others, under L2 or L∞, with the exact distance of the pair found (Double on the Float
    /// pixels, as `referenceNearest` computes it).
    ///
    /// L2: the images regrouped by class, then the upper triangle of square blocks of the Gram
    /// matrix through the GEMM (‖q‖² + ‖m‖² − 2 q·m, each block updating its rows and its
    /// columns). L∞: see `classNeighborsLinf`; `seeds` (e.g. the L2 result) start each image's two
    /// bounds at good candidates.
    /// images: [N, …]; labels: N
    public static func classNeighbors(
        images: Tensor, labels: [Int], norm: DistanceNorm, seeds: ClassNeighbors? = nil,
        block: Int = 1024
    ) -> ClassNeighbors {
        precondition(norm == .l2 || norm == .linf, "classNeighbors supports l2 and linf")
        precondition(labels.count == images.batchCount, "classNeighbors: \(labels.count) labels for \(images.batchCount) images")
        return norm == .l2
            ? classNeighborsL2(images: images, labels: labels, block: block)
            : classNeighborsLinf(images: images, labels: labels, seeds: seeds)
    }

    /// Plain reference: `referenceNearest` (every pair, in Double) within each class and against
    /// all other classes. For tests.
    public static func referenceClassNeighbors(images: Tensor, labels: [Int], norm: DistanceNorm) -> ClassNeighbors {
        let p = norm == .l2 ? 2.0 : Double.infinity
        let none = Match(index: -1, distance: .infinity)
        var same = [Match](repeating: none, count: labels.count)
        var other = same
        for label in Set(labels) {
            let members = labels.indices.filter { labels[$0] == label }
            let others = labels.indices.filter { labels[$0] != label }
            let queries = images.gather(members)
            let position = Dictionary(uniqueKeysWithValues: members.enumerated().map { ($1, $0) })
            let sameMatches = referenceNearest(queries: queries, memory: queries, p: p, exclude: members.map { position[$0] ?? -1 })
            let otherMatches = others.isEmpty ? [] : referenceNearest(queries: queries, memory: images.gather(others), p: p)
            for (row, image) in members.enumerated() {
                let s = sameMatches[row]
                same[image] = s.index < 0 ? none : Match(index: members[s.index], distance: s.distance)
                if !others.isEmpty { other[image] = Match(index: others[otherMatches[row].index], distance: otherMatches[row].distance) }
            }
        }
        return ClassNeighbors(sameClass: same, otherClass: other)
    }

    /// ‖a − b‖ over `count` values, in Double as `referenceNearest` computes it.
    static func exactDistance(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count: Int, norm: DistanceNorm) -> Float {
        var value = 0.0
        for k in 0..<count {
            let difference = abs(Double(a[k]) - Double(b[k]))
            value = norm == .linf ? max(value, difference) : value + difference * difference
        }
        return Float(norm == .linf ? value : value.squareRoot())
    }

    /// The matches found in class-sorted positions, back in the caller's indices, each distance
    /// recomputed exactly from the pixels of the pair.
    static func exactMatches(_ matches: [Match], order: ClassOrder, images: Tensor, norm: DistanceNorm) -> [Match] {
        let d = images.featureCount
        var result = [Match](repeating: Match(index: -1, distance: .infinity), count: matches.count)
        images.scalars.withUnsafeBufferPointer { buffer in
            guard let x = buffer.baseAddress else { return }
            for (position, match) in matches.enumerated() where match.index >= 0 {
                let image = order.originalIndex[position]
                let neighbour = order.originalIndex[match.index]
                result[image] = Match(index: neighbour, distance: exactDistance(x + image * d, x + neighbour * d, count: d, norm: norm))
            }
        }
        return result
    }

    static func classNeighborsL2(images: Tensor, labels: [Int], block: Int) -> ClassNeighbors {
        let n = images.batchCount
        let d = images.featureCount
        let order = ClassOrder(labels: labels)
        let sorted = images.gather(order.originalIndex).reshaped([n, d])
        let norms = sorted.rowSquaredNorms()
        // Running bests in sorted positions, squared distances.
        let none = Match(index: -1, distance: .infinity)
        var same = [Match](repeating: none, count: n)
        var other = same
        var products = [Float](repeating: 0, count: block * block)
        sorted.scalars.withUnsafeBufferPointer { buffer in
            products.withUnsafeMutableBufferPointer { productBuffer in
                same.withUnsafeMutableBufferPointer { sameBuffer in
                    other.withUnsafeMutableBufferPointer { otherBuffer in
                        norms.withUnsafeBufferPointer { normBuffer in
                            guard let x = buffer.baseAddress, let p = productBuffer.baseAddress, let sb = sameBuffer.baseAddress,
                                let ob = otherBuffer.baseAddress, let nb = normBuffer.baseAddress
                            else { return }
                            // Upper triangle of blocks: block (r, c) with c ≥ r serves its rows and, off the
                            // diagonal, its columns, so every pair is multiplied once.
                            for rowStart in stride(from: 0, to: n, by: block) {
                                let rowEnd = min(n, rowStart + block)
                                let rows = rowEnd - rowStart
                                let rowSegments = order.segments(in: rowStart..<rowEnd)
                                for columnStart in stride(from: rowStart, to: n, by: block) {
                                    let columnEnd = min(n, columnStart + block)
                                    let width = columnEnd - columnStart
                                    gemm(
                                        transposeA: false, transposeB: true, m: rows, n: width, k: d, a: x + rowStart * d, lda: d,
                                        b: x + columnStart * d, ldb: d, c: p, ldc: width)
                                    let columnSegments = order.segments(in: columnStart..<columnEnd)
                                    // Rows: each row's minimum over every column segment.
                                    for rowSegment in rowSegments {
                                        Parallel.forEachChunk(rowSegment.range.count, minimumChunk: 32) { chunk in
                                            for offset in chunk {
                                                let row = rowSegment.range.lowerBound + offset
                                                let line = p + (row - rowStart) * width - columnStart
                                                for columnSegment in columnSegments {
                                                    let target = columnSegment.label == rowSegment.label ? sb : ob
                                                    var best = target[row]
                                                    let rowNorm = nb[row]
                                                    for column in columnSegment.range where column != row {
                                                        let squared = max(0, rowNorm + nb[column] - 2 * line[column])
                                                        if squared < best.distance { best = Match(index: column, distance: squared) }
                                                    }
                                                    target[row] = best
                                                }
                                            }
                                        }
                                    }
                                    guard columnStart != rowStart else { continue }
                                    // Columns (the transposed pairs): split by columns so that workers never share one.
                                    for columnSegment in columnSegments {
                                        Parallel.forEachChunk(columnSegment.range.count, minimumChunk: 32) { chunk in
                                            let lower = columnSegment.range.lowerBound + chunk.lowerBound
                                            let upper = columnSegment.range.lowerBound + chunk.upperBound
                                            for rowSegment in rowSegments {
                                                let target = columnSegment.label == rowSegment.label ? sb : ob
                                                for row in rowSegment.range {
                                                    let line = p + (row - rowStart) * width - columnStart
                                                    let rowNorm = nb[row]
                                                    for column in lower..<upper {
                                                        let squared = max(0, rowNorm + nb[column] - 2 * line[column])
                                                        if squared < target[column].distance {
                                                            target[column] = Match(index: row, distance: squared)
                                                        }
                                                    }
                                                }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        return ClassNeighbors(
            sameClass: exactMatches(same, order: order, images: images, norm: .l2),
            otherClass: exactMatches(other, order: order, images: images, norm: .l2))
    }
}
