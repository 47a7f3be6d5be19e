import AdvTensor
import XCTest

@testable import AdvData

/// Deterministic mutation testing of the IDX and gzip parsers: thousands of seeded mutations of
/// valid files (bit flips, byte overwrites, truncations, insertions, header edits, huge size
/// fields) must each parse or throw a `DataError` — never crash, hang or throw anything else.
/// (libFuzzer runs the same contract for millions of inputs: Fuzz/fuzz-idx, Scripts/fuzz.)
final class MutationTests: XCTestCase {
    func mutate(_ bytes: [UInt8], using rng: inout SeededGenerator) -> [UInt8] {
        var result = bytes
        let edits = 1 + Int(rng.next() % 4)
        for _ in 0..<edits where !result.isEmpty {
            let position = Int(rng.next() % UInt64(result.count))
            switch rng.next() % 7 {
            case 0: result[position] ^= UInt8(1 << (rng.next() % 8))  // bit flip
            case 1: result[position] = UInt8(truncatingIfNeeded: rng.next())  // byte overwrite
            case 2: result.removeSubrange(position..<result.count)  // truncation
            case 3: result.insert(UInt8(truncatingIfNeeded: rng.next()), at: position)  // insertion
            case 4: result[Int(rng.next() % UInt64(min(16, result.count)))] = UInt8(truncatingIfNeeded: rng.next())  // header
            case 5: result += (0..<Int(rng.next() % 8)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }  // trailing
            default:  // a huge size field
                let field = 4 * (1 + Int(rng.next() % 3))
                guard result.count >= field + 4 else { continue }
                let size = rng.next() % 2 == 0 ? UInt32.max : UInt32(truncatingIfNeeded: rng.next()) | 0x8000_0000
                for byte in 0..<4 { result[field + byte] = UInt8(truncatingIfNeeded: size >> (24 - 8 * UInt32(byte))) }
            }
        }
        return result
    }

    func testMutatedIDXFilesParseOrThrowDataError() throws {
        var rng = SeededGenerator(seed: 77)
        let images = Fixtures.imagesFile(count: 3, rows: 4, columns: 5)
        let labels = Fixtures.labelsFile([1, 2, 3])
        var accepted = 0
        var rejected = 0
        for round in 0..<3000 {
            let original = round % 2 == 0 ? images : labels
            let mutated = mutate(original, using: &rng)
            do {
                if round % 2 == 0 {
                    _ = try IDX.parseImages(mutated, file: "mutant")
                } else {
                    _ = try IDX.parseLabels(mutated, file: "mutant")
                }
                accepted += 1
            } catch is DataError {
                rejected += 1
            } catch {
                XCTFail("round \(round): \(type(of: error)) is not a DataError: \(error)")
            }
        }
        XCTAssertGreaterThan(rejected, 1500, "most mutations must be caught (accepted \(accepted))")
    }

    /// Mutated gzip streams, and what they decompress to, through the IDX parser: the path a
    /// damaged `.gz` file takes in `MNIST.load`.
    func testMutatedGzipStreamsDecompressOrThrowDataError() throws {
        var rng = SeededGenerator(seed: 78)
        let compressed = try Fixtures.gzip(Fixtures.imagesFile(count: 5, rows: 6, columns: 6))
        var rejected = 0
        for round in 0..<2000 {
            let mutated = mutate(compressed, using: &rng)
            do { _ = try IDX.parseImages(try Gzip.decompress(mutated, file: "mutant.gz"), file: "mutant.gz") } catch is DataError {
                rejected += 1
            } catch {
                XCTFail("round \(round): \(type(of: error)) is not a DataError: \(error)")
            }
        }
        XCTAssertGreaterThan(rejected, 1000)
    }
}
