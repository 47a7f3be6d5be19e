import AdvAttacks
import AdvModels
import AdvTensor
import Foundation

/// Nearest training image of *another* class, optionally over small shifts of it: the target x̂
/// of an invariance example (Tramèr et al. 2020).
public struct ShiftedMatch: Sendable, Equatable {
    /// Index of the memory image, or −1 when the memory holds no image of another class.
    public var index: Int
    /// L2 distance between the query and the shifted memory image.
    public var distance: Float
    /// Shift applied to the memory image (pixels; positive: right, down).
    public var dx: Int
    public var dy: Int
}

extension NearestNeighbors {
    /// For each query, the nearest memory image whose label differs from the query's, in L2, over
    /// every shift of the memory images in `shifts` (zero-filled, see `shiftedImages`); ties keep
    /// the earlier shift, then the lower index. One GEMM per (shift, block of memory rows).
    /// queries: [Q, 1, H, W], memory: [M, 1, H, W]; labels: Q and M
    public static func nearestOtherClassL2(
        queries: Tensor, queryLabels: [Int], memory: Tensor, memoryLabels: [Int],
        shifts: [(dx: Int, dy: Int)] = [(0, 0)], blockSize: Int = 4096
    ) -> [ShiftedMatch] {
        let q = queries.batchCount
        let m = memory.batchCount
        let d = queries.featureCount
        precondition(memory.featureCount == d, "nearestOtherClassL2: feature counts \(d) and \(memory.featureCount)")
        precondition(queryLabels.count == q && memoryLabels.count == m, "nearestOtherClassL2: label counts")
        let queryNorms = queries.rowSquaredNorms()
        // Squared distances while searching; the root at the end.
        var best = [ShiftedMatch](repeating: ShiftedMatch(index: -1, distance: .infinity, dx: 0, dy: 0), count: q)
        guard q > 0 else { return best }
        for shift in shifts {
            for range in batchRanges(count: m, size: blockSize) {
                let block = shiftedImages(memory.slice(range), dx: shift.dx, dy: shift.dy)
                let blockNorms = block.rowSquaredNorms()
                let width = range.count
                var products = [Float](repeating: 0, count: q * width)
                queries.scalars.withUnsafeBufferPointer { a in
                    block.scalars.withUnsafeBufferPointer { b in
                        products.withUnsafeMutableBufferPointer { c in
                            gemm(
                                transposeA: false, transposeB: true, m: q, n: width, k: d, a: a.baseAddress!, lda: d,
                                b: b.baseAddress!, ldb: d, c: c.baseAddress!, ldc: width)
                        }
                    }
                }
                best.withUnsafeMutableBufferPointer { bestBuffer in
                    let bestBase = bestBuffer.baseAddress!
                    products.withUnsafeBufferPointer { p in
                        Parallel.forEachChunk(q, minimumChunk: max(1, 65_536 / max(1, width))) { rows in
                            for row in rows {
                                var current = bestBase[row]
                                let label = queryLabels[row]
                                for j in 0..<width where memoryLabels[range.lowerBound + j] != label {
                                    let squared = max(0, queryNorms[row] + blockNorms[j] - 2 * p[row * width + j])
                                    if squared < current.distance {
                                        current = ShiftedMatch(index: range.lowerBound + j, distance: squared, dx: shift.dx, dy: shift.dy)
                                    }
                                }
                                bestBase[row] = current
                            }
                        }
                    }
                }
            }
        }
        return best.map { ShiftedMatch(index: $0.index, distance: $0.distance.squareRoot(), dx: $0.dx, dy: $0.dy) }
    }

    /// Plain reference of `nearestOtherClassL2`: every (query, shift, memory image) in Double. For tests.
    public static func referenceNearestOtherClassL2(
        queries: Tensor, queryLabels: [Int], memory: Tensor, memoryLabels: [Int],
        shifts: [(dx: Int, dy: Int)]
    ) -> [ShiftedMatch] {
        let d = queries.featureCount
        let shifted = shifts.map { shiftedImages(memory, dx: $0.dx, dy: $0.dy) }
        return (0..<queries.batchCount).map { row in
            var best = ShiftedMatch(index: -1, distance: .infinity, dx: 0, dy: 0)
            var bestSquared = Double.infinity
            for (s, images) in shifted.enumerated() {
                for j in 0..<memory.batchCount where memoryLabels[j] != queryLabels[row] {
                    var squared = 0.0
                    for k in 0..<d {
                        let diff = Double(queries.scalars[row * d + k]) - Double(images.scalars[j * d + k])
                        squared += diff * diff
                    }
                    if squared < bestSquared {
                        bestSquared = squared
                        best = ShiftedMatch(index: j, distance: Float(squared.squareRoot()), dx: shifts[s].dx, dy: shifts[s].dy)
                    }
                }
            }
            return best
        }
    }
}

