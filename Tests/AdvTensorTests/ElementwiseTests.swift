import AdvTensor
import TestSupport
import XCTest

/// Elementwise kernels and reductions against plain loops, on sizes below and above the size at
/// which `Parallel.forEachChunk` splits the work (16 384 items per chunk by default).
final class ElementwiseTests: XCTestCase {
    /// 1 and 7 run inline; 16 383 is just under one chunk; 32 773 and 100 003 are split (on a
    /// machine with two or more cores) into chunks of unequal size.
    static let sizes = [1, 7, 16_383, 32_773, 100_003]

    private func randomTensor(_ count: Int, using rng: inout SeededGenerator) -> Tensor {
        Tensor.randomNormal([count], using: &rng)
    }

    func testMapZipMapAndArithmeticMatchPlainLoops() {
        var rng = SeededGenerator(seed: 31)
        for size in Self.sizes {
            let a = randomTensor(size, using: &rng)
            let b = randomTensor(size, using: &rng)
            XCTAssertEqual(a.map { 3 * $0 - 1 }.scalars, a.scalars.map { 3 * $0 - 1 }, "map, size \(size)")
            XCTAssertEqual(a.zipMap(b) { $0 * 2 + $1 }.scalars, zip(a.scalars, b.scalars).map { $0 * 2 + $1 }, "zipMap, size \(size)")
            XCTAssertEqual((a + b).scalars, zip(a.scalars, b.scalars).map(+), "+, size \(size)")
            XCTAssertEqual((a - b).scalars, zip(a.scalars, b.scalars).map(-), "-, size \(size)")
            XCTAssertEqual((a * b).scalars, zip(a.scalars, b.scalars).map(*), "*, size \(size)")
            XCTAssertEqual((a * 1.5).scalars, a.scalars.map { $0 * 1.5 }, "tensor * scalar, size \(size)")
            XCTAssertEqual((1.5 * a).scalars, a.scalars.map { $0 * 1.5 }, "scalar * tensor, size \(size)")
            XCTAssertEqual((a + 0.25).scalars, a.scalars.map { $0 + 0.25 }, "tensor + scalar, size \(size)")
            XCTAssertEqual(a.clamped(-0.5, 0.5).scalars, a.scalars.map { min(max($0, -0.5), 0.5) }, "clamped, size \(size)")
            XCTAssertEqual(a.map { _ in 1 }.shape, [size])
        }
    }

    func testInPlaceAccumulationMatchesPlainLoops() {
        var rng = SeededGenerator(seed: 32)
        for size in Self.sizes {
            let a = randomTensor(size, using: &rng)
            let b = randomTensor(size, using: &rng)
            var scaled = a
            scaled.addScaled(b, scale: -0.75)
            XCTAssertEqual(scaled.scalars, zip(a.scalars, b.scalars).map { $0 + -0.75 * $1 }, "addScaled, size \(size)")
            var sum = a
            sum += b
            XCTAssertEqual(sum.scalars, zip(a.scalars, b.scalars).map { $0 + $1 }, "+=, size \(size)")
            var difference = a
            difference -= b
            XCTAssertEqual(difference.scalars, zip(a.scalars, b.scalars).map { $0 - $1 }, "-=, size \(size)")
            // The operands keep their values (copy-on-write).
            XCTAssertNotEqual(a, sum)
        }
    }

    func testSignKeepsZero() {
        let x = Tensor(shape: [5], scalars: [-2, -0.0, 0, 1e-30, 3])
        XCTAssertEqual(x.sign().scalars, [-1, 0, 0, 1, 1])
    }

    func testReductions() {
        var rng = SeededGenerator(seed: 33)
        for size in Self.sizes {
            let a = randomTensor(size, using: &rng)
            let expectedSum = a.scalars.reduce(0.0) { $0 + Double($1) }
            XCTAssertEqual(a.sum(), expectedSum, accuracy: 1e-9 * Double(size), "sum, size \(size)")
            XCTAssertEqual(a.mean(), expectedSum / Double(size), accuracy: 1e-9, "mean, size \(size)")
            XCTAssertEqual(a.maxAbs(), a.scalars.map(abs).max(), "maxAbs, size \(size)")
            XCTAssertTrue(a.isFinite)
        }
        XCTAssertEqual(Tensor.zeros([0]).mean(), 0)
        XCTAssertFalse(Tensor(shape: [3], scalars: [0, .nan, 1]).isFinite)
        XCTAssertFalse(Tensor(shape: [3], scalars: [0, -.infinity, 1]).isFinite)
    }

    func testArgmaxRowsTakesFirstOnTies() {
        let logits = Tensor(
            shape: [3, 4],
            scalars: [
                0, 5, 5, 1,
                -3, -2, -1, -4,
                7, 7, 7, 7,
            ])
        XCTAssertEqual(logits.argmaxRows(), [1, 2, 0])
    }

    func testNormsPerExample() {
        let x = Tensor(
            shape: [2, 2, 2],
            scalars: [
                3, -4, 0, 0.001,
                -1, 1, -1, 1,
            ])
        assertClose(x.normsPerExample(p: 0), [3, 4])
        assertClose(x.normsPerExample(p: 0, zeroTolerance: 0.01), [2, 4])
        assertClose(x.normsPerExample(p: 1), [7.001, 4])
        assertClose(x.normsPerExample(p: 2), [Float((25.000001 as Double).squareRoot()), 2])
        assertClose(x.normsPerExample(p: .infinity), [4, 1])
    }

    /// Every index of `0..<count` is visited exactly once, whatever the count and chunk size.
    func testForEachChunkCoversEveryIndexOnce() {
        for (count, minimumChunk) in [(0, 16), (1, 16), (15, 16), (16, 1), (17, 4), (100_003, 16_384), (1_000, 1)] {
            var visits = [Int32](repeating: 0, count: count)
            visits.withUnsafeMutableBufferPointer { v in
                let base = v.baseAddress
                Parallel.forEachChunk(count, minimumChunk: minimumChunk) { range in
                    // Chunks are disjoint, so these writes don't race unless the split is wrong.
                    for i in range { base![i] += 1 }
                }
            }
            XCTAssertTrue(visits.allSatisfy { $0 == 1 }, "count \(count), minimum chunk \(minimumChunk)")
        }
        var seen = [Int32](repeating: 0, count: 37)
        seen.withUnsafeMutableBufferPointer { v in
            let base = v.baseAddress!
            Parallel.forEach(37) { base[$0] += 1 }
        }
        XCTAssertEqual(seen, [Int32](repeating: 1, count: 37))
        XCTAssertGreaterThanOrEqual(Parallel.threadCount, 1)
    }
}
