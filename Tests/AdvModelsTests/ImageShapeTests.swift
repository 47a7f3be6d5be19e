import AdvModels
import AdvNN
import AdvTensor
import XCTest

/// The dataset seam: every model the registries build takes the data set's image shape, and
/// MNIST's stays the default (the committed checkpoints' tensor shapes).
final class ImageShapeTests: XCTestCase {
    static let mnist = ImageShape(channels: 1, height: 28, width: 28)
    static let colour = ImageShape(channels: 3, height: 32, width: 32)

    func parameterShapes(_ container: some ParameterContainer) -> [String: [Int]] {
        Dictionary(uniqueKeysWithValues: container.namedParameters.map { ($0.0, $0.1.value.shape) })
    }

    func testClassifiersTakeTheShapeAndKeepMNISTsByDefault() {
        for entry in ClassifierArchitectures.all {
            var rng = SeededGenerator(seed: 1)
            let byDefault = parameterShapes(entry.make(Self.mnist, &rng))
            var defaultRNG = SeededGenerator(seed: 1)
            let plain: any ImageClassifier =
                entry.name == "vgg" ? SmallVGG(using: &defaultRNG) : MNISTChallengeCNN(using: &defaultRNG)
            XCTAssertEqual(byDefault, parameterShapes(plain), "\(entry.name): MNIST's shape is the default")
            let model = entry.make(Self.colour, &rng)
            let images = Tensor.randomUniform(Self.colour.batch(2), using: &rng)
            XCTAssertEqual(model.logits(images, mode: .eval).0.shape, [2, 10], entry.name)
        }
    }

    func testChallengeCNNWidthsFollowTheShape() {
        var rng = SeededGenerator(seed: 2)
        let shapes = parameterShapes(MNISTChallengeCNN(imageShape: Self.colour, using: &rng))
        XCTAssertEqual(shapes["conv1.weight"]?[1], 3, "three input channels")
        XCTAssertEqual(shapes["fc1.weight"].map { $0.reduce(1, *) }, 64 * 8 * 8 * 1024)
        let mnist = parameterShapes(MNISTChallengeCNN(using: &rng))
        XCTAssertEqual(mnist["fc1.weight"].map { $0.reduce(1, *) }, 7 * 7 * 64 * 1024)
    }

    func testGeneratorsDrawAndDiscriminatorsReadTheShape() {
        for entry in GeneratorArchitectures.all {
            var rng = SeededGenerator(seed: 3)
            let gan = entry.make(.init(latentSize: 8, imageShape: Self.colour), &rng)
            XCTAssertEqual(gan.generator.imageShape, [3, 32, 32], entry.name)
            let z = Tensor.randomNormal([2, 8], using: &rng)
            let images = gan.generator.forward(z, classes: [1, 2], mode: .eval).0
            XCTAssertEqual(images.shape, [2, 3, 32, 32], entry.name)
            let (source, classes, _) = gan.discriminator.forward(images, mode: .eval)
            XCTAssertEqual(source.shape, [2, 1], entry.name)
            XCTAssertEqual(classes.shape, [2, 10], entry.name)
            let mnist = entry.make(.init(latentSize: 8), &rng)
            XCTAssertEqual(mnist.generator.imageShape, [1, 28, 28], "\(entry.name): MNIST's shape is the default")
        }
    }
}
