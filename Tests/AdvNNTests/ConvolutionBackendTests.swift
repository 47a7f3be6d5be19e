import AdvNN
import AdvTensor
import Foundation
import TestSupport
import XCTest

/// The oneDNN convolution path (`ConvolutionBackend.dnnl`) against the im2col + GEMM reference
/// path and the plain loops (`referenceConv2d`, a direct transposed convolution below), for the
/// output, the input gradient and the parameter gradients of `Conv2d` and `ConvTranspose2d`, on
/// odd shapes.
final class ConvolutionBackendTests: XCTestCase {
    /// One case: batch, input channels, image size, output channels, kernel, stride, padding
    /// (and, for transposed convolutions, output padding).
    struct Case: CustomStringConvertible {
        var batch: Int, channels: Int, height: Int, width: Int
        var outputChannels: Int, kernel: Int, stride: Int, padding: Int, outputPadding = 0

        var description: String {
            "[\(batch), \(channels), \(height), \(width)] k\(kernel) s\(stride) p\(padding) op\(outputPadding) → \(outputChannels)"
        }
    }

    /// Strides 1 and 2, paddings 0/1/2, kernels 1/3/4/5, channels 1/3/8, batches 1 and 3,
    /// non-square images, strides that leave input rows unused, images narrower than the kernel.
    static let convolutionCases: [Case] = [
        Case(batch: 3, channels: 1, height: 7, width: 5, outputChannels: 3, kernel: 3, stride: 1, padding: 0),
        Case(batch: 1, channels: 3, height: 9, width: 6, outputChannels: 8, kernel: 3, stride: 1, padding: 1),
        Case(batch: 3, channels: 8, height: 8, width: 11, outputChannels: 3, kernel: 5, stride: 1, padding: 2),
        Case(batch: 3, channels: 3, height: 7, width: 9, outputChannels: 8, kernel: 3, stride: 2, padding: 1),
        Case(batch: 1, channels: 1, height: 10, width: 7, outputChannels: 8, kernel: 5, stride: 2, padding: 2),
        Case(batch: 3, channels: 8, height: 6, width: 5, outputChannels: 1, kernel: 1, stride: 1, padding: 0),
        Case(batch: 1, channels: 3, height: 7, width: 8, outputChannels: 3, kernel: 1, stride: 2, padding: 0),
        Case(batch: 3, channels: 8, height: 14, width: 14, outputChannels: 8, kernel: 4, stride: 2, padding: 1),
        Case(batch: 1, channels: 1, height: 9, width: 10, outputChannels: 3, kernel: 4, stride: 2, padding: 1),
        Case(batch: 3, channels: 3, height: 5, width: 8, outputChannels: 3, kernel: 4, stride: 1, padding: 2),
        Case(batch: 1, channels: 8, height: 5, width: 8, outputChannels: 8, kernel: 3, stride: 2, padding: 0),
        Case(batch: 3, channels: 1, height: 7, width: 1, outputChannels: 3, kernel: 5, stride: 1, padding: 2),
        Case(batch: 1, channels: 3, height: 2, width: 3, outputChannels: 8, kernel: 5, stride: 1, padding: 2),
    ]

    /// Transposed convolutions, including the AC-GAN's k4 s2 p1 upsampling and output padding.
    static let transposedCases: [Case] = [
        Case(batch: 3, channels: 8, height: 7, width: 7, outputChannels: 3, kernel: 4, stride: 2, padding: 1),
        Case(batch: 1, channels: 3, height: 5, width: 6, outputChannels: 1, kernel: 4, stride: 2, padding: 1),
        Case(batch: 3, channels: 1, height: 4, width: 3, outputChannels: 8, kernel: 3, stride: 2, padding: 1, outputPadding: 1),
        Case(batch: 1, channels: 8, height: 6, width: 5, outputChannels: 3, kernel: 5, stride: 1, padding: 2),
        Case(batch: 3, channels: 3, height: 5, width: 7, outputChannels: 3, kernel: 3, stride: 1, padding: 0),
        Case(batch: 1, channels: 3, height: 4, width: 4, outputChannels: 8, kernel: 1, stride: 2, padding: 0, outputPadding: 1),
        Case(batch: 3, channels: 8, height: 3, width: 5, outputChannels: 3, kernel: 5, stride: 2, padding: 2, outputPadding: 1),
        Case(batch: 1, channels: 1, height: 6, width: 6, outputChannels: 1, kernel: 4, stride: 2, padding: 0),
    ]

