import AdvTensor
import Foundation

/// A distance between images, as the post uses them (pixels in [0, 1], D = 784).
public enum DistanceNorm: String, Codable, Sendable, CaseIterable {
    case l0, l1, l2, linf

    /// ‖a − b‖ over `count` values (L0 counts values that differ at all).
    @inline(__always)
    public func distance(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count: Int) -> Float {
        switch self {
        case .l0:
            var n = 0
            for k in 0..<count where a[k] != b[k] { n += 1 }
            return Float(n)
        case .l1:
            var s: Float = 0
            for k in 0..<count { s += abs(a[k] - b[k]) }
            return s
        case .l2:
            var s: Float = 0
            for k in 0..<count {
                let d = a[k] - b[k]
                s += d * d
            }
            return s.squareRoot()
        case .linf:
            var m: Float = 0
            for k in 0..<count { m = max(m, abs(a[k] - b[k])) }
            return m
        }
    }
}

/// The post's analysis: the mean pairwise distance between images of every pair of classes.
public struct ClassPairDistances: Codable, Sendable {
    /// `meanPairwise[a][b]`: mean of ‖x − y‖ over x of class a and y of class b (x ≠ y).
    public var meanPairwise: [[Double]]
    /// Classes whose row minimum is not on the diagonal: images of the class are, on average,
    /// closer to another class than to each other.
    public var rowsNotClosestToSelf: [Int]
    /// For each row, the class with the smallest mean distance.
    public var closestClass: [Int]
}

/// Mean pairwise distances between `images` grouped by `labels` (e.g. 100 per class).
/// images: [N, …]; labels: N values in 0..<classCount
public func classPairDistances(images: Tensor, labels: [Int], norm: DistanceNorm, classCount: Int = 10) -> ClassPairDistances {
    let n = images.batchCount
    let d = images.featureCount
    var sums = [[Double]](repeating: [Double](repeating: 0, count: classCount), count: classCount)
    var counts = sums
    // Rows in parallel, each worker with its own accumulators.
    let rowsPerWorker = (n + Parallel.threadCount - 1) / Parallel.threadCount
    var partial = [[[Double]]](repeating: sums, count: Parallel.threadCount)
    var partialCounts = partial
    images.scalars.withUnsafeBufferPointer { buffer in
        let base = buffer.baseAddress!
        partial.withUnsafeMutableBufferPointer { partialBuffer in
            partialCounts.withUnsafeMutableBufferPointer { countBuffer in
                let p = partialBuffer.baseAddress!
                let c = countBuffer.baseAddress!
                DispatchQueue.concurrentPerform(iterations: Parallel.threadCount) { worker in
                    for i in (worker * rowsPerWorker)..<min(n, (worker + 1) * rowsPerWorker) {
                        for j in (i + 1)..<n {
                            let value = Double(norm.distance(base + i * d, base + j * d, count: d))
                            let (a, b) = (labels[i], labels[j])
                            p[worker][a][b] += value
                            p[worker][b][a] += value
                            c[worker][a][b] += 1
                            c[worker][b][a] += 1
                        }
                    }
                }
            }
        }
    }
    for w in 0..<Parallel.threadCount {
        for a in 0..<classCount {
            for b in 0..<classCount {
                sums[a][b] += partial[w][a][b]
                counts[a][b] += partialCounts[w][a][b]
            }
        }
    }
    let mean = (0..<classCount).map { a in (0..<classCount).map { b in counts[a][b] > 0 ? sums[a][b] / counts[a][b] : .nan } }
    let closest = mean.map { row in row.indices.min { row[$0] < row[$1] } ?? 0 }
    return ClassPairDistances(
        meanPairwise: mean, rowsNotClosestToSelf: closest.enumerated().filter { $0.offset != $0.element }.map(\.offset),
        closestClass: closest)
}
