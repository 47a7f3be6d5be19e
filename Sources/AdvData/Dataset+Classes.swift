import AdvTensor

extension Dataset {
    /// How many examples each class has: `classCount` entries summing to `count`.
    public func classCounts() -> [Int] {
        var counts = [Int](repeating: 0, count: classCount)
        for label in labels { counts[label] += 1 }
        return counts
    }

    /// For each class `c` in `0..<classCount`, the indices of its examples in ascending order.
    public func indicesByClass() -> [[Int]] {
        var indices = [[Int]](repeating: [], count: classCount)
        for (index, label) in labels.enumerated() { indices[label].append(index) }
        return indices
    }

    /// `perClass` distinct example indices of each class drawn at random (all of a class's
    /// indices, shuffled, when it has fewer), class 0 first; each class's draw is in random order.
    public func sampleIndicesPerClass(_ perClass: Int, using rng: inout some RandomNumberGenerator) -> [[Int]] {
        indicesByClass().map { members in
            var members = members
            members.seededShuffle(using: &rng)
            return Array(members.prefix(max(0, perClass)))
        }
    }
}
