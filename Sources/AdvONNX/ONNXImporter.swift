import AdvNN
import AdvTensor
import Foundation

/// Turns an ONNX graph into `ONNXStep`s over the lab's layers (`Conv2d`, `Linear`, `MaxPool2d`,
/// `BatchNorm`, …), checking every shape while it goes, so that a model that imports runs
/// without tripping a layer's precondition. Shapes are tracked per example: the batch axis is
/// axis 0 of every computed value and never changes.
///
/// Supported: Conv (pads, strides, dilations; group 1), ConvTranspose, Gemm, MatMul, Add, Sub,
/// Mul, Div (with constants or between values of one shape), Relu, LeakyRelu, Sigmoid, Tanh,
/// MaxPool, AveragePool, GlobalAveragePool, BatchNormalization (inference), Flatten, Reshape,
/// Identity, Dropout (inference), Constant, initializers; Softmax and LogSoftmax only at the
/// output, where they are dropped. Anything else throws one `ONNXError`.
struct ONNXImporter {
    struct Imported {
        var opset: Int64
        var operatorSummary: String
        var steps: [ONNXStep]
        var valueCount: Int
        var logitsValue: Int
        var featuresValue: Int
        var parameters: [(String, Parameter)]
    }

    /// A named value of the graph: computed per example (`id`, one example's shape) or constant.
    enum Value {
        case computed(id: Int, shape: [Int])
        case constant(ONNXConstant)
    }

    /// The most scalars one example's value may have (16 MB of floats), so that a hostile file
    /// cannot make a layer allocate without bound.
    static let maximumExampleElements = 1 << 22

    let path: String
    var values: [String: Value] = [:]
    var valueCount = 1
    var steps: [ONNXStep] = []
    var parameters: [(String, Parameter)] = []
    /// Output value -> input value of each fully connected step (for `features`).
    var linearInputs: [Int: Int] = [:]
    /// Output value -> input value of each step adding a constant (a `MatMul`'s bias).
    var biasInputs: [Int: Int] = [:]
    /// The batch size the graph's input declares, when it declares a number (an export without
    /// dynamic axes): a `Reshape` to that leading size keeps the batch axis.
    var declaredBatch: Int?

    init(path: String) { self.path = path }

    static func importModel(_ bytes: UnsafeRawBufferPointer, path: String) throws -> Imported {
        let model = try ONNXFile.decode(bytes, path: path)
        let opset = try ONNXFile.opset(of: model, path: path)
        var importer = ONNXImporter(path: path)
        return try importer.importGraph(model.graph, opset: opset)
    }

    func error(_ message: String) -> ONNXError { ONNXError(path: path, message: message) }

    mutating func importGraph(_ graph: Onnx_GraphProto, opset: Int64) throws -> Imported {
        guard graph.sparseInitializer.isEmpty else { throw error("has sparse initializers, which are not supported") }
        for initializer in graph.initializer {
            values[initializer.name] = .constant(try ONNXFile.constant(initializer, what: "initializer \(initializer.name)", path: path))
        }
        // The image input: the one graph input that no initializer provides.
        let inputs = graph.input.filter { values[$0.name] == nil }
        guard inputs.count == 1, let input = inputs.first else {
            let names = inputs.map(\.name).joined(separator: ", ")
            throw error("has \(inputs.count) inputs (\(names)); expected one, the images [N, 1, 28, 28]")
        }
        try checkImageInput(input)
        values[input.name] = .computed(id: 0, shape: [1, 28, 28])

        guard graph.output.count == 1, let output = graph.output.first else {
            throw error("has \(graph.output.count) outputs; expected one, the logits [N, 10]")
        }
        let dropped = droppedOutputNodes(graph, output: output.name)

        var counts: [String: Int] = [:]
        for (index, node) in graph.node.enumerated() where !dropped.contains(index) {
            try importNode(node, index: index, opset: opset)
            counts[node.opType, default: 0] += 1
        }
        // The logits: the graph output, or the input of the dropped softmax.
        var logitsName = output.name
        while let producer = graph.node.lastIndex(where: { $0.output.contains(logitsName) }), dropped.contains(producer),
            let first = graph.node[producer].input.first
        {
            logitsName = first
        }
        guard let logits = values[logitsName] else { throw error("output \(output.name) is not computed by any node") }
        guard case .computed(let logitsValue, let shape) = logits else { throw error("output \(output.name) is a constant") }
        guard shape == [10] else {
            throw error("output \(output.name) has shape \(Self.describe(shape)), expected [N, 10] (logits of 10 classes)")
        }
        guard logitsValue != 0 else { throw error("output \(output.name) is the input itself") }

        var featuresValue = logitsValue
        if let input = linearInputs[logitsValue] ?? biasInputs[logitsValue].flatMap({ linearInputs[$0] }) { featuresValue = input }
        let summary = counts.sorted { $0.key < $1.key }.map { "\($0.key)×\($0.value)" }.joined(separator: ", ")
        return Imported(
            opset: opset, operatorSummary: summary, steps: steps, valueCount: valueCount, logitsValue: logitsValue,
            featuresValue: featuresValue, parameters: parameters)
    }

