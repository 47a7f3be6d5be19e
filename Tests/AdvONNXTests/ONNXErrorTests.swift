import AdvNN
import AdvTensor
import Foundation
import TestSupport
import XCTest

@testable import AdvONNX

/// Small graphs built here with the generated protobuf types: what the importer rejects (one
/// `ONNXError` naming the file and the operator, attribute or shape) and the operators the
/// PyTorch fixtures do not reach, against finite differences.
final class ONNXErrorTests: XCTestCase {
    static let path = "model.onnx"

    // MARK: Building graphs

    static func tensor(_ name: String, _ shape: [Int], _ values: [Float]) -> Onnx_TensorProto {
        var proto = Onnx_TensorProto()
        proto.name = name
        proto.dims = shape.map { Int64($0) }
        proto.dataType = Int32(Onnx_TensorProto.DataType.float.rawValue)
        proto.floatData = values
        return proto
    }

    static func integers(_ name: String, _ values: [Int64]) -> Onnx_TensorProto {
        var proto = Onnx_TensorProto()
        proto.name = name
        proto.dims = [Int64(values.count)]
        proto.dataType = Int32(Onnx_TensorProto.DataType.int64.rawValue)
        proto.int64Data = values
        return proto
    }

    static func node(
        _ op: String, _ inputs: [String], _ output: String, ints: [String: [Int64]] = [:],
        int: [String: Int64] = [:]
    ) -> Onnx_NodeProto {
        ONNXSamples.node(op, inputs, output, ints: ints, int: int)
    }

    /// A model around `nodes` reading `images` [N, 1, 28, 28] and writing `logits`, serialised
    /// (`ONNXSamples.model`, the fuzz seeds' builder).
    static func model(
        _ nodes: [Onnx_NodeProto], initializers: [Onnx_TensorProto] = [], input: [Int64?] = [nil, 1, 28, 28],
        opset: Int64 = 17
    ) -> Data {
        (try? ONNXSamples.model(nodes, initializers, input: input, opset: opset).serializedBytes()) ?? Data()
    }

    /// Flatten and a 784 → 10 Gemm after `nodes` (which end in `features`, one example [F]).
    static func classifier(
        _ nodes: [Onnx_NodeProto], features: Int, initializers: [Onnx_TensorProto] = [],
        input: [Int64?] = [nil, 1, 28, 28], opset: Int64 = 17
    ) -> Data {
        let weights = (0..<(10 * features)).map { Float(($0 * 7919) % 13) / 13 - 0.5 }
        return model(
            nodes + [node("Flatten", ["features"], "flat"), node("Gemm", ["flat", "W", "B"], "logits", int: ["transB": 1])],
            initializers: initializers + [
                tensor("W", [10, features], weights),
                tensor("B", [10], [Float](repeating: 0.1, count: 10)),
            ],
            input: input, opset: opset)
    }