    /// What one forward and backward pass gives: output, input gradient, parameter gradients.
    struct Results {
        var output: Tensor, inputGradient: Tensor, weightGradient: Tensor, biasGradient: Tensor
    }

    /// Runs `layer` on `x`, pulls `outputGradient` back twice (so the parameter gradients must
    /// *accumulate* to twice one pass) and returns what it got.
    func run(_ layer: some Layer, weight: Parameter, bias: Parameter, x: Tensor, outputGradient: (([Int]) -> Tensor)) -> Results {
        layer.zeroGradients()
        let (y, pullback) = layer.forward(x, mode: .train)
        let dy = outputGradient(y.shape)
        let dx = pullback(dy)
        _ = pullback(dy)
        return Results(output: y, inputGradient: dx, weightGradient: weight.gradient, biasGradient: bias.gradient)
    }

    func assertResultsMatch(_ actual: Results, _ expected: Results, _ label: String, file: StaticString = #filePath, line: UInt = #line) {
        assertClose(actual.output, expected.output, rtol: 1e-4, atol: 1e-4, "output \(label)", file: file, line: line)
        assertClose(actual.inputGradient, expected.inputGradient, rtol: 1e-4, atol: 1e-4, "input gradient \(label)", file: file, line: line)
        assertClose(
            actual.weightGradient, expected.weightGradient, rtol: 1e-4, atol: 1e-4, "weight gradient \(label)", file: file, line: line)
        assertClose(actual.biasGradient, expected.biasGradient, rtol: 1e-4, atol: 1e-4, "bias gradient \(label)", file: file, line: line)
    }

    func testConv2dDNNLMatchesIm2colAndDirectLoop() {
        var rng = SeededGenerator(seed: 71)
        for c in Self.convolutionCases {
            let layer = Conv2d(
                inputChannels: c.channels, outputChannels: c.outputChannels, kernelSize: c.kernel,
                stride: c.stride, padding: c.padding, using: &rng)
            let x = Tensor.randomNormal([c.batch, c.channels, c.height, c.width], using: &rng)
            var gradientRNG = SeededGenerator(seed: 72)
            let makeGradient: ([Int]) -> Tensor = { shape in Tensor.randomNormal(shape, using: &gradientRNG) }
            layer.backend = .dnnl
            let fast = run(layer, weight: layer.weight, bias: layer.bias, x: x, outputGradient: makeGradient)
            gradientRNG = SeededGenerator(seed: 72)
            layer.backend = .reference
            let reference = run(layer, weight: layer.weight, bias: layer.bias, x: x, outputGradient: makeGradient)
            assertResultsMatch(fast, reference, "\(c)")
            let direct = referenceConv2d(x, weight: layer.weight.value, bias: layer.bias.value, stride: c.stride, padding: c.padding)
            assertClose(fast.output, direct, rtol: 1e-4, atol: 1e-4, "direct loop \(c)")
        }
    }

    func testConvTranspose2dDNNLMatchesIm2colAndDirectLoop() {
        var rng = SeededGenerator(seed: 73)
        for c in Self.transposedCases {
            let layer = ConvTranspose2d(
                inputChannels: c.channels, outputChannels: c.outputChannels, kernelSize: c.kernel,
                stride: c.stride, padding: c.padding, outputPadding: c.outputPadding, using: &rng)
            let x = Tensor.randomNormal([c.batch, c.channels, c.height, c.width], using: &rng)
            var gradientRNG = SeededGenerator(seed: 74)
            let makeGradient: ([Int]) -> Tensor = { shape in Tensor.randomNormal(shape, using: &gradientRNG) }
            layer.backend = .dnnl
            let fast = run(layer, weight: layer.weight, bias: layer.bias, x: x, outputGradient: makeGradient)
            gradientRNG = SeededGenerator(seed: 74)
            layer.backend = .reference
            let reference = run(layer, weight: layer.weight, bias: layer.bias, x: x, outputGradient: makeGradient)
            assertResultsMatch(fast, reference, "\(c)")
            let direct = directTransposedConvolution(x, weight: layer.weight.value, bias: layer.bias.value, case: c)
            assertClose(fast.output, direct, rtol: 1e-4, atol: 1e-4, "direct loop \(c)")
        }
    }