    /// The input must be float images [N, 1, 28, 28] (N free or a number).
    mutating func checkImageInput(_ input: Onnx_ValueInfoProto) throws {
        guard case .tensorType(let tensor)? = input.type.value else {
            throw error("input \(input.name) is not a tensor; expected float images [N, 1, 28, 28]")
        }
        guard tensor.elemType == Int32(Onnx_TensorProto.DataType.float.rawValue) else {
            let type = Onnx_TensorProto.DataType(rawValue: Int(tensor.elemType)).map { "\($0)" } ?? "\(tensor.elemType)"
            throw error("input \(input.name) has element type \(type), expected float images [N, 1, 28, 28]")
        }
        guard tensor.hasShape else { return }
        let dims: [String] = tensor.shape.dim.map { dim in
            switch dim.value {
            case .dimValue(let value)?: return String(value)
            case .dimParam(let name)?: return name.isEmpty ? "?" : name
            case nil: return "?"
            }
        }
        let expected = ["1", "28", "28"]
        let fits = dims.count == 4 && zip(dims.dropFirst(), expected).allSatisfy { Int($0) == nil || $0 == $1 }
        guard fits else { throw error("input \(input.name) has shape [\(dims.joined(separator: ", "))], expected [N, 1, 28, 28]") }
        if case .dimValue(let batch)? = tensor.shape.dim.first?.value, batch > 0 { declaredBatch = Int(batch) }
    }

    /// Nodes to skip: a Softmax or LogSoftmax that produces the graph output (through any
    /// Identity after it), which the lab drops to attack logits.
    func droppedOutputNodes(_ graph: Onnx_GraphProto, output: String) -> Set<Int> {
        var dropped: Set<Int> = []
        var name = output
        var chain: [Int] = []
        while let index = graph.node.lastIndex(where: { $0.output.contains(name) }) {
            let node = graph.node[index]
            guard ["Identity", "Softmax", "LogSoftmax"].contains(node.opType), node.domain.isEmpty || node.domain == "ai.onnx",
                let input = node.input.first
            else { break }
            chain.append(index)
            if node.opType != "Identity" {
                dropped.formUnion(chain)
                break
            }
            name = input
        }
        return dropped
    }

    // MARK: Nodes

