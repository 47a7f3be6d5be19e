import AdvData
import AdvModels
import AdvNN
import AdvONNX
import AdvTensor
import TestSupport
import XCTest

/// The importer against PyTorch itself: three models exported by `Scripts/onnx-fixtures.py`
/// with the logits and input gradients PyTorch computed on the first 100 MNIST test images
/// (the gradient of Σₙ logits[n, labelₙ], i.e. a one-hot cotangent).
///
/// Tolerances (issue 20): logits within 1e-4 absolute; input gradients within 1e-3 relative,
/// judged against the largest component of the expected gradient (`|Δ| ≤ 1e-3·max|g|`):
/// a per-component relative bound would fail the components that cancel to almost zero, where
/// any two float32 summation orders differ.
final class ONNXFixtureTests: XCTestCase {
    static var fixtures: URL { URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures") }
    static func fixture(_ name: String) -> String { fixtures.appendingPathComponent(name).path }

    func check(_ name: String, operators expected: [String], file: StaticString = #filePath, line: UInt = #line) throws {
        let images = try NPY.read(Self.fixture("images.npy"))
        let labels = try NPY.read(Self.fixture("labels.npy")).scalars.map { Int($0) }
        let expectedLogits = try NPY.read(Self.fixture("\(name)-logits.npy"))
        let expectedGradients = try NPY.read(Self.fixture("\(name)-gradients.npy"))
        let model = try ONNXClassifier(path: Self.fixture("\(name).onnx"))
        for op in expected {
            XCTAssertTrue(
                model.operatorSummary.contains(op), "\(name) imports \(model.operatorSummary), expected \(op)",
                file: file, line: line)
        }

        let (logits, pullback) = model.logits(images, mode: .eval)
        XCTAssertEqual(logits.shape, [100, 10], file: file, line: line)
        assertClose(logits, expectedLogits, rtol: 0, atol: 1e-4, "\(name) logits", file: file, line: line)

        var oneHot = Tensor.zeros([100, 10])
        for (row, label) in labels.enumerated() { oneHot.scalars[row * 10 + label] = 1 }
        let gradients = pullback(oneHot)
        let scale = expectedGradients.maxAbs()
        XCTAssertGreaterThan(scale, 0, "\(name): the expected gradient is zero, the check would be vacuous", file: file, line: line)
        assertClose(gradients, expectedGradients, rtol: 1e-3, atol: 1e-3 * scale, "\(name) input gradients", file: file, line: line)
        let logitsError = zip(logits.scalars, expectedLogits.scalars).map { abs($0 - $1) }.max() ?? 0
        let gradientError = zip(gradients.scalars, expectedGradients.scalars).map { abs($0 - $1) }.max() ?? 0
        print("\(name): max |Δ logits| \(logitsError), max |Δ gradient| / max |gradient| \(gradientError / scale)")

        // Batches give the same logits as the whole (the batch axis is never mixed).
        assertClose(model.predictLogits(images, batchSize: 7), logits, rtol: 0, atol: 1e-5, "\(name) batched", file: file, line: line)
    }

    func testChallengeCNNWithNaturalWeights() throws {
        try check("challenge-cnn", operators: ["Conv×2", "MaxPool×2", "Gemm×2", "Flatten×1"])
    }

    func testResidualNetWithBatchNormAndSoftmaxOutput() throws {
        try check(
            "residual-bn",
            operators: [
                "Add×1", "BatchNormalization×1", "ConvTranspose×1", "AveragePool×1",
                "GlobalAveragePool×1", "LeakyRelu×1", "MaxPool×1",
            ])
    }

    func testMLPWithNormalisationInTheGraph() throws {
        try check("mlp-normalized", operators: ["Sub×1", "Div×1", "Mul×1", "Tanh×1", "Sigmoid×1", "Gemm×3"])
    }

    /// The imported challenge CNN is the native one: same logits as the committed checkpoint
    /// loaded into `MNISTChallengeCNN`, and the features are its 1024 penultimate values.
    func testImportedChallengeCNNMatchesTheNativeModel() throws {
        let images = try NPY.read(Self.fixture("images.npy")).slice(0..<20)
        let model = try ONNXClassifier(path: Self.fixture("challenge-cnn.onnx"))
        let checkpoint = Self.fixtures.deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("checkpoints/classifier-natural.safetensors").path
        var rng = SeededGenerator(seed: 0)
        let native = MNISTChallengeCNN(using: &rng)
        _ = try Checkpoint.load(path: checkpoint, into: native, expectedKind: "classifier")
        assertClose(model.logits(images, mode: .eval).0, native.logits(images, mode: .eval).0, rtol: 0, atol: 1e-4)
        assertClose(model.features(images), native.features(images), rtol: 0, atol: 1e-4)
        XCTAssertEqual(model.features(images).shape, [20, 1024])
    }
}