    func assertRejects(_ data: Data, _ expected: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try ONNXClassifier(bytes: data, path: Self.path), file: file, line: line) { error in
            XCTAssertEqual("\(error)", "\(Self.path): \(expected)", file: file, line: line)
            XCTAssertFalse("\(error)".contains("\n"), file: file, line: line)
        }
    }

    // MARK: Errors

    func testUnsupportedOperatorIsNamedWithItsNode() {
        assertRejects(
            Self.classifier([Self.node("Relu", ["images"], "r"), Self.node("Upsample", ["r"], "features")], features: 784),
            "operator Upsample (node 1) is not supported")
    }

    func testMalformedFiles() throws {
        let cnn = try Data(contentsOf: URL(fileURLWithPath: ONNXFixtureTests.fixture("challenge-cnn.onnx")))
        XCTAssertThrowsError(try ONNXClassifier(bytes: cnn.prefix(5000), path: Self.path)) { error in
            XCTAssertTrue("\(error)".hasPrefix("model.onnx: is not an ONNX model (protobuf decoding failed"), "\(error)")
        }
        XCTAssertThrowsError(try ONNXClassifier(bytes: Data("PK\u{3}\u{4} a zip file".utf8), path: Self.path)) { error in
            XCTAssertTrue("\(error)".hasPrefix("model.onnx: is not an ONNX model"), "\(error)")
        }
        assertRejects(Data(), "is not an ONNX model (it has no graph)")
        XCTAssertThrowsError(try ONNXClassifier(path: "/nonexistent/model.onnx")) { error in
            XCTAssertTrue("\(error)".hasPrefix("/nonexistent/model.onnx: cannot be read"), "\(error)")
        }
    }

    func testWrongInputShape() {
        assertRejects(
            Self.classifier([Self.node("Relu", ["images"], "features")], features: 3072, input: [nil, 3, 32, 32]),
            "input images has shape [N, 3, 32, 32], expected [N, 1, 28, 28]")
    }

    func testWrongOutputShape() {
        assertRejects(
            Self.model([Self.node("Flatten", ["images"], "logits")]),
            "output logits has shape [N, 784], expected [N, 10] (logits of 10 classes)")
    }

    func testUnsupportedOpset() {
        assertRejects(
            Self.classifier([Self.node("Relu", ["images"], "features")], features: 784, opset: 5),
            "opset 5 is not supported (supported: 7–25)")
    }

    func testExternalData() {
        var weight = Self.tensor("W", [10, 784], [])
        weight.dataLocation = .external
        var entry = Onnx_StringStringEntryProto()
        entry.key = "location"
        entry.value = "model.onnx.data"
        weight.externalData = [entry]
        assertRejects(
            Self.model(
                [Self.node("Flatten", ["images"], "flat"), Self.node("Gemm", ["flat", "W"], "logits", int: ["transB": 1])],
                initializers: [weight]),
            "initializer W keeps its data in an external file; external data is not supported "
                + "(export the model as one file, e.g. torch.onnx.export(..., external_data=False))")
    }

    func testUnsupportedAttributesAndShapes() {
        let weight = Self.tensor("K", [4, 1, 3, 3], [Float](repeating: 0.1, count: 36))
        assertRejects(
            Self.classifier(
                [Self.node("Conv", ["images", "K"], "features", int: ["group": 2])], features: 4 * 26 * 26,
                initializers: [weight]),
            "Conv (node 0) attribute group = 2 is not supported (only 1)")
        assertRejects(
            Self.classifier(
                [Self.node("Conv", ["images", "K"], "features", ints: ["strides": [1, 2]])], features: 4 * 26 * 13,
                initializers: [weight]),
            "Conv (node 0) attribute strides = [1, 2] is not supported (only equal strides)")
        assertRejects(
            Self.classifier([Self.node("Softmax", ["images"], "s"), Self.node("Relu", ["s"], "features")], features: 784),
            "operator Softmax (node 0) is supported only at the output, where it is dropped (the lab attacks logits)")
        assertRejects(
            Self.classifier([Self.node("Relu", ["nowhere"], "features")], features: 784),
            "Relu (node 0) reads nowhere, which no earlier node computes")
        assertRejects(
            Self.model(
                [Self.node("Flatten", ["images"], "flat"), Self.node("Gemm", ["flat", "W"], "logits", int: ["transB": 1])],
                initializers: [Self.tensor("W", [10, 700], [Float](repeating: 0, count: 7000))]),
            "Gemm (node 1) B has shape [10, 700] (transB = 1), which does not fit input [N, 784]")
        var truncated = Self.tensor("W", [10, 784], [1, 2, 3])
        truncated.name = "W"
        assertRejects(
            Self.model(
                [Self.node("Flatten", ["images"], "flat"), Self.node("Gemm", ["flat", "W"], "logits", int: ["transB": 1])],
                initializers: [truncated]),
            "initializer W has 3 values in float_data, shape [10, 784] needs 7840")
    }

    /// The fuzz target's seeds: three tiny classifiers that import and run, one rejected by name.
    func testFuzzSeedsImportAndRun() throws {
        let files = ONNXSamples.files()
        XCTAssertEqual(files.count, 4)
        for (name, bytes) in files {
            XCTAssertLessThan(bytes.count, 4096, "\(name) is longer than Scripts/fuzz's -max_len")
            if name.hasPrefix("unsupported") {
                assertRejects(Data(bytes), "operator Upsample (node 0) is not supported")
                continue
            }
            let model = try ONNXClassifier(bytes: Data(bytes), path: name)
            var rng = SeededGenerator(seed: 3)
            let (logits, pullback) = model.logits(Tensor.randomUniform([3, 1, 28, 28], using: &rng), mode: .eval)
            XCTAssertEqual(logits.shape, [3, 10], name)
            XCTAssertTrue(logits.isFinite, name)
            let gradient = pullback(Tensor(repeating: 1, shape: [3, 10]))
            XCTAssertEqual(gradient.shape, [3, 1, 28, 28], name)
            XCTAssertGreaterThan(gradient.maxAbs(), 0, name)
        }
    }

    // MARK: Operators the fixtures do not reach

    /// Asymmetric pads `[top, left, bottom, right]` mean what ONNX says: the image padded by
    /// hand and convolved by the plain loop, then averaged per channel, gives the same logits.
    func testAsymmetricConvolutionPadsAgainstThePlainLoop() throws {
        let kernel = (0..<90).map { Float(($0 * 37) % 11) / 11 - 0.4 }
        let data = Self.model(
            [
                Self.node("Conv", ["images", "K"], "convolved", ints: ["pads": [0, 1, 2, 0], "strides": [2, 2]]),
                Self.node("GlobalAveragePool", ["convolved"], "pooled"),
                Self.node("Flatten", ["pooled"], "logits"),
            ], initializers: [Self.tensor("K", [10, 1, 3, 3], kernel)])
        let model = try ONNXClassifier(bytes: data, path: Self.path)
        var rng = SeededGenerator(seed: 11)
        let images = Tensor.randomUniform([2, 1, 28, 28], using: &rng)
        // Padded by hand: 0 rows on top, 2 below, 1 column on the left, 0 on the right -> [2, 1, 30, 29].
        var padded = Tensor.zeros([2, 1, 30, 29])
        for n in 0..<2 {
            for row in 0..<28 {
                for column in 0..<28 {
                    padded.scalars[(n * 30 + row) * 29 + column + 1] = images.scalars[(n * 28 + row) * 28 + column]
                }
            }
        }
        let convolved = referenceConv2d(padded, weight: Tensor(shape: [10, 1, 3, 3], scalars: kernel), bias: nil, stride: 2, padding: 0)
        XCTAssertEqual(Array(convolved.shape.suffix(2)), [14, 14])
        let plane = 14 * 14
        let expected = Tensor(
            shape: [2, 10],
            scalars: (0..<20).map { index in
                convolved.scalars[(index * plane)..<((index + 1) * plane)].reduce(0, +) / Float(plane)
            })
        assertClose(model.logits(images, mode: .eval).0, expected, rtol: 1e-4, atol: 1e-5)
    }

    /// Constant-first arithmetic (c − x, c / x), a product of two values, asymmetric and
    /// SAME padding, Reshape with -1: the imported pullback against central differences.
    func testHandBuiltGraphAgainstFiniteDifferences() throws {
        let kernel = (0..<18).map { Float(($0 * 37) % 11) / 11 - 0.4 }
        let nodes = [
            Self.node("Sub", ["one", "images"], "inverted"),  // 1 − x
            Self.node("Add", ["inverted", "two"], "shifted"),  // 3 − x ∈ [2, 3]
            Self.node("Div", ["one", "shifted"], "reciprocal"),  // 1 / (3 − x)
            Self.node("Mul", ["reciprocal", "images"], "product"),  // x / (3 − x), two values
            Self.node("Conv", ["product", "K"], "convolved", ints: ["pads": [0, 1, 1, 0], "strides": [2, 2]]),
            Self.node("AveragePool", ["convolved"], "pooled", ints: ["kernel_shape": [2, 2], "strides": [2, 2]]),
            Self.node("Reshape", ["pooled", "shape"], "features"),
        ]
        let data = Self.classifier(
            nodes, features: 2 * 7 * 7,
            initializers: [
                Self.tensor("one", [], [1]), Self.tensor("two", [1, 1, 1], [2]), Self.tensor("K", [2, 1, 3, 3], kernel),
                Self.integers("shape", [0, -1]),
            ])
        let model = try ONNXClassifier(bytes: data, path: Self.path)
        var rng = SeededGenerator(seed: 7)
        let images = Tensor.randomUniform([2, 1, 28, 28], low: 0, high: 1, using: &rng)
        let cotangent = Tensor.randomNormal([2, 10], using: &rng)
        let (_, pullback) = model.logits(images, mode: .eval)
        let gradient = pullback(cotangent)
        func objective(_ x: Tensor) -> Double {
            zip(model.logits(x, mode: .eval).0.scalars, cotangent.scalars).reduce(0) { $0 + Double($1.0) * Double($1.1) }
        }
        var numeric: [Float] = []
        var analytic: [Float] = []
        for index in stride(from: 3, to: images.count, by: 23) {
            var plus = images
            var minus = images
            plus.scalars[index] += 1e-2
            minus.scalars[index] -= 1e-2
            numeric.append(Float((objective(plus) - objective(minus)) / 2e-2))
            analytic.append(gradient.scalars[index])
        }
        let scale = numeric.map(abs).max() ?? 0
        XCTAssertGreaterThan(scale, 1e-3)
        assertClose(analytic, numeric, rtol: 2e-2, atol: 2e-3 * scale)
    }
}