    mutating func importNode(_ node: Onnx_NodeProto, index: Int, opset: Int64) throws {
        let label = "\(node.opType) (node \(index))"
        guard node.domain.isEmpty || node.domain == "ai.onnx" else {
            throw error("operator \(node.opType) of domain \(node.domain) (node \(index)) is not supported")
        }
        guard let allowedAttributes = Self.allowedAttributes[node.opType] else {
            throw error("operator \(node.opType) (node \(index)) is not supported")
        }
        let attributes = try NodeAttributes(node, label: label, path: path)
        try attributes.allow(allowedAttributes)
        // Inputs by position; an empty name is an omitted optional input.
        let inputs: [Value?] = try node.input.map { name in
            guard !name.isEmpty else { return nil }
            guard let value = values[name] else { throw error("\(label) reads \(name), which no earlier node computes") }
            return value
        }
        func input(_ position: Int, _ role: String) throws -> Value {
            guard position < inputs.count, let value = inputs[position] else { throw error("\(label) has no \(role) input") }
            return value
        }
        func computedInput(_ position: Int = 0) throws -> (id: Int, shape: [Int]) {
            switch try input(position, "data") {
            case .computed(let id, let shape): return (id, shape)
            case .constant: throw error("\(label) input \(position + 1) is a constant; only operators on the images' values are supported")
            }
        }
        func constantInput(_ position: Int, _ role: String) throws -> ONNXConstant {
            switch try input(position, role) {
            case .constant(let constant): return constant
            case .computed: throw error("\(label) \(role) (input \(position + 1)) is computed from the images; it must be a constant")
            }
        }
        func optionalConstant(_ position: Int, _ role: String) throws -> ONNXConstant? {
            guard position < inputs.count, inputs[position] != nil else { return nil }
            return try constantInput(position, role)
        }
        let outputs = node.output.filter { !$0.isEmpty }
        func singleOutput() throws -> String {
            guard let first = node.output.first, !first.isEmpty else { throw error("\(label) has no output") }
            guard outputs.count == 1 else { throw error("\(label) has \(outputs.count) outputs; only its first is supported") }
            return first
        }

        switch node.opType {
        case "Constant":
            values[try singleOutput()] = .constant(try attributes.constantValue())

        case "Identity":
            values[try singleOutput()] = try input(0, "data")

        case "Dropout":
            // Inference: the identity. A training_mode input that is a true constant is not.
            if let training = try optionalConstant(2, "training_mode"), training.floats.contains(where: { $0 != 0 }) {
                throw error("\(label) has training_mode true; only inference Dropout is supported")
            }
            values[try singleOutput()] = try input(0, "data")

        case "Relu", "Sigmoid", "Tanh", "LeakyRelu":
            let x = try computedInput()
            let layer: any Layer
            switch node.opType {
            case "Relu": layer = ReLU()
            case "Sigmoid": layer = Sigmoid()
            case "Tanh": layer = Tanh()
            default: layer = LeakyReLU(slope: try attributes.float("alpha", 0.01))
            }
            try addLayer(layer, label: label, input: x.id, output: try singleOutput(), shape: x.shape)

        case "Add", "Sub", "Mul", "Div":
            try importArithmetic(
                ArithmeticOperation(rawValue: node.opType) ?? .add, label: label,
                first: try input(0, "first"), second: try input(1, "second"), output: try singleOutput())

        case "Conv":
            try importConvolution(
                label: label, input: try computedInput(), weight: try constantInput(1, "weight"),
                bias: try optionalConstant(2, "bias"), attributes: attributes, output: try singleOutput(), index: index)

        case "ConvTranspose":
            try importTransposedConvolution(
                label: label, input: try computedInput(), weight: try constantInput(1, "weight"),
                bias: try optionalConstant(2, "bias"), attributes: attributes, output: try singleOutput(),
                index: index)

        case "Gemm":
            let x = try computedInput()
            guard x.shape.count == 1 else { throw error("\(label) input has shape \(Self.describe(x.shape)), expected [N, K]") }
            guard try attributes.int("transA", 0) == 0 else {
                throw error("\(label) attribute transA = 1 is not supported (the batch must lead)")
            }
            let b = try constantInput(1, "B")
            guard b.shape.count == 2 else { throw error("\(label) B has shape \(b.shape), expected 2 dimensions") }
            let transB = try attributes.int("transB", 0) != 0
            let (alpha, beta) = (try attributes.float("alpha", 1), try attributes.float("beta", 1))
            // Linear wants [M, K]: B itself when transB, else Bᵀ.
            var weight = transB ? b.tensor : Self.transposed(b.tensor)
            guard weight.shape[1] == x.shape[0] else {
                throw error("\(label) B has shape \(b.shape) (transB = \(transB ? 1 : 0)), which does not fit input [N, \(x.shape[0])]")
            }
            if alpha != 1 { weight = weight * alpha }
            let m = weight.shape[0]
            var bias = Tensor.zeros([m])
            if let c = try optionalConstant(2, "C") {
                let expanded = try broadcast(c, to: [m], label: label, role: "C")
                bias = Tensor(shape: [m], scalars: expanded.map { $0 * beta })
            }
            try addLinear(Linear(weight: weight, bias: bias), label: label, input: x.id, output: try singleOutput(), index: index)

        case "MatMul":
            let x = try computedInput()
            guard x.shape.count == 1 else { throw error("\(label) input has shape \(Self.describe(x.shape)), expected [N, K]") }
            let b = try constantInput(1, "B")
            guard b.shape.count == 2, b.shape[0] == x.shape[0] else {
                throw error("\(label) B has shape \(b.shape), which does not fit input [N, \(x.shape[0])]")
            }
            let weight = Self.transposed(b.tensor)
            try addLinear(
                Linear(weight: weight, bias: Tensor.zeros([weight.shape[0]])), label: label, input: x.id,
                output: try singleOutput(), index: index)

        case "MaxPool", "AveragePool":
            try importPooling(node.opType, label: label, input: try computedInput(), attributes: attributes, output: try singleOutput())

        case "GlobalAveragePool":
            let x = try computedInput()
            guard x.shape.count == 3 else { throw error("\(label) input has shape \(Self.describe(x.shape)), expected [N, C, H, W]") }
            try addLayer(
                AveragePool2d.global(height: x.shape[1], width: x.shape[2]), label: label, input: x.id,
                output: try singleOutput(), shape: [x.shape[0], 1, 1])

        case "BatchNormalization":
            let x = try computedInput()
            guard x.shape.count == 1 || x.shape.count == 3 else {
                throw error("\(label) input has shape \(Self.describe(x.shape)), expected [N, C] or [N, C, H, W]")
            }
            guard try attributes.int("training_mode", 0) == 0 else { throw error("\(label) attribute training_mode = 1 is not supported") }
            guard try attributes.int("spatial", 1) == 1 else { throw error("\(label) attribute spatial = 0 is not supported") }
            let channels = x.shape[0]
            let layer = BatchNorm(channels: channels, epsilon: try attributes.float("epsilon", 1e-5))
            for (position, role, parameter) in [
                (1, "scale", layer.scale), (2, "B", layer.shift), (3, "mean", layer.runningMean),
                (4, "var", layer.runningVariance),
            ] {
                let constant = try constantInput(position, role)
                guard constant.count == channels, constant.shape.count == 1 else {
                    throw error("\(label) \(role) has shape \(constant.shape), expected [\(channels)]")
                }
                parameter.value = constant.tensor
            }
            parameters += layer.namedState(prefix: "node\(index)")
            try addLayer(layer, label: label, input: x.id, output: try singleOutput(), shape: x.shape)

        case "Flatten":
            let x = try computedInput()
            var axis = try attributes.int("axis", 1)
            if axis < 0 { axis += x.shape.count + 1 }
            guard axis == 1 else {
                throw error("\(label) attribute axis = \(try attributes.int("axis", 1)) is not supported (only 1: keep the batch)")
            }
            try addLayer(Flatten(), label: label, input: x.id, output: try singleOutput(), shape: [x.shape.reduce(1, *)])

        case "Reshape":
            let x = try computedInput()
            let target = try constantInput(1, "shape")
            guard let dims = target.integers, target.shape.count == 1 else {
                throw error("\(label) shape must be a constant list of integers")
            }
            // allowzero = 1 (PyTorch's dynamo exporter) changes only what a 0 in the shape means.
            guard try attributes.int("allowzero", 0) == 0 || !dims.contains(0) else {
                throw error("\(label) attribute allowzero = 1 with a 0 in shape \(dims) is not supported")
            }
            let shape = try reshapedExampleShape(dims.map(Int.init), from: x.shape, label: label)
            try addLayer(Reshape(shape), label: label, input: x.id, output: try singleOutput(), shape: shape)

        case "Softmax", "LogSoftmax":
            throw error(
                "operator \(node.opType) (node \(index)) is supported only "
                    + "at the output, where it is dropped (the lab attacks logits)")

        default:
            throw error("operator \(node.opType) (node \(index)) is not supported")
        }
    }

