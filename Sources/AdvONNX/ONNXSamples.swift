import Foundation

/// Tiny ONNX classifiers (under 4 KB each) built with the generated protobuf types: the seeds of
/// the `fuzz-onnx` target, from which libFuzzer mutates towards every importer path. Not for
/// accuracy: the weights are a fixed pattern.
package enum ONNXSamples {
    /// (file name, bytes) of each sample; `unsupported-upsample.onnx` must be rejected.
    package static func files() -> [(name: String, bytes: [UInt8])] {
        let samples: [(String, Onnx_ModelProto)] = [
            ("tiny-cnn.onnx", tinyCNN()),
            ("normalized-pool.onnx", normalizedPool()),
            ("residual-reshape.onnx", residualReshape()),
            ("unsupported-upsample.onnx", unsupported()),
        ]
        return samples.compactMap { name, model in (try? model.serializedBytes()).map { (name, Array($0 as Data)) } }
    }

    static func pattern(_ count: Int, scale: Float = 0.1) -> [Float] { (0..<count).map { Float(($0 * 37) % 17 - 8) * scale / 8 } }

    static func tensor(_ name: String, _ shape: [Int], _ values: [Float]) -> Onnx_TensorProto {
        var proto = Onnx_TensorProto()
        proto.name = name
        proto.dims = shape.map { Int64($0) }
        proto.dataType = Int32(Onnx_TensorProto.DataType.float.rawValue)
        // Raw little-endian data, as exporters write it.
        var bytes = Data()
        for value in values { withUnsafeBytes(of: value.bitPattern.littleEndian) { bytes.append(contentsOf: $0) } }
        proto.rawData = bytes
        return proto
    }

    static func node(
        _ op: String, _ inputs: [String], _ output: String, ints: [String: [Int64]] = [:], int: [String: Int64] = [:],
        float: [String: Float] = [:]
    ) -> Onnx_NodeProto {
        var proto = Onnx_NodeProto()
        proto.opType = op
        proto.input = inputs
        proto.output = [output]
        for (name, values) in ints.sorted(by: { $0.key < $1.key }) {
            var attribute = Onnx_AttributeProto()
            (attribute.name, attribute.type, attribute.ints) = (name, .ints, values)
            proto.attribute.append(attribute)
        }
        for (name, value) in int.sorted(by: { $0.key < $1.key }) {
            var attribute = Onnx_AttributeProto()
            (attribute.name, attribute.type, attribute.i) = (name, .int, value)
            proto.attribute.append(attribute)
        }
        for (name, value) in float.sorted(by: { $0.key < $1.key }) {
            var attribute = Onnx_AttributeProto()
            (attribute.name, attribute.type, attribute.f) = (name, .float, value)
            proto.attribute.append(attribute)
        }
        return proto
    }

    static func valueInfo(_ name: String, _ dims: [Int64?]) -> Onnx_ValueInfoProto {
        var info = Onnx_ValueInfoProto()
        info.name = name
        var tensor = Onnx_TypeProto.Tensor()
        tensor.elemType = Int32(Onnx_TensorProto.DataType.float.rawValue)
        tensor.shape.dim = dims.map { dim in
            var d = Onnx_TensorShapeProto.Dimension()
            if let dim { d.dimValue = dim } else { d.dimParam = "N" }
            return d
        }
        info.type.tensorType = tensor
        return info
    }

    /// A model around `nodes` reading `images` (`input`, default [N, 1, 28, 28]) and writing `logits` [N, 10].
    static func model(
        _ nodes: [Onnx_NodeProto], _ initializers: [Onnx_TensorProto], input: [Int64?] = [nil, 1, 28, 28],
        opset: Int64 = 17
    ) -> Onnx_ModelProto {
        var model = Onnx_ModelProto()
        model.irVersion = 8
        var set = Onnx_OperatorSetIdProto()
        set.version = opset
        model.opsetImport = [set]
        model.graph.node = nodes
        model.graph.initializer = initializers
        model.graph.input = [valueInfo("images", input)]
        model.graph.output = [valueInfo("logits", [nil, 10])]
        return model
    }

    /// Conv (stride 3, pads 1) → Relu → MaxPool 2 → Flatten → Gemm.
    static func tinyCNN() -> Onnx_ModelProto {
        model(
            [
                node(
                    "Conv", ["images", "conv.weight", "conv.bias"], "c",
                    ints: ["kernel_shape": [3, 3], "pads": [1, 1, 1, 1], "strides": [3, 3]]),
                node("Relu", ["c"], "r"),
                node("MaxPool", ["r"], "p", ints: ["kernel_shape": [2, 2], "strides": [2, 2]]),
                node("Flatten", ["p"], "f", int: ["axis": 1]),
                node("Gemm", ["f", "fc.weight", "fc.bias"], "logits", int: ["transB": 1]),
            ],
            [
                tensor("conv.weight", [2, 1, 3, 3], pattern(18, scale: 1)), tensor("conv.bias", [2], [0.1, -0.1]),
                tensor("fc.weight", [10, 50], pattern(500)), tensor("fc.bias", [10], pattern(10)),
            ])
    }

    /// (x − mean) / std → AveragePool 4 → Sigmoid → GlobalAveragePool → Flatten → MatMul → Add → Softmax.
    static func normalizedPool() -> Onnx_ModelProto {
        model(
            [
                node("Sub", ["images", "mean"], "centered"),
                node("Div", ["centered", "std"], "normalized"),
                node("AveragePool", ["normalized"], "a", ints: ["kernel_shape": [4, 4], "strides": [4, 4]]),
                node("Sigmoid", ["a"], "s"),
                node("GlobalAveragePool", ["s"], "g"),
                node("Flatten", ["g"], "f"),
                node("MatMul", ["f", "w"], "m"),
                node("Add", ["m", "b"], "z"),
                node("Softmax", ["z"], "logits", int: ["axis": 1]),
            ],
            [
                tensor("mean", [], [0.1307]), tensor("std", [1, 1, 1], [0.3081]), tensor("w", [1, 10], pattern(10, scale: 1)),
                tensor("b", [10], pattern(10)),
            ])
    }

    /// Conv + residual Add → BatchNormalization → LeakyRelu → ConvTranspose → AveragePool → Reshape → Gemm → LogSoftmax.
    static func residualReshape() -> Onnx_ModelProto {
        model(
            [
                node("Conv", ["images", "k"], "c", ints: ["pads": [1, 1, 1, 1], "dilations": [1, 1]]),
                node("Add", ["c", "images"], "sum"),
                node("BatchNormalization", ["sum", "scale", "shift", "mean", "var"], "bn", float: ["epsilon": 1e-5]),
                node("LeakyRelu", ["bn"], "l", float: ["alpha": 0.1]),
                node("AveragePool", ["l"], "a", ints: ["kernel_shape": [7, 7], "strides": [7, 7]]),
                node("ConvTranspose", ["a", "up"], "u", ints: ["strides": [2, 2]]),
                node("Reshape", ["u", "shape"], "flat"),
                node("Gemm", ["flat", "fc.weight"], "z", int: ["transB": 1]),
                node("LogSoftmax", ["z"], "logits", int: ["axis": 1]),
            ],
            [
                tensor("k", [1, 1, 3, 3], pattern(9, scale: 1)), tensor("scale", [1], [1.5]), tensor("shift", [1], [0.1]),
                tensor("mean", [1], [0.2]), tensor("var", [1], [0.5]), tensor("up", [1, 1, 2, 2], pattern(4, scale: 1)),
                {
                    var shape = Onnx_TensorProto()
                    let int64 = Int32(Onnx_TensorProto.DataType.int64.rawValue)
                    (shape.name, shape.dims, shape.dataType, shape.int64Data) = ("shape", [2], int64, [0, -1])
                    return shape
                }(),
                tensor("fc.weight", [10, 64], pattern(640)),
            ])
    }

    /// An Upsample node: rejected with its name and node number.
    static func unsupported() -> Onnx_ModelProto {
        model(
            [
                node("Upsample", ["images"], "u"),
                node("Flatten", ["u"], "f"),
                node("Gemm", ["f", "w"], "logits", int: ["transB": 1]),
            ], [tensor("w", [10, 1], pattern(10))])
    }
}
