import AdvTensor
import XCTest

/// Storage, shapes and batch operations of `Tensor`.
final class TensorTests: XCTestCase {
    private let batch = Tensor(shape: [3, 2, 2], scalars: (0..<12).map(Float.init))

    func testRowMajorIndexingAndCounts() {
        XCTAssertEqual(batch[1, 0, 1], 5)
        XCTAssertEqual(batch[2, 1, 0], 10)
        XCTAssertEqual(batch.count, 12)
        XCTAssertEqual(batch.rank, 3)
        XCTAssertEqual(batch.batchCount, 3)
        XCTAssertEqual(batch.featureCount, 4)
        XCTAssertEqual(Tensor.zeros([0, 5, 2]).featureCount, 10)
        var copy = batch
        copy[0, 1, 1] = -1
        XCTAssertEqual(copy.scalars[3], -1)
        XCTAssertEqual(batch.scalars[3], 3, "value semantics: the original is unchanged")
    }

    func testInitializers() {
        XCTAssertEqual(Tensor(repeating: 2, shape: [2, 3]).scalars, [Float](repeating: 2, count: 6))
        XCTAssertEqual(Tensor.zeros(like: batch).shape, [3, 2, 2])
        let written = Tensor(shape: [2, 2]) { out in for i in out.indices { out[i] = Float(i * i) } }
        XCTAssertEqual(written.scalars, [0, 1, 4, 9])
    }

    func testReshape() {
        XCTAssertEqual(batch.reshaped([3, -1]).shape, [3, 4])
        XCTAssertEqual(batch.reshaped([-1, 6]).shape, [2, 6])
        XCTAssertEqual(batch.reshaped([12]).scalars, batch.scalars)
        var reshaped = batch
        reshaped.reshape([4, 3])
        XCTAssertEqual(reshaped.shape, [4, 3])
        XCTAssertEqual(reshaped.scalars, batch.scalars)
    }

    func testSliceGatherConcatenateReplace() {
        XCTAssertEqual(batch.slice(1..<3), Tensor(shape: [2, 2, 2], scalars: (4..<12).map(Float.init)))
        XCTAssertEqual(batch.slice(0..<0).shape, [0, 2, 2])
        XCTAssertEqual(batch.gather([2, 0, 2]).scalars, [8, 9, 10, 11, 0, 1, 2, 3, 8, 9, 10, 11])
        XCTAssertEqual(Tensor.concatenate([batch.slice(0..<1), batch.slice(1..<3)]), batch)
        var replaced = batch
        replaced.replaceBatch(at: 1, with: Tensor(repeating: -1, shape: [1, 2, 2]))
        XCTAssertEqual(replaced.scalars, [0, 1, 2, 3, -1, -1, -1, -1, 8, 9, 10, 11])
    }

    func testDescriptionShowsShapeAndPreview() {
        XCTAssertEqual(Tensor(shape: [2], scalars: [1, 0.5]).description, "Tensor([2], [1, 0.5])")
        XCTAssertTrue(batch.description.hasSuffix(", …])"), batch.description)
    }
}