    /// The attributes each operator may carry; any other is an error (it may change the result).
    /// Every supported operator is a key (the others are rejected before their attributes).
    static let allowedAttributes: [String: Set<String>] = [
        "Identity": [], "Relu": [], "Sigmoid": [], "Tanh": [], "Add": [], "Sub": [], "Mul": [], "Div": [], "MatMul": [],
        "GlobalAveragePool": [],
        "Constant": ["value", "value_float", "value_floats", "value_int", "value_ints"],
        "Dropout": ["ratio", "seed", "is_test"],
        "LeakyRelu": ["alpha"],
        "Conv": ["auto_pad", "dilations", "group", "kernel_shape", "pads", "strides"],
        "ConvTranspose": ["auto_pad", "dilations", "group", "kernel_shape", "pads", "strides", "output_padding"],
        "Gemm": ["alpha", "beta", "transA", "transB"],
        "MaxPool": ["auto_pad", "ceil_mode", "dilations", "kernel_shape", "pads", "storage_order", "strides"],
        "AveragePool": ["auto_pad", "ceil_mode", "count_include_pad", "dilations", "kernel_shape", "pads", "strides"],
        "BatchNormalization": ["epsilon", "momentum", "spatial", "training_mode"],
        "Flatten": ["axis"],
        "Reshape": ["allowzero"],
        "Softmax": ["axis"],
        "LogSoftmax": ["axis"],
    ]

    // MARK: Steps

    mutating func newValue(_ name: String, shape: [Int], label: String) throws -> Int {
        try checkSize(name, shape: shape, label: label)
        let id = valueCount
        valueCount += 1
        values[name] = .computed(id: id, shape: shape)
        return id
    }

    /// Every dimension positive, at most `maximumExampleElements` scalars per example.
    func checkSize(_ name: String, shape: [Int], label: String) throws {
        guard shape.allSatisfy({ $0 > 0 }) else { throw error("\(label) output \(name) would have shape \(Self.describe(shape))") }
        var count = 1
        for dim in shape {
            let (product, overflow) = count.multipliedReportingOverflow(by: dim)
            guard !overflow, product <= Self.maximumExampleElements else {
                throw error(
                    "\(label) output \(name) has shape \(Self.describe(shape)), "
                        + "more than \(Self.maximumExampleElements) scalars per image")
            }
            count = product
        }
    }

    mutating func addLayer(_ layer: some Layer, label: String, input: Int, output: String, shape: [Int]) throws {
        let id = try newValue(output, shape: shape, label: label)
        steps.append(
            ONNXStep(
                label: label, inputs: [input], output: id,
                forward: { inputs, mode in
                    let (y, back) = layer.forward(inputs[0], mode: mode)
                    return (y, { [back($0)] })
                }))
    }

    /// Several layers in a row as one step (a padded convolution's Pad2d then Conv2d).
    mutating func addLayers(_ layers: [any Layer], label: String, input: Int, output: String, shape: [Int]) throws {
        let id = try newValue(output, shape: shape, label: label)
        steps.append(
            ONNXStep(
                label: label, inputs: [input], output: id,
                forward: { inputs, mode in
                    var x = inputs[0]
                    var backs: [Pullback] = []
                    for layer in layers {
                        let (y, back) = layer.forward(x, mode: mode)
                        backs.append(back)
                        x = y
                    }
                    return (x, { dy in [backs.reversed().reduce(dy) { gradient, back in back(gradient) }] })
                }))
    }

    mutating func addLinear(_ layer: Linear, label: String, input: Int, output: String, index: Int) throws {
        try addLayer(layer, label: label, input: input, output: output, shape: [layer.outputSize])
        linearInputs[valueCount - 1] = input
        parameters += layer.namedState(prefix: "node\(index)")
    }

