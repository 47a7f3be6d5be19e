import AdvTensor
import TestSupport
import XCTest

/// A generator that returns one fixed word, to pin the edges of `nextUniform` / `nextNormal`.
private struct ConstantGenerator: RandomNumberGenerator {
    var word: UInt64
    mutating func next() -> UInt64 { word }
}

/// `SeededGenerator` (xoshiro256** seeded by SplitMix64), the uniform and normal draws built on
/// it, and the seeded shuffle.
final class RandomTests: XCTestCase {
    private func draws(_ count: Int, seed: UInt64) -> [UInt64] {
        var rng = SeededGenerator(seed: seed)
        return (0..<count).map { _ in rng.next() }
    }

    /// Known answers from the reference C code: SplitMix64 from 0 gives the state words, and
    /// xoshiro256** from the state (1, 2, 3, 4) gives 11520, 0, 1509978240, ….
    func testKnownAnswers() {
        XCTAssertEqual(
            SeededGenerator(seed: 0).stateWords,
            [0xE220_A839_7B1D_CDAF, 0x6E78_9E6A_A1B9_65F4, 0x06C4_5D18_8009_454F, 0xF88B_B8A8_724C_81EC])
        guard var rng = SeededGenerator(stateWords: [1, 2, 3, 4]) else { return XCTFail("state (1, 2, 3, 4) rejected") }
        let outputs = (0..<6).map { _ in rng.next() }
        XCTAssertEqual(
            outputs,
            [
                11520, 0, 1_509_978_240, 1_215_971_899_390_074_240,
                1_216_172_134_540_287_360, 607_988_272_756_665_600,
            ])
    }

    func testSameSeedSameStreamDifferentSeedsDiffer() {
        XCTAssertEqual(draws(1_000, seed: 42), draws(1_000, seed: 42))
        let streams = [0, 1, 2, 42, 43, UInt64.max].map { draws(64, seed: $0) }
        for i in streams.indices {
            for j in streams.indices where j > i {
                // Unrelated streams share no word at the same position (2⁻⁶⁴ chance each).
                XCTAssertFalse(zip(streams[i], streams[j]).contains { $0 == $1 }, "streams \(i) and \(j) overlap")
            }
        }
    }

    func testStateWordsRestoreContinuesTheStream() {
        var rng = SeededGenerator(seed: 7)
        for _ in 0..<100 { _ = rng.next() }
        let saved = rng.stateWords
        let continued = (0..<50).map { _ in rng.next() }
        guard var restored = SeededGenerator(stateWords: saved) else { return XCTFail("saved state rejected") }
        XCTAssertEqual(restored.stateWords, saved)
        XCTAssertEqual((0..<50).map { _ in restored.next() }, continued)
        XCTAssertEqual(restored, rng)
    }

    func testInvalidStateWordsAreRejected() {
        XCTAssertNil(SeededGenerator(stateWords: [0, 0, 0, 0]), "the all-zero state is a fixed point of xoshiro")
        XCTAssertNil(SeededGenerator(stateWords: [1, 2, 3]))
        XCTAssertNil(SeededGenerator(stateWords: [1, 2, 3, 4, 5]))
    }

    func testNextUniformIsInUnitIntervalAndFlat() {
        var rng = SeededGenerator(seed: 8)
        let count = 100_000
        var bins = [Int](repeating: 0, count: 10)
        var total = 0.0
        var outside = 0
        for _ in 0..<count {
            let u = rng.nextUniform()
            if !(u >= 0 && u < 1) {
                outside += 1
                continue
            }
            bins[min(9, Int(u * 10))] += 1
            total += Double(u)
        }
        XCTAssertEqual(outside, 0, "uniform draws outside [0, 1)")
        XCTAssertEqual(total / Double(count), 0.5, accuracy: 0.01)
        // Each bin expects 10 000 ± 95 (one standard deviation).
        for (index, hits) in bins.enumerated() {
            XCTAssertTrue((9_500...10_500).contains(hits), "bin \(index) has \(hits) of \(count)")
        }
        // The edges: the largest word stays below 1, zero gives 0.
        var largest = ConstantGenerator(word: .max)
        XCTAssertLessThan(largest.nextUniform(), 1)
        var smallest = ConstantGenerator(word: 0)
        XCTAssertEqual(smallest.nextUniform(), 0)
    }

