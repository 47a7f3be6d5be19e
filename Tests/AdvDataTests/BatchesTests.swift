import AdvData
import AdvTensor
import TestSupport
import XCTest

final class BatchesTests: XCTestCase {
    /// 23 examples whose pixels all equal their index / 255, labels index % 10.
    func makeDataset(count: Int = 23) -> Dataset {
        let images = Tensor(shape: [count, 1, 28, 28]) { out in
            for i in out.indices { out[i] = Float(i / 784) / 255 }
        }
        return Dataset(images: images, labels: (0..<count).map { $0 % 10 }, name: "synthetic", split: .train, datasetHash: "")
    }

    func testShuffledEpochCoversEveryExampleOnceWithMatchingImagesAndLabels() throws {
        let dataset = makeDataset()
        var rng = SeededGenerator(seed: 7)
        let batches = try MiniBatches(shuffling: dataset, batchSize: 5, using: &rng)
        XCTAssertEqual(batches.count, 5)
        XCTAssertEqual(batches.map { $0.labels.count }, [5, 5, 5, 5, 3])
        XCTAssertEqual(batches.order.sorted(), Array(0..<23))
        XCTAssertNotEqual(batches.order, Array(0..<23))
        for (position, batch) in batches.enumerated() {
            let indices = Array(batches.exampleIndices(at: position))
            XCTAssertEqual(batch.images.shape, [indices.count, 1, 28, 28])
            XCTAssertEqual(batch.labels, indices.map { $0 % 10 })
            for (row, index) in indices.enumerated() {
                XCTAssertEqual(batch.images[row, 0, 27, 27], Float(index) / 255)
            }
        }
    }

    func testSameSeedSameOrderOtherSeedOtherOrder() throws {
        let dataset = makeDataset(count: 200)
        var first = SeededGenerator(seed: 1)
        var again = SeededGenerator(seed: 1)
        var other = SeededGenerator(seed: 2)
        let a = try MiniBatches(shuffling: dataset, batchSize: 32, using: &first)
        let b = try MiniBatches(shuffling: dataset, batchSize: 32, using: &again)
        let c = try MiniBatches(shuffling: dataset, batchSize: 32, using: &other)
        XCTAssertEqual(a.order, b.order)
        XCTAssertNotEqual(a.order, c.order)
        // The next epoch from the same generator is a different permutation.
        let next = try MiniBatches(shuffling: dataset, batchSize: 32, using: &first)
        XCTAssertNotEqual(a.order, next.order)
    }

    func testDropLastPartialBatchAndInOrderEpochs() throws {
        let dataset = makeDataset()
        var rng = SeededGenerator(seed: 3)
        let dropped = try MiniBatches(shuffling: dataset, batchSize: 5, dropLastPartialBatch: true, using: &rng)
        XCTAssertEqual(dropped.map { $0.labels.count }, [5, 5, 5, 5])
        let exact = try MiniBatches(inOrder: makeDataset(count: 20), batchSize: 5, dropLastPartialBatch: true)
        XCTAssertEqual(exact.count, 4)
        let ordered = try MiniBatches(inOrder: dataset, batchSize: 10)
        XCTAssertEqual(ordered.indices.map { Array(ordered.exampleIndices(at: $0)) }, [Array(0..<10), Array(10..<20), Array(20..<23)])
        XCTAssertEqual(ordered[2].labels, [0, 1, 2])
        XCTAssertEqual(try MiniBatches(inOrder: makeDataset(count: 0), batchSize: 4).count, 0)
    }

    func testInvalidBatchSizeThrows() {
        assertDataError(try MiniBatches(inOrder: makeDataset(), batchSize: 0), mentions: ["batch size 0", "at least 1"])
    }

    func testClassIndicesAndPerClassSampling() {
        let dataset = makeDataset(count: 25)
        let byClass = dataset.indicesByClass()
        XCTAssertEqual(byClass[3], [3, 13, 23])
        XCTAssertEqual(byClass[9], [9, 19])
        XCTAssertEqual(byClass.map(\.count), dataset.classCounts())

        var rng = SeededGenerator(seed: 11)
        let sampled = dataset.sampleIndicesPerClass(2, using: &rng)
        XCTAssertEqual(sampled.map(\.count), [Int](repeating: 2, count: 10))
        for (label, indices) in sampled.enumerated() {
            XCTAssertEqual(Set(indices).count, 2)
            XCTAssertTrue(indices.allSatisfy { dataset.labels[$0] == label })
        }
        let subset = dataset.subset(sampled[4])
        XCTAssertEqual(subset.labels, [4, 4])
        XCTAssertEqual(subset.images[1, 0, 0, 0], Float(sampled[4][1]) / 255)
    }
}
