import AdvData
import AdvModels
import AdvNN
import AdvTensor
import Foundation
import XCTest

/// Multinomial logistic regression on raw pixels: a real, differentiable MNIST classifier that
/// trains in a second even in a debug build, so attack contracts are tested on a model that
/// actually classifies (≈ 0.9 test accuracy) rather than on random weights.
final class LogisticRegression: ImageClassifier {
    let linear: Linear
    var classCount: Int { 10 }
    init(using rng: inout some RandomNumberGenerator) { linear = Linear(inputSize: 784, outputSize: 10, using: &rng) }
    var namedParameters: [(String, Parameter)] { linear.namedParameters }

    func logits(_ images01: Tensor, mode: ForwardMode) -> (Tensor, Pullback) {
        let shape = images01.shape
        let (y, back) = linear.forward(images01.reshaped([images01.batchCount, 784]), mode: mode)
        return (y, { dy in back(dy).reshaped(shape) })
    }

    func features(_ images01: Tensor) -> Tensor { images01.reshaped([images01.batchCount, 784]) }
}

/// A small labelled MNIST set and a logistic regression trained on it, shared by the tests.
enum AttackFixture {
    struct Fixture {
        let model: LogisticRegression
        let images: Tensor
        let labels: [Int]
    }

    /// The fixture, built once; nil when ADVLAB_DATA is unset.
    static let shared: Result<Fixture, Error>? = load(environment: ProcessInfo.processInfo.environment)

    /// Only an unset ADVLAB_DATA means "no data here" (nil); when it is set, a load that fails is
    /// an error the tests report rather than a reason to skip them (CI always sets it).
    static func load(environment: [String: String]) -> Result<Fixture, Error>? {
        guard let directory = environment["ADVLAB_DATA"], !directory.isEmpty else { return nil }
        return Result {
            let train = try MNIST.load(split: .train, directory: directory)
            let test = try MNIST.load(split: .test, directory: directory)
            return trainedFixture(train: train, test: test)
        }
    }

    /// A logistic regression trained for 150 Adam steps on the first 20,000 training images, and
    /// the first 64 test images.
    static func trainedFixture(train: Dataset, test: Dataset) -> Fixture {
        var rng = SeededGenerator(seed: 11)
        let model = LogisticRegression(using: &rng)
        let optimizer = Adam(model.namedParameters, learningRate: 0.01)
        for step in 0..<150 {
            let indices = (0..<128).map { (step * 128 + $0) % 20_000 }
            model.zeroGradients()
            let (logits, back) = model.logits(train.images.gather(indices), mode: .train)
            let (_, dLogits) = softmaxCrossEntropy(logits: logits, labels: indices.map { train.labels[$0] })
            _ = back(dLogits)
            optimizer.step()
        }
        let count = 64
        return Fixture(model: model, images: test.images.slice(0..<count), labels: Array(test.labels[0..<count]))
    }

    /// The fixture; skips the test only when ADVLAB_DATA is unset, and rethrows a failed load.
    static func require() throws -> Fixture {
        guard let shared else { throw XCTSkip("ADVLAB_DATA is not set: the attack tests need MNIST") }
        return try shared.get()
    }
}
