import AdvNN
import AdvTensor
import XCTest

/// `FLOPCounter` against the products written out by hand: 2·m·n·k per product, the forward
/// always, the weight gradient and the input gradient only when the mode computes them.
final class FLOPCounterTests: XCTestCase {
    private var rng = SeededGenerator(seed: 500)

    func testConvolutionLinearAndTransposedConvolution() {
        let conv = Conv2d(inputChannels: 3, outputChannels: 4, kernelSize: 3, stride: 2, padding: 1, using: &rng)
        let x = Tensor.randomNormal([2, 3, 7, 6], using: &rng)  // -> [2, 4, 4, 3]
        let convForward: Double = 2 * 4 * 24 * 27  // [OC, C·KH·KW] · [C·KH·KW, N·OH·OW]
        XCTAssertEqual(FLOPCounter.counting { _ = conv.forward(x, mode: .eval) }, convForward)
        XCTAssertEqual(
            FLOPCounter.counting {
                let (y, back) = conv.forward(x, mode: .train)
                _ = back(y)
            }, 3 * convForward)
        XCTAssertEqual(
            FLOPCounter.counting {
                let (y, back) = conv.forward(x, mode: .trainParametersOnly)
                _ = back(y)
            }, 2 * convForward, "no input gradient: forward and weight gradient only")
        XCTAssertEqual(
            FLOPCounter.counting {
                let (y, back) = conv.forward(x, mode: .eval)
                _ = back(y)
            }, 2 * convForward, "attacks: forward and input gradient only")

        let linear = Linear(inputSize: 5, outputSize: 7, using: &rng)
        let linearForward: Double = 2 * 3 * 5 * 7
        XCTAssertEqual(FLOPCounter.counting { _ = linear.forward(Tensor.zeros([3, 5]), mode: .eval) }, linearForward)

        let transposed = ConvTranspose2d(inputChannels: 3, outputChannels: 2, kernelSize: 4, stride: 2, padding: 1, using: &rng)
        let transposedForward: Double = 2 * 32 * 40 * 3  // [C_out·KH·KW, C_in] · [C_in, N·H·W]
        XCTAssertEqual(FLOPCounter.counting { _ = transposed.forward(Tensor.zeros([2, 3, 4, 5]), mode: .eval) }, transposedForward)
    }

    /// Nothing is counted outside `counting`, and each count starts from zero.
    func testCountsOnlyInside() {
        let linear = Linear(inputSize: 4, outputSize: 4, using: &rng)
        let (y, back) = linear.forward(Tensor.zeros([1, 4]), mode: .train)
        XCTAssertEqual(FLOPCounter.counting { _ = back(y) }, 0, "a pullback of an uncounted forward")
        XCTAssertEqual(FLOPCounter.counting { _ = linear.forward(Tensor.zeros([1, 4]), mode: .eval) }, 32)
        XCTAssertEqual(FLOPCounter.counting { _ = linear.forward(Tensor.zeros([1, 4]), mode: .eval) }, 32)
    }
}