    func testNextNormalHasStandardMomentsAndShape() {
        var rng = SeededGenerator(seed: 9)
        let count = 100_000
        var sum = 0.0
        var squares = 0.0
        var withinOne = 0
        for _ in 0..<count {
            let z = Double(rng.nextNormal())
            sum += z
            squares += z * z
            if abs(z) < 1 { withinOne += 1 }
        }
        let mean = sum / Double(count)
        let std = (squares / Double(count) - mean * mean).squareRoot()
        // Standard errors: mean 0.003, std 0.002, share within ±1σ 0.0015.
        XCTAssertEqual(mean, 0, accuracy: 0.02)
        XCTAssertEqual(std, 1, accuracy: 0.02)
        XCTAssertEqual(Double(withinOne) / Double(count), 0.6827, accuracy: 0.01)
        // A zero word would be log(0) without the clamp.
        var zero = ConstantGenerator(word: 0)
        XCTAssertTrue(zero.nextNormal().isFinite)
    }

    func testRandomTensorsAreSeededAndInRange() {
        var a = SeededGenerator(seed: 10)
        var b = SeededGenerator(seed: 10)
        XCTAssertEqual(
            Tensor.randomNormal([3, 4], mean: 2, std: 0.5, using: &a),
            Tensor.randomNormal([3, 4], mean: 2, std: 0.5, using: &b))
        let uniform = Tensor.randomUniform([1_000], low: -3, high: -1, using: &a)
        XCTAssertEqual(uniform.shape, [1_000])
        XCTAssertTrue(uniform.scalars.allSatisfy { $0 >= -3 && $0 < -1 })
        XCTAssertLessThan(uniform.scalars.min()!, -2.9)
        XCTAssertGreaterThan(uniform.scalars.max()!, -1.1)
        let normal = Tensor.randomNormal([10_000], mean: 5, std: 2, using: &a)
        XCTAssertEqual(normal.mean(), 5, accuracy: 0.1)
    }

    func testSeededShuffleIsADeterministicPermutation() {
        let original = Array(0..<100)
        var first = original
        var second = original
        var other = original
        var rng1 = SeededGenerator(seed: 5)
        var rng2 = SeededGenerator(seed: 5)
        var rng3 = SeededGenerator(seed: 6)
        first.seededShuffle(using: &rng1)
        second.seededShuffle(using: &rng2)
        other.seededShuffle(using: &rng3)
        XCTAssertEqual(first.sorted(), original, "a shuffle is a permutation")
        XCTAssertEqual(first, second, "same seed, same order")
        XCTAssertNotEqual(first, original)
        XCTAssertNotEqual(first, other, "different seeds, different orders")

        var empty: [Int] = []
        var single = [9]
        empty.seededShuffle(using: &rng1)
        single.seededShuffle(using: &rng1)
        XCTAssertEqual(empty, [])
        XCTAssertEqual(single, [9])
    }

    /// Fisher–Yates gives all 3! orders equally often; the classic off-by-one (drawing j from
    /// 0..<i) gives only the two cyclic ones.
    func testSeededShuffleIsUniformOverPermutations() {
        var rng = SeededGenerator(seed: 4)
        var counts: [[Int]: Int] = [:]
        for _ in 0..<6_000 {
            var items = [0, 1, 2]
            items.seededShuffle(using: &rng)
            counts[items, default: 0] += 1
        }
        XCTAssertEqual(counts.count, 6)
        // 1 000 expected each, standard deviation about 29.
        for (order, hits) in counts { XCTAssertTrue((850...1_150).contains(hits), "order \(order) drawn \(hits) times") }
    }
}