    mutating func importArithmetic(_ operation: ArithmeticOperation, label: String, first: Value, second: Value, output: String) throws {
        switch (first, second) {
        case (.computed(let a, let shapeA), .computed(let b, let shapeB)):
            guard shapeA == shapeB else {
                throw error("\(label) of shapes \(Self.describe(shapeA)) and \(Self.describe(shapeB)) is not supported (only equal shapes)")
            }
            let id = try newValue(output, shape: shapeA, label: label)
            steps.append(
                ONNXStep(
                    label: label, inputs: [a, b], output: id,
                    forward: { inputs, _ in
                        let (y, back) = valueArithmetic(operation, inputs[0], inputs[1])
                        return (
                            y,
                            { dy in
                                let (da, db) = back(dy)
                                return [da, db]
                            }
                        )
                    }))
        case (.computed(let x, let shape), .constant(let c)), (.constant(let c), .computed(let x, let shape)):
            let constantFirst: Bool
            if case .constant = first { constantFirst = true } else { constantFirst = false }
            let expanded = try broadcast(c, to: shape, label: label, role: "constant")
            let layer = ConstantArithmetic(operation: operation, constant: expanded, constantFirst: constantFirst)
            try addLayer(layer, label: label, input: x, output: output, shape: shape)
            if operation == .add { biasInputs[valueCount - 1] = x }
        case (.constant, .constant):
            throw error("\(label) of two constants is not supported (export with constant folding)")
        }
    }

    /// `constant` broadcast (NumPy rules) to one example of `shape`, flattened; it may not
    /// enlarge the value it meets, and a leading batch axis must be 1.
    func broadcast(_ constant: ONNXConstant, to shape: [Int], label: String, role: String) throws -> [Float] {
        var constantShape = constant.shape
        let fail = error("\(label) \(role) of shape \(constant.shape) does not broadcast to \(Self.describe(shape))")
        if constantShape.count == shape.count + 1 {
            guard constantShape[0] == 1 else { throw fail }
            constantShape.removeFirst()
        }
        guard constantShape.count <= shape.count else { throw fail }
        constantShape = [Int](repeating: 1, count: shape.count - constantShape.count) + constantShape
        for (c, s) in zip(constantShape, shape) where c != s && c != 1 { throw fail }
        if constantShape == shape { return constant.floats }
        // Strides of the constant, 0 along its broadcast axes.
        var strides = [Int](repeating: 0, count: shape.count)
        var stride = 1
        for axis in shape.indices.reversed() {
            strides[axis] = constantShape[axis] == 1 ? 0 : stride
            stride *= constantShape[axis]
        }
        let count = shape.reduce(1, *)
        var result = [Float](repeating: 0, count: count)
        var index = [Int](repeating: 0, count: shape.count)
        for flat in 0..<count {
            var source = 0
            for axis in shape.indices { source += index[axis] * strides[axis] }
            result[flat] = constant.floats[source]
            var axis = shape.count - 1
            while axis >= 0 {
                index[axis] += 1
                if index[axis] < shape[axis] { break }
                index[axis] = 0
                axis -= 1
            }
        }
        return result
    }

    /// One example's shape after `Reshape` to `dims` (the full shape, batch first).
    func reshapedExampleShape(_ dims: [Int], from shape: [Int], label: String) throws -> [Int] {
        let count = shape.reduce(1, *)
        let fail = error("\(label) to shape \(dims) is not supported for input \(Self.describe(shape)) (the batch axis must stay first)")
        guard let leading = dims.first, leading == 0 || leading == -1 || (declaredBatch.map { leading == $0 } ?? false) else { throw fail }
        var result: [Int] = []
        var inferred: Int?
        for (position, dim) in dims.enumerated().dropFirst() {
            switch dim {
            case 0:
                guard position - 1 < shape.count else { throw fail }
                result.append(shape[position - 1])
            case -1:
                guard inferred == nil, leading != -1 else { throw fail }
                inferred = result.count
                result.append(1)
            case 1...: result.append(dim)
            default: throw fail
            }
        }
        var known = 1
        for dim in result {
            let (product, overflow) = known.multipliedReportingOverflow(by: dim)
            guard !overflow, product <= Self.maximumExampleElements else { throw fail }
            known = product
        }
        if let inferred {
            guard known > 0, count % known == 0 else { throw fail }
            result[inferred] = count / known
        }
        guard result.reduce(1, *) == count else { throw fail }
        return result
    }

    // MARK: Convolutions and pooling

    /// Pads `[top, left, bottom, right]` from `pads` / `auto_pad` for a `kernel` (dilated) and `stride`.
    func spatialPads(
        _ attributes: NodeAttributes, label: String, size: (Int, Int), kernel: (Int, Int),
        stride: (Int, Int)
    ) throws -> (Int, Int, Int, Int) {
        switch try attributes.string("auto_pad", "NOTSET") {
        case "NOTSET":
            let pads = try attributes.ints("pads", [0, 0, 0, 0])
            guard pads.count == 4, pads.allSatisfy({ $0 >= 0 }) else {
                throw error("\(label) attribute pads = \(pads) is not supported (4 non-negative values)")
            }
            return (pads[0], pads[1], pads[2], pads[3])
        case "VALID":
            return (0, 0, 0, 0)
        case let mode where mode == "SAME_UPPER" || mode == "SAME_LOWER":
            func split(_ size: Int, _ kernel: Int, _ stride: Int) -> (Int, Int) {
                let output = (size + stride - 1) / stride
                let total = max((output - 1) * stride + kernel - size, 0)
                return mode == "SAME_UPPER" ? (total / 2, total - total / 2) : (total - total / 2, total / 2)
            }
            let (top, bottom) = split(size.0, kernel.0, stride.0)
            let (left, right) = split(size.1, kernel.1, stride.1)
            return (top, left, bottom, right)
        case let other:
            throw error("\(label) attribute auto_pad = \(other) is not supported")
        }
    }

