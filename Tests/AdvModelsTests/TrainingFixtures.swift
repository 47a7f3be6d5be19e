import AdvData
import AdvNN
import AdvTensor
import Foundation
import XCTest

/// Small in-memory data sets and scratch folders for the trainer tests.
enum TrainingFixtures {
    /// `count` random images in [0, 1] with labels cycling 0…9 (content is irrelevant to resume
    /// and guard tests; only the shapes and the bookkeeping are).
    static func randomDataset(count: Int, seed: UInt64, split: Dataset.Split = .train) -> Dataset {
        var rng = SeededGenerator(seed: seed)
        return Dataset(
            images: Tensor.randomUniform([count, 1, 28, 28], using: &rng), labels: (0..<count).map { $0 % 10 },
            name: "random", split: split, datasetHash: "random-\(seed)")
    }

    /// The real MNIST folder, or a skip when `ADVLAB_DATA` is unset.
    static func mnistDirectory() throws -> String {
        guard let directory = ProcessInfo.processInfo.environment["ADVLAB_DATA"], !directory.isEmpty else {
            throw XCTSkip("ADVLAB_DATA is not set (Scripts/setup fetches MNIST)")
        }
        return directory
    }

    /// A new empty folder under the system's temporary folder.
    static func scratchFolder() throws -> URL {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("advlab-models-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        return folder
    }

    /// The order a resumed trainer gives the examples of its first epoch: both trainers shuffle
    /// `0..<count` with the generator state stored in the checkpoint before anything else draws.
    static func firstEpochOrderAfterResume(checkpoint path: String, count: Int) throws -> [Int] {
        let words = try Safetensors.read(path: path).integerTensor("rng_state", expectedCount: 4).words
        guard var rng = SeededGenerator(stateWords: words) else { throw CheckpointError(path: path, message: "zero rng_state") }
        var order = Array(0..<count)
        order.seededShuffle(using: &rng)
        return order
    }

    /// `dataset` with one pixel of example `index` set to NaN.
    static func poisoned(_ dataset: Dataset, example index: Int) -> Dataset {
        var copy = dataset
        copy.images.scalars[index * 784 + 14 * 28 + 14] = .nan
        return copy
    }
}

/// The largest |a[i] − b[i]| (NaN when either holds a NaN there); the arrays must have equal counts.
/// A plain pointer loop: in a debug build `zip` over millions of scalars costs seconds.
func largestDifference(_ a: [Float], _ b: [Float]) -> Float {
    precondition(a.count == b.count, "\(a.count) vs \(b.count) scalars")
    return a.withUnsafeBufferPointer { p in
        b.withUnsafeBufferPointer { q in
            var largest: Float = 0
            for i in 0..<p.count {
                let difference = abs(p[i] - q[i])
                if !(difference <= largest) { largest = difference }
            }
            return largest
        }
    }
}

/// Asserts that two checkpoint files hold the same tensors: every Float tensor within `tolerance`
/// (absolute), every integer tensor (RNG state, epoch) exactly.
func assertSameCheckpointTensors(
    _ actualPath: String, _ expectedPath: String, tolerance: Float,
    file: StaticString = #filePath, line: UInt = #line
) throws {
    let actual = try Safetensors.read(path: actualPath)
    let expected = try Safetensors.read(path: expectedPath)
    XCTAssertEqual(actual.names.sorted(), expected.names.sorted(), "tensor names differ", file: file, line: line)
    XCTAssertEqual(actual.integerTensors, expected.integerTensors, "integer tensors (RNG state, epoch) differ", file: file, line: line)
    for (name, expectedTensor) in expected.tensors.sorted(by: { $0.key < $1.key }) {
        guard let actualTensor = actual.tensors[name], actualTensor.shape == expectedTensor.shape else {
            XCTFail("tensor \(name) missing or reshaped in \(actualPath)", file: file, line: line)
            continue
        }
        let difference = largestDifference(actualTensor.scalars, expectedTensor.scalars)
        XCTAssertLessThanOrEqual(difference, tolerance, "tensor \(name)", file: file, line: line)
    }
}
