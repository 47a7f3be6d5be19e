import AdvNN
import AdvTensor

/// The classifier of the MNIST adversarial-examples challenge (Madry, Makelov, Schmidt,
/// Tsipras & Vladu, "Towards Deep Learning Models Resistant to Adversarial Attacks", ICLR 2018):
/// conv 5×5×32 (same padding), ReLU, max-pool 2; conv 5×5×64, ReLU, max-pool 2; FC 1024, ReLU;
/// FC 10. Used both naturally trained and adversarially trained. On another data set the input
/// channels and the first FC's width follow the image shape (`imageShape`).
public final class MNISTChallengeCNN: ImageClassifier {
    public static let architecture = "mnist-challenge-cnn"

    public let imageShape: ImageShape

    public let conv1: Conv2d
    public let pool1 = MaxPool2d(kernelSize: 2)
    public let conv2: Conv2d
    public let pool2 = MaxPool2d(kernelSize: 2)
    public let flatten = Flatten()
    public let fc1: Linear
    public let fc2: Linear
    private let relu = ReLU()

    public var classCount: Int { 10 }

    /// imageShape: the input images' [C, H, W]; H and W of at least 4 (two halvings). MNIST's 1×28×28
    /// by default, so that the committed checkpoints load as they are.
    public init(imageShape: ImageShape = ImageShape(channels: 1, height: 28, width: 28), using rng: inout some RandomNumberGenerator) {
        precondition(imageShape.height >= 4 && imageShape.width >= 4, "MNISTChallengeCNN needs images of at least 4×4, got \(imageShape)")
        self.imageShape = imageShape
        conv1 = Conv2d(inputChannels: imageShape.channels, outputChannels: 32, kernelSize: 5, padding: 2, using: &rng)
        conv2 = Conv2d(inputChannels: 32, outputChannels: 64, kernelSize: 5, padding: 2, using: &rng)
        fc1 = Linear(inputSize: 64 * (imageShape.height / 4) * (imageShape.width / 4), outputSize: 1024, using: &rng)
        fc2 = Linear(inputSize: 1024, outputSize: 10, using: &rng)
    }

    public var namedParameters: [(String, Parameter)] {
        prefixed("conv1", conv1.namedParameters) + prefixed("conv2", conv2.namedParameters)
            + prefixed("fc1", fc1.namedParameters) + prefixed("fc2", fc2.namedParameters)
    }

    /// Up to the 1024 penultimate features. images01: [N, C, H, W] (MNIST: [N, 1, 28, 28]) -> [N, 1024]
    func trunk(_ images01: Tensor, mode firstMode: ForwardMode) -> (Tensor, Pullback) {
        let mode = firstMode.needingInputGradient
        let (c1, c1Back) = conv1.forward(images01, mode: firstMode)  // [N, 32, 28, 28]
        let (r1, r1Back) = relu.forward(c1, mode: mode)
        let (p1, p1Back) = pool1.forward(r1, mode: mode)  // [N, 32, 14, 14]
        let (c2, c2Back) = conv2.forward(p1, mode: mode)  // [N, 64, 14, 14]
        let (r2, r2Back) = relu.forward(c2, mode: mode)
        let (p2, p2Back) = pool2.forward(r2, mode: mode)  // [N, 64, 7, 7]
        let (flat, flatBack) = flatten.forward(p2, mode: mode)  // [N, 3136]
        let (h, hBack) = fc1.forward(flat, mode: mode)  // [N, 1024]
        let (features, featuresBack) = relu.forward(h, mode: mode)
        return (
            features,
            { dFeatures in
                let dH = featuresBack(dFeatures)
                let dFlat = hBack(dH)
                let dP2 = flatBack(dFlat)
                let dR2 = p2Back(dP2)
                let dC2 = r2Back(dR2)
                let dP1 = c2Back(dC2)
                let dR1 = p1Back(dP1)
                let dC1 = r1Back(dR1)
                return c1Back(dC1)
            }
        )
    }

    // images01: [N, C, H, W] in [0, 1] -> logits [N, 10]
    public func logits(_ images01: Tensor, mode: ForwardMode) -> (Tensor, Pullback) {
        let (features, featuresBack) = trunk(images01, mode: mode)
        let (logits, logitsBack) = fc2.forward(features, mode: mode.needingInputGradient)
        return (logits, { dLogits in featuresBack(logitsBack(dLogits)) })
    }

    // images01: [N, C, H, W] -> [N, 1024]
    public func features(_ images01: Tensor) -> Tensor { trunk(images01, mode: .eval).0 }
}