    /// Two equal positive values of a 2-D attribute (`strides`), or its default.
    func pair(_ attributes: NodeAttributes, _ name: String, label: String, default value: Int) throws -> (Int, Int) {
        let values = try attributes.ints(name, [value, value])
        guard values.count == 2, values.allSatisfy({ $0 > 0 && $0 <= 1 << 16 }) else {
            throw error("\(label) attribute \(name) = \(values) is not supported (two positive values for 2-D images)")
        }
        return (values[0], values[1])
    }

    mutating func importConvolution(
        label: String, input x: (id: Int, shape: [Int]), weight: ONNXConstant, bias: ONNXConstant?,
        attributes: NodeAttributes, output: String, index: Int
    ) throws {
        guard x.shape.count == 3 else { throw error("\(label) input has shape \(Self.describe(x.shape)), expected [N, C, H, W]") }
        guard try attributes.int("group", 1) == 1 else {
            throw error("\(label) attribute group = \(try attributes.int("group", 1)) is not supported (only 1)")
        }
        guard weight.shape.count == 4, weight.shape[1] == x.shape[0], weight.shape.allSatisfy({ $0 > 0 }) else {
            throw error("\(label) weight has shape \(weight.shape), which does not fit input \(Self.describe(x.shape))")
        }
        let (oc, c, kh, kw) = (weight.shape[0], weight.shape[1], weight.shape[2], weight.shape[3])
        let kernelShape = try attributes.ints("kernel_shape", [kh, kw])
        guard kernelShape == [kh, kw] else {
            throw error("\(label) attribute kernel_shape = \(kernelShape) does not match weight \(weight.shape)")
        }
        let stride = try pair(attributes, "strides", label: label, default: 1)
        guard stride.0 == stride.1 else {
            throw error("\(label) attribute strides = [\(stride.0), \(stride.1)] is not supported (only equal strides)")
        }
        let dilation = try pair(attributes, "dilations", label: label, default: 1)
        // A dilated kernel is the kernel with (d − 1) zeros between its taps: the same output and
        // gradients from the undilated engine, at d² times the work.
        let (dkh, dkw) = ((kh - 1) * dilation.0 + 1, (kw - 1) * dilation.1 + 1)
        guard dkh <= Self.maximumExampleElements / dkw, oc * c <= Self.maximumExampleElements / (dkh * dkw) else {
            throw error("\(label) dilated kernel \(dkh)×\(dkw) is too large")
        }
        var kernel = weight.tensor
        if dilation != (1, 1) {
            kernel = Tensor.zeros([oc, c, dkh, dkw])
            for plane in 0..<(oc * c) {
                for i in 0..<kh {
                    for j in 0..<kw {
                        kernel.scalars[(plane * dkh + i * dilation.0) * dkw + j * dilation.1] = weight.floats[(plane * kh + i) * kw + j]
                    }
                }
            }
        }
        let (top, left, bottom, right) = try spatialPads(
            attributes, label: label, size: (x.shape[1], x.shape[2]),
            kernel: (dkh, dkw), stride: stride)
        guard max(top, bottom) < dkh, max(left, right) < dkw else {
            throw error(
                "\(label) attribute pads = [\(top), \(left), \(bottom), \(right)] "
                    + "is not supported (pads must be smaller than the kernel)")
        }
        let paddedHeight = x.shape[1] + top + bottom
        let paddedWidth = x.shape[2] + left + right
        guard paddedHeight >= dkh, paddedWidth >= dkw else {
            throw error("\(label) kernel \(dkh)×\(dkw) is larger than its padded input \(paddedHeight)×\(paddedWidth)")
        }
        var biasTensor = Tensor.zeros([oc])
        if let bias {
            guard bias.shape == [oc] else { throw error("\(label) bias has shape \(bias.shape), expected [\(oc)]") }
            biasTensor = bias.tensor
        }
        let outputShape = [oc, (paddedHeight - dkh) / stride.0 + 1, (paddedWidth - dkw) / stride.1 + 1]
        let symmetric = top == bottom && left == right && top == left
        let convolution = Conv2d(weight: kernel, bias: biasTensor, stride: stride.0, padding: symmetric ? top : 0)
        parameters += convolution.namedState(prefix: "node\(index)")
        if symmetric {
            try addLayer(convolution, label: label, input: x.id, output: output, shape: outputShape)
        } else {
            try checkSize(output + " (padded)", shape: [c, paddedHeight, paddedWidth], label: label)
            try addLayers(
                [Pad2d(top: top, left: left, bottom: bottom, right: right), convolution], label: label, input: x.id,
                output: output, shape: outputShape)
        }
    }