    /// Lanes (`Parallel.forEachLane`) run convolutions side by side, each on plans of its own:
    /// the same shapes from four lanes at once give what one call at a time gives, for the output
    /// and the input gradient, on a blocked-layout problem (8 → 8 channels, so the plans keep
    /// reorder buffers that two lanes sharing one plan would overwrite).
    func testConvolutionsInLanesMatchOneAtATime() {
        var rng = SeededGenerator(seed: 76)
        let layer = Conv2d(inputChannels: 8, outputChannels: 8, kernelSize: 3, stride: 1, padding: 1, using: &rng)
        layer.backend = .dnnl
        let inputs = (0..<12).map { _ in Tensor.randomNormal([5, 8, 9, 9], using: &rng) }
        let gradients = (0..<12).map { _ in Tensor.randomNormal([5, 8, 9, 9], using: &rng) }
        func pass(_ i: Int) -> (Tensor, Tensor) {
            let (y, pullback) = layer.forward(inputs[i], mode: ForwardMode.eval.needingInputGradient)
            return (y, pullback(gradients[i]))
        }
        let expected = inputs.indices.map(pass)
        var got = [(Tensor, Tensor)?](repeating: nil, count: inputs.count)
        var lanesSeen = [Int](repeating: 0, count: inputs.count)
        got.withUnsafeMutableBufferPointer { slots in
            lanesSeen.withUnsafeMutableBufferPointer { lanes in
                Parallel.forEachLane(inputs.count, lanes: 4) { i in
                    lanes[i] = Parallel.currentLane
                    slots[i] = pass(i)
                }
            }
        }
        XCTAssertTrue(lanesSeen.allSatisfy { (1...4).contains($0) }, "every index ran in a lane: \(lanesSeen)")
        for i in inputs.indices {
            guard let (y, dx) = got[i] else { return XCTFail("index \(i) did not run") }
            assertClose(y, expected[i].0, rtol: 1e-5, atol: 1e-5, "output \(i)")
            assertClose(dx, expected[i].1, rtol: 1e-5, atol: 1e-5, "input gradient \(i)")
        }
    }

    /// Parameter gradients are added to, not overwritten: a gradient already in the store stays.
    func testDNNLGradientsAccumulateOntoExistingValues() {
        var rng = SeededGenerator(seed: 75)
        let layer = Conv2d(inputChannels: 3, outputChannels: 8, kernelSize: 3, stride: 1, padding: 1, using: &rng)
        layer.backend = .dnnl
        let x = Tensor.randomNormal([2, 3, 6, 6], using: &rng)
        layer.zeroGradients()
        let (y, pullback) = layer.forward(x, mode: .train)
        let dy = Tensor.randomNormal(y.shape, using: &rng)
        _ = pullback(dy)
        let once = (layer.weight.gradient, layer.bias.gradient)
        let offset = Tensor(repeating: 5, shape: layer.weight.gradient.shape)
        layer.weight.gradient = offset
        layer.bias.gradient = Tensor(repeating: -3, shape: layer.bias.gradient.shape)
        _ = pullback(dy)
        assertClose(layer.weight.gradient, once.0 + offset, rtol: 1e-5, atol: 1e-5)
        assertClose(layer.bias.gradient, once.1 + Tensor(repeating: -3, shape: once.1.shape), rtol: 1e-5, atol: 1e-5)
    }

    /// Evaluation mode leaves the parameter gradients alone on the oneDNN path too.
    func testDNNLEvalModeSkipsParameterGradients() {
        var rng = SeededGenerator(seed: 76)
        let layer = ConvTranspose2d(inputChannels: 4, outputChannels: 2, kernelSize: 4, stride: 2, padding: 1, using: &rng)
        layer.backend = .dnnl
        layer.zeroGradients()
        let x = Tensor.randomNormal([2, 4, 3, 3], using: &rng)
        let (y, pullback) = layer.forward(x, mode: .eval)
        let dx = pullback(Tensor.randomNormal(y.shape, using: &rng))
        XCTAssertEqual(dx.shape, x.shape)
        XCTAssertGreaterThan(dx.maxAbs(), 0)
        XCTAssertEqual(layer.weight.gradient.maxAbs(), 0)
        XCTAssertEqual(layer.bias.gradient.maxAbs(), 0)
    }

