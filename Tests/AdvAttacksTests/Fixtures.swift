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

    static let shared: Fixture? = {
        guard let directory = ProcessInfo.processInfo.environment["ADVLAB_DATA"],
              let train = try? MNIST.load(split: .train, directory: directory),
              let test = try? MNIST.load(split: .test, directory: directory) else { return nil }
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
    }()

    static func require() throws -> Fixture {
        guard let fixture = shared else { throw XCTSkip("ADVLAB_DATA is not set: the attack tests need MNIST") }
        return fixture
    }
}
