import AdvNN
import AdvTensor

/// A small VGG-style classifier (Simonyan & Zisserman, "Very Deep Convolutional Networks for
/// Large-Scale Image Recognition", ICLR 2015: stacks of 3×3 convolutions between max-pools),
/// sized to train fast on a CPU: conv 3×3×32, ReLU, max-pool 2; conv 3×3×64, ReLU, max-pool 2;
/// conv 3×3×128, ReLU, max-pool 2 (28 → 14 → 7 → 3 on MNIST); FC 256, ReLU; FC 10. On 1×28×28
/// that is about 7.7 M multiply-adds per image, half the challenge CNN's. The validity panel's
/// robust judge: an architecture other than the attacked model's.
public final class SmallVGG: ImageClassifier {
    public static let architecture = "small-vgg"

    public let imageShape: ImageShape
    public let conv1: Conv2d
    public let conv2: Conv2d
    public let conv3: Conv2d
    public let pool = MaxPool2d(kernelSize: 2)
    public let flatten = Flatten()
    public let fc1: Linear
    public let fc2: Linear
    private let relu = ReLU()
    public let classCount: Int

    /// imageShape: the input images' [C, H, W]; H and W of at least 8 (three halvings).
    public init(
        imageShape: ImageShape = ImageShape(channels: 1, height: 28, width: 28), classCount: Int = 10,
        using rng: inout some RandomNumberGenerator
    ) {
        precondition(imageShape.height >= 8 && imageShape.width >= 8, "SmallVGG needs images of at least 8×8, got \(imageShape)")
        self.imageShape = imageShape
        self.classCount = classCount
        conv1 = Conv2d(inputChannels: imageShape.channels, outputChannels: 32, kernelSize: 3, padding: 1, using: &rng)
        conv2 = Conv2d(inputChannels: 32, outputChannels: 64, kernelSize: 3, padding: 1, using: &rng)
        conv3 = Conv2d(inputChannels: 64, outputChannels: 128, kernelSize: 3, padding: 1, using: &rng)
        fc1 = Linear(inputSize: 128 * (imageShape.height / 8) * (imageShape.width / 8), outputSize: 256, using: &rng)
        fc2 = Linear(inputSize: 256, outputSize: classCount, using: &rng)
    }

    public var namedParameters: [(String, Parameter)] {
        prefixed("conv1", conv1.namedParameters) + prefixed("conv2", conv2.namedParameters) + prefixed("conv3", conv3.namedParameters)
            + prefixed("fc1", fc1.namedParameters) + prefixed("fc2", fc2.namedParameters)
    }

    /// Up to the 256 penultimate features. images01: [N, C, H, W] -> [N, 256]
    func trunk(_ images01: Tensor, mode firstMode: ForwardMode) -> (Tensor, Pullback) {
        let mode = firstMode.needingInputGradient
        let (c1, c1Back) = conv1.forward(images01, mode: firstMode)  // [N, 32, H, W]
        let (r1, r1Back) = relu.forward(c1, mode: mode)
        let (p1, p1Back) = pool.forward(r1, mode: mode)  // [N, 32, H/2, W/2]
        let (c2, c2Back) = conv2.forward(p1, mode: mode)  // [N, 64, H/2, W/2]
        let (r2, r2Back) = relu.forward(c2, mode: mode)
        let (p2, p2Back) = pool.forward(r2, mode: mode)  // [N, 64, H/4, W/4]
        let (c3, c3Back) = conv3.forward(p2, mode: mode)  // [N, 128, H/4, W/4]
        let (r3, r3Back) = relu.forward(c3, mode: mode)
        let (p3, p3Back) = pool.forward(r3, mode: mode)  // [N, 128, H/8, W/8]
        let (flat, flatBack) = flatten.forward(p3, mode: mode)
        let (h, hBack) = fc1.forward(flat, mode: mode)  // [N, 256]
        let (features, featuresBack) = relu.forward(h, mode: mode)
        return (
            features,
            { dFeatures in
                let dFlat = hBack(featuresBack(dFeatures))
                let dR3 = p3Back(flatBack(dFlat))
                let dP2 = c3Back(r3Back(dR3))
                let dR2 = p2Back(dP2)
                let dP1 = c2Back(r2Back(dR2))
                let dR1 = p1Back(dP1)
                return c1Back(r1Back(dR1))
            }
        )
    }

    // images01: [N, C, H, W] in [0, 1] -> logits [N, classCount]
    public func logits(_ images01: Tensor, mode: ForwardMode) -> (Tensor, Pullback) {
        let (features, featuresBack) = trunk(images01, mode: mode)
        let (logits, logitsBack) = fc2.forward(features, mode: mode.needingInputGradient)
        return (logits, { dLogits in featuresBack(logitsBack(dLogits)) })
    }

    // images01: [N, C, H, W] -> [N, 256]
    public func features(_ images01: Tensor) -> Tensor { trunk(images01, mode: .eval).0 }
}

/// Every classifier architecture the lab trains and loads, by `--arch` name and by the
/// `architecture` metadata of its checkpoints (as `GeneratorArchitectures` for generators).
/// Training and `ModelLoading` look architectures up here.
public enum ClassifierArchitectures {
    /// Given the data set's image shape (from the checkpoint's `dataset` metadata or the training set).
    public typealias Constructor = (ImageShape, inout SeededGenerator) -> any ImageClassifier

    /// Short name (`--arch`) -> (checkpoint architecture, constructor).
    public static let all: [(name: String, architecture: String, make: Constructor)] = [
        ("challenge", MNISTChallengeCNN.architecture, { shape, rng in MNISTChallengeCNN(imageShape: shape, using: &rng) }),
        ("vgg", SmallVGG.architecture, { shape, rng in SmallVGG(imageShape: shape, using: &rng) }),
    ]

    /// The short names, for `--arch`'s help.
    public static var names: [String] { all.map(\.name) }

    /// The entry for a short name or a checkpoint's architecture string, or nil.
    public static func entry(for nameOrArchitecture: String) -> (name: String, architecture: String, make: Constructor)? {
        all.first { $0.name == nameOrArchitecture || $0.architecture == nameOrArchitecture }
    }
}