/// The targets x̂ of invariance examples: for each image, the nearest memory (training) image of
/// another class, shifted as found, and its class.
public struct InvarianceTargets: Sendable {
    public var matches: [ShiftedMatch]
    /// The shifted nearest other-class images. [N, 1, 28, 28]
    public var images01: Tensor
    /// Their classes (the class an invariance example moves toward).
    public var labels: [Int]

    /// Searches `memory` for every image of `images01` (shifts within ±`maxShift` pixels).
    /// images01: [N, 1, 28, 28]; memory01: [M, 1, 28, 28] with at least one image of another class
    public init(images01: Tensor, labels: [Int], memory01: Tensor, memoryLabels: [Int], maxShift: Int) {
        let matches = NearestNeighbors.nearestOtherClassL2(
            queries: images01, queryLabels: labels, memory: memory01,
            memoryLabels: memoryLabels, shifts: shiftGrid(maxShift: maxShift))
        precondition(matches.allSatisfy { $0.index >= 0 }, "InvarianceTargets: the memory holds no image of another class")
        self.matches = matches
        self.images01 = Tensor.concatenate(matches.map { shiftedImages(memory01.slice($0.index..<($0.index + 1)), dx: $0.dx, dy: $0.dy) })
        self.labels = matches.map { memoryLabels[$0.index] }
    }
}

/// What the oracle proxy (the embedding's k-NN) and the models said about one invariance example.
public struct InvarianceRecord: Codable, Sendable, Equatable {
    public var index: Int
    /// Source class y of x and target class of x̂.
    public var label: Int
    public var target: Int
    public var nearest_index: Int
    public var shift_x: Int
    public var shift_y: Int
    public var nearest_l2: Float
    public var knn_clean: Int
    public var knn_adversarial: Int
    public var model_clean: Int
    public var model_adversarial: Int
    public var reference_clean: Int?
    public var reference_adversarial: Int?

    public init(
        index: Int, label: Int, target: Int, nearest: ShiftedMatch, knnClean: Int, knnAdversarial: Int,
        modelClean: Int, modelAdversarial: Int, referenceClean: Int?, referenceAdversarial: Int?
    ) {
        self.index = index
        self.label = label
        self.target = target
        nearest_index = nearest.index
        shift_x = nearest.dx
        shift_y = nearest.dy
        nearest_l2 = nearest.distance
        knn_clean = knnClean
        knn_adversarial = knnAdversarial
        model_clean = modelClean
        model_adversarial = modelAdversarial
        reference_clean = referenceClean
        reference_adversarial = referenceAdversarial
    }

    /// The oracle proxy says the class changed to the target.
    public var knnChanged: Bool { knn_adversarial == target }
    /// An invariance example the model falls for: the proxy says the class changed, the model
    /// still says the source class.
    public var modelInvariantWhereChanged: Bool { knnChanged && model_adversarial == label }
}

/// Shares over a set of invariance examples (all, or one source class).
public struct InvarianceShares: Codable, Sendable, Equatable {
    public var count: Int
    /// Share whose k-NN label (the oracle proxy) is the target class on x'.
    public var knn_changed_to_target: Double
    /// Share the attacked model still calls the source class on x'.
    public var model_still_source: Double
    /// Share the attacked model calls the target class on x'.
    public var model_changed_to_target: Double
    /// Share where the k-NN says "target" and the model still says "source" (model invariant
    /// where the proxy says the class changed), over all examples …
    public var model_invariant_where_knn_changed: Double
    /// … and over the examples whose k-NN label changed.
    public var model_invariant_given_knn_changed: Double
    public var reference_still_source: Double?
    public var reference_changed_to_target: Double?
    public var reference_invariant_where_knn_changed: Double?

