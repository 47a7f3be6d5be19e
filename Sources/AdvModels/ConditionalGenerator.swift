import AdvNN
import AdvTensor

/// A class-conditional generator, G(z, class) → image in [0, 1], with its pullback to z: what
/// the latent search (Song et al. 2018), the sample metrics, the figures and the report need of
/// a generator. The DCGAN AC-GAN (`ACGANGenerator`) is one; a new architecture conforms, gets a
/// `GeneratorArchitectures` entry, and every command and the report can use it.
public protocol ConditionalGenerator: AnyObject, ParameterContainer {
    /// The name written into checkpoints' `architecture` metadata.
    var architecture: String { get }
    /// The dimension of z.
    var latentSize: Int { get }
    var classCount: Int { get }
    /// The generated images' shape [channels, height, width].
    var imageShape: [Int] { get }
    /// Images and the pullback from ∂images to ∂z. z: [N, latentSize], classes: N -> [N, C, H, W]
    func forward(_ z: Tensor, classes: [Int], mode: ForwardMode) -> (Tensor, Pullback)
}

extension ConditionalGenerator {
    /// Images only, in evaluation mode (running BatchNorm statistics).
    public func generate(_ z: Tensor, classes: [Int]) -> Tensor { forward(z, classes: classes, mode: .eval).0 }
}

/// The discriminator of a class-conditional GAN with an auxiliary classifier head (AC-GAN):
/// a real/fake (or critic) logit and class logits from a shared trunk.
public protocol ConditionalDiscriminator: AnyObject, ParameterContainer {
    var architecture: String { get }
    var classCount: Int { get }
    /// Both heads and one pullback taking (∂source, ∂class) to ∂images.
    /// images01: [N, C, H, W] -> sourceLogits [N, 1], classLogits [N, classCount]
    func forward(_ images01: Tensor, mode: ForwardMode) -> (sourceLogits: Tensor, classLogits: Tensor, pullback: (Tensor, Tensor) -> Tensor)
    /// The shared trunk's features, flattened. images01: [N, C, H, W] -> [N, F]
    func features(_ images01: Tensor) -> Tensor
}

/// A generator and its discriminator, as one checkpoint holds them.
public struct ConditionalGAN {
    public var generator: any ConditionalGenerator
    public var discriminator: any ConditionalDiscriminator

    public init(generator: any ConditionalGenerator, discriminator: any ConditionalDiscriminator) {
        self.generator = generator
        self.discriminator = discriminator
    }

    /// The checkpoint's `architecture` metadata: the generator's and the discriminator's, joined by "+".
    public var architecture: String { generator.architecture + "+" + discriminator.architecture }
}

/// Every generator architecture the lab can build, by the `architecture` metadata of its
/// checkpoints (as a model factory maps a config's model type to an initialiser). Loading,
/// training and the bench look architectures up here; nothing else names a concrete generator.
public enum GeneratorArchitectures {
    /// What a constructor is given: the latent size and class count from the checkpoint or flags,
    /// and the data set's image shape (MNIST's unless said).
    public struct Settings: Sendable {
        public var latentSize: Int
        public var classCount: Int
        public var imageShape: ImageShape
        public init(latentSize: Int, classCount: Int = 10, imageShape: ImageShape = ImageShape(channels: 1, height: 28, width: 28)) {
            self.latentSize = latentSize
            self.classCount = classCount
            self.imageShape = imageShape
        }
    }

    public typealias Constructor = (Settings, inout SeededGenerator) -> ConditionalGAN

    /// Short name (`--arch`) -> (checkpoint architecture, constructor).
    public static let all: [(name: String, architecture: String, make: Constructor)] = [
        (
            "dcgan", ACGANGenerator.architecture + "+" + ACGANDiscriminator.architecture,
            { settings, rng in
                ConditionalGAN(
                    generator: ACGANGenerator(
                        latentSize: settings.latentSize, classCount: settings.classCount, imageShape: settings.imageShape, using: &rng),
                    discriminator: ACGANDiscriminator(classCount: settings.classCount, imageShape: settings.imageShape, using: &rng))
            }
        ),
        (
            "resnet", ResNetGenerator.architecture + "+" + ResNetDiscriminator.architecture,
            { settings, rng in
                ConditionalGAN(
                    generator: ResNetGenerator(
                        latentSize: settings.latentSize, classCount: settings.classCount, imageShape: settings.imageShape, using: &rng),
                    discriminator: ResNetDiscriminator(classCount: settings.classCount, imageShape: settings.imageShape, using: &rng))
            }
        ),
        (
            "resnet-plain", ResNetGenerator.architecture + "+" + ResNetDiscriminator.plainArchitecture,
            { settings, rng in
                ConditionalGAN(
                    generator: ResNetGenerator(
                        latentSize: settings.latentSize, classCount: settings.classCount, imageShape: settings.imageShape, using: &rng),
                    discriminator: ResNetDiscriminator(
                        classCount: settings.classCount, imageShape: settings.imageShape, spectralNorm: false, using: &rng))
            }
        ),
    ]

    /// The short names, for `--arch`'s help.
    public static var names: [String] { all.map(\.name) }

    /// The constructor for a short name or a checkpoint's architecture string, or nil.
    public static func constructor(for nameOrArchitecture: String) -> Constructor? {
        all.first { $0.name == nameOrArchitecture || $0.architecture == nameOrArchitecture }?.make
    }
}