    /// Plans are shared by problem: calls from several threads at once give what one thread gets.
    func testDNNLCallsFromSeveralThreadsMatchOneThread() {
        var rng = SeededGenerator(seed: 77)
        let layer = Conv2d(inputChannels: 8, outputChannels: 8, kernelSize: 3, stride: 1, padding: 1, using: &rng)
        layer.backend = .dnnl
        let inputs = (0..<6).map { _ in Tensor.randomNormal([2, 8, 7, 7], using: &rng) }
        let serial = inputs.map { layer.forward($0, mode: .eval) }.map { ($0.0, $0.1($0.0)) }
        let results = ResultBox(count: inputs.count)
        DispatchQueue.concurrentPerform(iterations: inputs.count) { index in
            let (y, pullback) = layer.forward(inputs[index], mode: .eval)
            results.store((y, pullback(y)), at: index)
        }
        for index in inputs.indices {
            guard let (y, dx) = results.value(at: index) else {
                XCTFail("no result for input \(index)")
                continue
            }
            XCTAssertEqual(y, serial[index].0, "output \(index)")
            XCTAssertEqual(dx, serial[index].1, "input gradient \(index)")
        }
    }

    /// Results written by concurrent workers, one slot each.
    final class ResultBox: @unchecked Sendable {
        private var values: [(Tensor, Tensor)?]
        private let lock = NSLock()
        init(count: Int) { values = Array(repeating: nil, count: count) }
        func store(_ value: (Tensor, Tensor), at index: Int) {
            lock.lock()
            values[index] = value
            lock.unlock()
        }
        func value(at index: Int) -> (Tensor, Tensor)? {
            lock.lock()
            defer { lock.unlock() }
            return values[index]
        }
    }

    /// The kernels oneDNN picks are named, so a silent fall-back to its slow reference kernels
    /// for the MNIST CNN's convolutions shows up here.
    func testMNISTConvolutionsAvoidReferenceKernels() {
        let problems = [
            ConvolutionProblem(
                batch: 16, outputChannels: 32,
                geometry: ConvGeometry(channels: 1, height: 28, width: 28, kernelHeight: 5, kernelWidth: 5, padding: 2)),
            ConvolutionProblem(
                batch: 16, outputChannels: 64,
                geometry: ConvGeometry(channels: 32, height: 14, width: 14, kernelHeight: 5, kernelWidth: 5, padding: 2)),
        ]
        for problem in problems {
            let names = DNNLConvolution.implementationNames(problem)
            XCTAssertEqual(Set(names.keys), ["forward", "backwardData", "backwardWeights"])
            for (kind, name) in names {
                XCTAssertFalse(name.hasPrefix("ref"), "\(kind) of \(problem) uses oneDNN's reference kernel \(name)")
            }
        }
    }

    /// `y[n, o, i·s − p + a, j·s − p + b] += x[n, c, i, j] · W[c, o, a, b]`, accumulated in Double.
    func directTransposedConvolution(_ x: Tensor, weight: Tensor, bias: Tensor, case c: Case) -> Tensor {
        let outputHeight = (c.height - 1) * c.stride - 2 * c.padding + c.kernel + c.outputPadding
        let outputWidth = (c.width - 1) * c.stride - 2 * c.padding + c.kernel + c.outputPadding
        var sums = [Double](repeating: 0, count: c.batch * c.outputChannels * outputHeight * outputWidth)
        for n in 0..<c.batch {
            for o in 0..<c.outputChannels {
                for p in 0..<(outputHeight * outputWidth) {
                    sums[(n * c.outputChannels + o) * outputHeight * outputWidth + p] = Double(bias[o])
                }
                for ci in 0..<c.channels {
                    for i in 0..<c.height {
                        for j in 0..<c.width {
                            for a in 0..<c.kernel {
                                for b in 0..<c.kernel {
                                    let oy = i * c.stride - c.padding + a
                                    let ox = j * c.stride - c.padding + b
                                    guard oy >= 0, oy < outputHeight, ox >= 0, ox < outputWidth else { continue }
                                    sums[((n * c.outputChannels + o) * outputHeight + oy) * outputWidth + ox] +=
                                        Double(x[n, ci, i, j]) * Double(weight[ci, o, a, b])
                                }
                            }
                        }
                    }
                }
            }
        }
        return Tensor(shape: [c.batch, c.outputChannels, outputHeight, outputWidth], scalars: sums.map { Float($0) })
    }
}