    public init(_ records: [InvarianceRecord]) {
        let n = Double(max(1, records.count))
        func share(_ predicate: (InvarianceRecord) -> Bool) -> Double { Double(records.filter(predicate).count) / n }
        count = records.count
        knn_changed_to_target = share(\.knnChanged)
        model_still_source = share { $0.model_adversarial == $0.label }
        model_changed_to_target = share { $0.model_adversarial == $0.target }
        model_invariant_where_knn_changed = share(\.modelInvariantWhereChanged)
        let changed = records.filter(\.knnChanged)
        model_invariant_given_knn_changed = Double(changed.filter(\.modelInvariantWhereChanged).count) / Double(max(1, changed.count))
        if records.allSatisfy({ $0.reference_adversarial != nil }) && !records.isEmpty {
            reference_still_source = share { $0.reference_adversarial == $0.label }
            reference_changed_to_target = share { $0.reference_adversarial == $0.target }
            reference_invariant_where_knn_changed = share { $0.knnChanged && $0.reference_adversarial == $0.label }
        }
    }
}

/// The invariance block of an attack summary: shares overall and per source class.
public struct InvarianceReport: Codable, Sendable {
    public var eps: Double
    public var max_shift: Int
    public var knn_k: Int
    public var overall: InvarianceShares
    /// Per source class 0…9.
    public var per_class: [InvarianceShares]
    /// What the shares mean (the k-NN is a proxy for the true label, not a human).
    public var note: String

    public init(records: [InvarianceRecord], eps: Float, maxShift: Int, knnK: Int, classCount: Int = 10) {
        self.eps = Double(eps)
        max_shift = maxShift
        knn_k = knnK
        overall = InvarianceShares(records)
        per_class = (0..<classCount).map { digit in InvarianceShares(records.filter { $0.label == digit }) }
        note =
            "x' = clip(x + clip(x̂ − x, −ε, ε), 0, 1) with x̂ the nearest training image of another class (L2, shifts within ±\(maxShift) px); "
            + "knn_changed_to_target is the share whose \(knnK)-NN label in the triplet embedding (train set as memory) became x̂'s class: "
            + "a proxy for the human relabelling of Tramèr et al. 2020 (21 % at ε 0.3, 37 % at ε 0.4)"
    }
}

/// The judges of invariance examples, with their verdicts on the clean images computed once:
/// the attacked model, the triplet embedding's k-NN (the oracle proxy) and an optional second
/// classifier.
public struct InvarianceJudges {
    public let model: ImageClassifier
    public let knn: EmbeddingKNN
    public let k: Int
    public let reference: ImageClassifier?
    public let modelClean: [Int], knnClean: [Int], referenceClean: [Int]?

    /// images01: [N, 1, 28, 28], the clean images the examples start from.
    public init(model: ImageClassifier, knn: EmbeddingKNN, k: Int = 5, reference: ImageClassifier?, clean images01: Tensor) {
        self.model = model
        self.knn = knn
        self.k = k
        self.reference = reference
        modelClean = model.predict(images01)
        knnClean = knn.predict(images01, ks: [k])[k] ?? []
        referenceClean = reference?.predict(images01)
    }
}

/// Builds the invariance examples at `eps` and asks every judge about them. An example's
/// `success` in the attack results means the model is invariant where the proxy says the class
/// changed (k-NN says x̂'s class, the model still says x's class).
/// images01: [N, 1, 28, 28]; labels: N -> adversarial images [N, 1, 28, 28], per-example records
public func invarianceExamples(
    images01: Tensor, labels: [Int], targets: InvarianceTargets, eps: Float,
    judges: InvarianceJudges
) -> (outcome: AttackOutcome, records: [InvarianceRecord]) {
    let adversarial = invarianceImages(images01: images01, targets01: targets.images01, eps: eps)
    var results = makeResults(
        model: judges.model, clean: images01, adversarial: adversarial, labels: labels,
        targets: targets.labels, cleanPredictions: judges.modelClean)
    let knnAdversarial = judges.knn.predict(adversarial, ks: [judges.k])[judges.k] ?? []
    let referenceAdversarial = judges.reference?.predict(adversarial)
    let records = labels.indices.map { i in
        InvarianceRecord(
            index: i, label: labels[i], target: targets.labels[i], nearest: targets.matches[i],
            knnClean: judges.knnClean[i], knnAdversarial: knnAdversarial[i],
            modelClean: judges.modelClean[i], modelAdversarial: results[i].adversarialPrediction,
            referenceClean: judges.referenceClean?[i], referenceAdversarial: referenceAdversarial?[i])
    }
    for i in results.indices { results[i].success = records[i].modelInvariantWhereChanged }
    return (AttackOutcome(adversarialImages: adversarial, results: results), records)
}