    mutating func importTransposedConvolution(
        label: String, input x: (id: Int, shape: [Int]), weight: ONNXConstant, bias: ONNXConstant?,
        attributes: NodeAttributes, output: String, index: Int
    ) throws {
        guard x.shape.count == 3 else { throw error("\(label) input has shape \(Self.describe(x.shape)), expected [N, C, H, W]") }
        guard try attributes.int("group", 1) == 1 else {
            throw error("\(label) attribute group = \(try attributes.int("group", 1)) is not supported (only 1)")
        }
        guard weight.shape.count == 4, weight.shape[0] == x.shape[0], weight.shape.allSatisfy({ $0 > 0 }) else {
            throw error("\(label) weight has shape \(weight.shape), which does not fit input \(Self.describe(x.shape))")
        }
        let (cout, kh, kw) = (weight.shape[1], weight.shape[2], weight.shape[3])
        let kernelShape = try attributes.ints("kernel_shape", [kh, kw])
        guard kernelShape == [kh, kw] else {
            throw error("\(label) attribute kernel_shape = \(kernelShape) does not match weight \(weight.shape)")
        }
        guard try pair(attributes, "dilations", label: label, default: 1) == (1, 1) else {
            throw error("\(label) attribute dilations is not supported (only 1)")
        }
        guard try attributes.string("auto_pad", "NOTSET") == "NOTSET" else { throw error("\(label) attribute auto_pad is not supported") }
        guard attributes.named["output_shape"] == nil else { throw error("\(label) attribute output_shape is not supported") }
        let stride = try pair(attributes, "strides", label: label, default: 1)
        let pads = try attributes.ints("pads", [0, 0, 0, 0])
        let outputPadding = try attributes.ints("output_padding", [0, 0])
        guard stride.0 == stride.1, pads.count == 4, Set(pads).count == 1,
            outputPadding.count == 2, outputPadding[0] == outputPadding[1]
        else {
            throw error(
                "\(label) attributes strides \([stride.0, stride.1]), pads \(pads), "
                    + "output_padding \(outputPadding) are not supported "
                    + "(only equal strides, pads and output paddings)")
        }
        let (s, p, op) = (stride.0, pads[0], outputPadding[0])
        guard p >= 0, p < min(kh, kw), op >= 0, op < s else {
            throw error(
                "\(label) pads \(p) / output_padding \(op) are not supported "
                    + "(pads below the kernel, output_padding below the stride)")
        }
        let outputShape = [cout, (x.shape[1] - 1) * s - 2 * p + kh + op, (x.shape[2] - 1) * s - 2 * p + kw + op]
        var biasTensor = Tensor.zeros([cout])
        if let bias {
            guard bias.shape == [cout] else { throw error("\(label) bias has shape \(bias.shape), expected [\(cout)]") }
            biasTensor = bias.tensor
        }
        guard outputShape[1] > 0, outputShape[2] > 0,
            ConvGeometry(
                channels: cout, height: outputShape[1], width: outputShape[2], kernelHeight: kh, kernelWidth: kw,
                stride: s, padding: p
            ).outputHeight == x.shape[1],
            ConvGeometry(
                channels: cout, height: outputShape[1], width: outputShape[2], kernelHeight: kh, kernelWidth: kw,
                stride: s, padding: p
            ).outputWidth == x.shape[2]
        else {
            throw error("\(label) output would have shape \(Self.describe(outputShape))")
        }
        let layer = ConvTranspose2d(weight: weight.tensor, bias: biasTensor, stride: s, padding: p, outputPadding: op)
        parameters += layer.namedState(prefix: "node\(index)")
        try addLayer(layer, label: label, input: x.id, output: output, shape: outputShape)
    }

    mutating func importPooling(
        _ kind: String, label: String, input x: (id: Int, shape: [Int]), attributes: NodeAttributes,
        output: String
    ) throws {
        guard x.shape.count == 3 else { throw error("\(label) input has shape \(Self.describe(x.shape)), expected [N, C, H, W]") }
        let kernel = try attributes.ints("kernel_shape", [])
        guard kernel.count == 2, kernel.allSatisfy({ $0 > 0 && $0 <= 1 << 16 }) else {
            throw error("\(label) attribute kernel_shape = \(kernel) is not supported (two positive sizes)")
        }
        let stride = try pair(attributes, "strides", label: label, default: 1)
        guard try attributes.int("ceil_mode", 0) == 0 else { throw error("\(label) attribute ceil_mode = 1 is not supported") }
        guard try pair(attributes, "dilations", label: label, default: 1) == (1, 1) else {
            throw error("\(label) attribute dilations is not supported (only 1)")
        }
        guard try attributes.int("storage_order", 0) == 0 else { throw error("\(label) attribute storage_order = 1 is not supported") }
        let (top, left, bottom, right) = try spatialPads(
            attributes, label: label, size: (x.shape[1], x.shape[2]),
            kernel: (kernel[0], kernel[1]), stride: stride)
        guard max(top, bottom) < kernel[0], max(left, right) < kernel[1] else {
            throw error(
                "\(label) attribute pads = [\(top), \(left), \(bottom), \(right)] "
                    + "is not supported (pads must be smaller than the kernel)")
        }
        let paddedHeight = x.shape[1] + top + bottom
        let paddedWidth = x.shape[2] + left + right
        guard paddedHeight >= kernel[0], paddedWidth >= kernel[1] else {
            throw error("\(label) window \(kernel[0])×\(kernel[1]) is larger than its padded input \(paddedHeight)×\(paddedWidth)")
        }
        let outputShape = [x.shape[0], (paddedHeight - kernel[0]) / stride.0 + 1, (paddedWidth - kernel[1]) / stride.1 + 1]
        if kind == "AveragePool" {
            let layer = AveragePool2d(
                kernelHeight: kernel[0], kernelWidth: kernel[1], strideHeight: stride.0, strideWidth: stride.1,
                top: top, left: left, bottom: bottom, right: right,
                countIncludePad: try attributes.int("count_include_pad", 0) != 0)
            try addLayer(layer, label: label, input: x.id, output: output, shape: outputShape)
            return
        }
        guard kernel[0] == kernel[1], stride.0 == stride.1 else {
            throw error(
                "\(label) kernel \(kernel) with strides [\(stride.0), \(stride.1)] "
                    + "is not supported (only square windows, equal strides)")
        }
        let pool = MaxPool2d(kernelSize: kernel[0], stride: stride.0)
        if (top, left, bottom, right) == (0, 0, 0, 0) {
            try addLayer(pool, label: label, input: x.id, output: output, shape: outputShape)
        } else {
            // Padding with −∞ never wins a window that holds a real pixel (pads < kernel).
            try checkSize(output + " (padded)", shape: [x.shape[0], paddedHeight, paddedWidth], label: label)
            try addLayers(
                [Pad2d(top: top, left: left, bottom: bottom, right: right, value: -.infinity), pool], label: label,
                input: x.id, output: output, shape: outputShape)
        }
    }

    // MARK: Helpers

    /// [K, M] -> [M, K]
    static func transposed(_ matrix: Tensor) -> Tensor {
        let (rows, columns) = (matrix.shape[0], matrix.shape[1])
        var result = Tensor.zeros([columns, rows])
        for r in 0..<rows { for c in 0..<columns { result.scalars[c * rows + r] = matrix.scalars[r * columns + c] } }
        return result
    }

    /// One example's shape as a full shape: `[N, 64, 7, 7]`.
    static func describe(_ shape: [Int]) -> String { "[N" + shape.map { ", \($0)" }.joined() + "]" }
}

/// A node's attributes by name, with typed accessors that throw naming the attribute.
struct NodeAttributes {
    let named: [String: Onnx_AttributeProto]
    let label: String
    let path: String

    init(_ node: Onnx_NodeProto, label: String, path: String) throws {
        var named: [String: Onnx_AttributeProto] = [:]
        for attribute in node.attribute {
            guard named[attribute.name] == nil else {
                throw ONNXError(path: path, message: "\(label) has attribute \(attribute.name) twice")
            }
            named[attribute.name] = attribute
        }
        self.named = named
        self.label = label
        self.path = path
    }

    func fail(_ name: String, _ reason: String) -> ONNXError { ONNXError(path: path, message: "\(label) attribute \(name) \(reason)") }

    func allow(_ allowed: Set<String>) throws {
        if let other = named.keys.sorted().first(where: { !allowed.contains($0) }) {
            throw ONNXError(path: path, message: "\(label) attribute \(other) is not supported")
        }
    }

    func int(_ name: String, _ defaultValue: Int) throws -> Int {
        guard let attribute = named[name] else { return defaultValue }
        guard attribute.type == .int || (!attribute.hasType && attribute.hasI), attribute.i.magnitude <= 1 << 30 else {
            throw fail(name, "must be one integer")
        }
        return Int(attribute.i)
    }

    func float(_ name: String, _ defaultValue: Float) throws -> Float {
        guard let attribute = named[name] else { return defaultValue }
        guard attribute.type == .float || (!attribute.hasType && attribute.hasF), attribute.f.isFinite else {
            throw fail(name, "must be one float")
        }
        return attribute.f
    }

    func ints(_ name: String, _ defaultValue: [Int]) throws -> [Int] {
        guard let attribute = named[name] else { return defaultValue }
        guard attribute.type == .ints || !attribute.hasType, attribute.ints.count <= 16,
            attribute.ints.allSatisfy({ $0.magnitude <= 1 << 30 })
        else {
            throw fail(name, "must be a short list of integers")
        }
        return attribute.ints.map { Int($0) }
    }

    func string(_ name: String, _ defaultValue: String) throws -> String {
        guard let attribute = named[name] else { return defaultValue }
        guard attribute.type == .string || (!attribute.hasType && attribute.hasS),
            let text = String(data: attribute.s, encoding: .utf8)
        else {
            throw fail(name, "must be a string")
        }
        return text
    }

    /// The value of a `Constant` node.
    func constantValue() throws -> ONNXConstant {
        guard named.count == 1, let (name, attribute) = named.first else {
            throw ONNXError(path: path, message: "\(label) needs exactly one value attribute")
        }
        switch name {
        case "value": return try ONNXFile.constant(attribute.t, what: "\(label) value", path: path)
        case "value_float": return ONNXConstant(shape: [], floats: [attribute.f])
        case "value_floats": return ONNXConstant(shape: [attribute.floats.count], floats: attribute.floats)
        case "value_int": return ONNXConstant(shape: [], floats: [Float(attribute.i)], integers: [attribute.i])
        case "value_ints":
            return ONNXConstant(shape: [attribute.ints.count], floats: attribute.ints.map { Float($0) }, integers: attribute.ints)
        default: throw fail(name, "is not supported")
        }
    }
}
