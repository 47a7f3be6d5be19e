import AdvNN
import AdvTensor

// The ResNet AC-GAN of Song, Shu, Kushman & Ermon, "Constructing Unrestricted Adversarial
// Examples with Generative Models" (NeurIPS 2018; `models/acwgan_gp.py` of their code, MNIST
// branch), after the residual networks of Gulrajani et al. 2017 (WGAN-GP). Here with 32
// channels throughout, and the discriminator's convolutions and heads spectrally normalised
// (Miyato et al. 2018) instead of WGAN-GP's gradient penalty, which needs a double backward pass
// the engine does not have (`advlab train acgan --arch resnet`; checkpoints/README.md).

/// Runs `steps` in order; the returned pullback runs their pullbacks in reverse.
func chained(_ x: Tensor, _ steps: [(Tensor) -> (Tensor, Pullback)]) -> (Tensor, Pullback) {
    var value = x
    var pullbacks: [Pullback] = []
    for step in steps {
        let (next, back) = step(value)
        value = next
        pullbacks.append(back)
    }
    return (value, { dy in pullbacks.reversed().reduce(dy) { gradient, back in back(gradient) } })
}

/// A generator residual block that doubles height and width:
/// main CBN → ReLU → up ×2 → conv 3×3 → CBN → ReLU → conv 3×3; shortcut conv 1×1 → up ×2
/// (a 1×1 convolution commutes with nearest up-sampling, so this is Song et al.'s up → conv 1×1
/// at a quarter of the cost).
public final class GeneratorResidualBlock: ParameterContainer {
    public let norm1: ConditionalBatchNorm
    public let conv1: Conv2d
    public let norm2: ConditionalBatchNorm
    public let conv2: Conv2d
    public let shortcut: Conv2d
    private let up = Upsample2d(factor: 2)
    private let relu: any Layer

    /// `activation` is ReLU but in the gradient tests, which use a smooth one to check the wiring.
    public init(
        inputChannels: Int, outputChannels: Int, classCount: Int, activation: any Layer = ReLU(),
        using rng: inout some RandomNumberGenerator
    ) {
        relu = activation
        norm1 = ConditionalBatchNorm(channels: inputChannels, classCount: classCount)
        conv1 = Conv2d(inputChannels: inputChannels, outputChannels: outputChannels, kernelSize: 3, padding: 1, using: &rng)
        norm2 = ConditionalBatchNorm(channels: outputChannels, classCount: classCount)
        conv2 = Conv2d(inputChannels: outputChannels, outputChannels: outputChannels, kernelSize: 3, padding: 1, using: &rng)
        shortcut = Conv2d(inputChannels: inputChannels, outputChannels: outputChannels, kernelSize: 1, using: &rng)
    }

    public var namedParameters: [(String, Parameter)] {
        prefixed("norm1", norm1.namedParameters) + prefixed("conv1", conv1.namedParameters)
            + prefixed("norm2", norm2.namedParameters) + prefixed("conv2", conv2.namedParameters)
            + prefixed("shortcut", shortcut.namedParameters)
    }
    public var namedBuffers: [(String, Parameter)] { prefixed("norm1", norm1.namedBuffers) + prefixed("norm2", norm2.namedBuffers) }

    // x: [N, C, H, W] -> [N, OC, 2H, 2W]
    public func forward(_ x: Tensor, classes: [Int], mode: ForwardMode) -> (Tensor, Pullback) {
        let (main, mainBack) = chained(
            x,
            [
                { self.norm1.forward($0, classes: classes, mode: mode) }, { self.relu.forward($0, mode: mode) },
                { self.up.forward($0, mode: mode) }, { self.conv1.forward($0, mode: mode) },
                { self.norm2.forward($0, classes: classes, mode: mode) }, { self.relu.forward($0, mode: mode) },
                { self.conv2.forward($0, mode: mode) },
            ])
        let (side, sideBack) = chained(x, [{ self.shortcut.forward($0, mode: mode) }, { self.up.forward($0, mode: mode) }])
        return (
            main + side,
            { dy in
                var dx = mainBack(dy)
                dx += sideBack(dy)
                return dx
            }
        )
    }
}

/// G(z, class) → image in [0, 1] (Song et al.'s MNIST generator):
/// `[z ; one-hot(class)]` → Linear → 7×7×C → two up-sampling residual blocks with class-conditional
/// BatchNorm (14×14, 28×28) → BN → ReLU → conv 3×3 → 1 channel → sigmoid. On another image shape
/// the grid starts at (H/4)×(W/4) and the last convolution gives the shape's channels.
public final class ResNetGenerator: ConditionalGenerator {
    public static let architecture = "acgan-resnet-generator"
    public var architecture: String { Self.architecture }
    public var imageShape: [Int] { outputShape.dimensions }

    public let outputShape: ImageShape
    public let latentSize: Int
    public let classCount: Int
    public let channels: Int
    public let project: Linear
    public let block1: GeneratorResidualBlock
    public let block2: GeneratorResidualBlock
    public let outputNorm: BatchNorm
    public let outputConv: Conv2d
    private let relu: any Layer
    private let sigmoid = Sigmoid()

    /// `activation` is ReLU but in the gradient tests, which use a smooth one to check the wiring.
    public init(
        latentSize: Int = 128, classCount: Int = 10, channels: Int = 32,
        imageShape: ImageShape = ImageShape(channels: 1, height: 28, width: 28), activation: any Layer = ReLU(),
        using rng: inout some RandomNumberGenerator
    ) {
        precondition(
            imageShape.height % 4 == 0 && imageShape.width % 4 == 0,
            "ResNetGenerator doubles its grid twice, so H and W must be divisible by 4, got \(imageShape)")
        outputShape = imageShape
        relu = activation
        self.latentSize = latentSize
        self.classCount = classCount
        self.channels = channels
        project = Linear(
            inputSize: latentSize + classCount, outputSize: channels * (imageShape.height / 4) * (imageShape.width / 4), using: &rng)
        block1 = GeneratorResidualBlock(
            inputChannels: channels, outputChannels: channels, classCount: classCount,
            activation: activation, using: &rng)
        block2 = GeneratorResidualBlock(
            inputChannels: channels, outputChannels: channels, classCount: classCount,
            activation: activation, using: &rng)
        outputNorm = BatchNorm(channels: channels)
        outputConv = Conv2d(inputChannels: channels, outputChannels: imageShape.channels, kernelSize: 3, padding: 1, using: &rng)
    }

    public var namedParameters: [(String, Parameter)] {
        prefixed("project", project.namedParameters) + prefixed("block1", block1.namedParameters)
            + prefixed("block2", block2.namedParameters) + prefixed("output_norm", outputNorm.namedParameters)
            + prefixed("output_conv", outputConv.namedParameters)
    }
    public var namedBuffers: [(String, Parameter)] {
        prefixed("block1", block1.namedBuffers) + prefixed("block2", block2.namedBuffers) + prefixed("output_norm", outputNorm.namedBuffers)
    }

    /// z: [N, latentSize], classes: N values in 0..<classCount -> images01 [N, C, H, W] (MNIST: [N, 1, 28, 28])
    public func forward(_ z: Tensor, classes: [Int], mode requested: ForwardMode) -> (Tensor, Pullback) {
        let mode = requested.needingInputGradient
        precondition(
            z.rank == 2 && z.shape[1] == latentSize && classes.count == z.shape[0],
            "generator: z \(z.shape) for \(classes.count) classes")
        precondition(classes.allSatisfy { (0..<classCount).contains($0) }, "generator: class out of 0..<\(classCount)")
        let n = z.shape[0]
        let d = latentSize
        let k = classCount
        let oneHot = Tensor(shape: [n, k]) { out in for (row, label) in classes.enumerated() { out[row * k + label] = 1 } }
        let channels = self.channels
        let (height, width) = (outputShape.height / 4, outputShape.width / 4)
        let (images, back) = chained(
            concatenateColumns(z, oneHot),
            [
                { self.project.forward($0, mode: mode) },
                { ($0.reshaped([n, channels, height, width]), { $0.reshaped([n, channels * height * width]) }) },
                { self.block1.forward($0, classes: classes, mode: mode) }, { self.block2.forward($0, classes: classes, mode: mode) },
                { self.outputNorm.forward($0, mode: mode) }, { self.relu.forward($0, mode: mode) },
                { self.outputConv.forward($0, mode: mode) }, { self.sigmoid.forward($0, mode: mode) },
            ])
        return (images, { dImages in splitColumns(back(dImages), first: d, rows: n, total: d + k).0 })
    }
}

/// A discriminator residual block (no normalisation; convolutions spectrally normalised):
/// `first` (Song et al.'s `ResidualBlockDisc`): main conv 3×3 → ReLU → conv 3×3 → mean-pool 2×2,
/// shortcut mean-pool → conv 1×1; `down`: main ReLU → conv → ReLU → conv → mean-pool, shortcut
/// mean-pool → conv 1×1 (Song et al. convolve first; a 1×1 convolution commutes with mean
/// pooling); `plain`: main ReLU → conv → ReLU → conv, shortcut the identity.
public final class DiscriminatorResidualBlock: ParameterContainer {
    public enum Kind: Sendable { case first, down, plain }
    public let kind: Kind
    /// Spectrally normalised (`SpectralNorm<Conv2d>`) unless the block was built without.
    public let conv1: any Layer
    public let conv2: any Layer
    public let shortcut: (any Layer)?
    private let pool = AveragePool2d(kernelHeight: 2, kernelWidth: 2, strideHeight: 2, strideWidth: 2)
    private let relu: any Layer

    public init(
        kind: Kind, inputChannels: Int, outputChannels: Int, spectralNorm: Bool = true, activation: any Layer = ReLU(),
        using rng: inout some RandomNumberGenerator
    ) {
        self.kind = kind
        relu = activation
        func convolution(_ input: Int, _ output: Int, kernel: Int, using rng: inout some RandomNumberGenerator) -> any Layer {
            let conv = Conv2d(inputChannels: input, outputChannels: output, kernelSize: kernel, padding: kernel / 2, using: &rng)
            return spectralNorm ? SpectralNorm(conv, using: &rng) : conv
        }
        conv1 = convolution(inputChannels, outputChannels, kernel: 3, using: &rng)
        conv2 = convolution(outputChannels, outputChannels, kernel: 3, using: &rng)
        shortcut =
            kind == .plain && inputChannels == outputChannels ? nil : convolution(inputChannels, outputChannels, kernel: 1, using: &rng)
    }

    public var namedParameters: [(String, Parameter)] {
        prefixed("conv1", conv1.namedParameters) + prefixed("conv2", conv2.namedParameters)
            + (shortcut.map { prefixed("shortcut", $0.namedParameters) } ?? [])
    }
    public var namedBuffers: [(String, Parameter)] {
        prefixed("conv1", conv1.namedBuffers) + prefixed("conv2", conv2.namedBuffers)
            + (shortcut.map { prefixed("shortcut", $0.namedBuffers) } ?? [])
    }

    /// `mode` reaches the block's first layers (it may skip their input gradient); later ones need it.
    // x: [N, C, H, W] -> [N, OC, H/2, W/2] (first, down) or [N, OC, H, W] (plain)
    public func forward(_ x: Tensor, mode: ForwardMode) -> (Tensor, Pullback) {
        let inner = mode.needingInputGradient
        var mainSteps: [(Tensor) -> (Tensor, Pullback)] =
            kind == .first
            ? [{ self.conv1.forward($0, mode: mode) }, { self.relu.forward($0, mode: inner) }, { self.conv2.forward($0, mode: inner) }]
            : [
                { self.relu.forward($0, mode: inner) }, { self.conv1.forward($0, mode: inner) },
                { self.relu.forward($0, mode: inner) }, { self.conv2.forward($0, mode: inner) },
            ]
        var sideSteps: [(Tensor) -> (Tensor, Pullback)] = []
        if kind != .plain {
            mainSteps.append { self.pool.forward($0, mode: inner) }
            sideSteps.append { self.pool.forward($0, mode: inner) }
        }
        if let shortcut { sideSteps.append { shortcut.forward($0, mode: inner) } }
        let (main, mainBack) = chained(x, mainSteps)
        let (side, sideBack) = chained(x, sideSteps)
        return (
            main + side,
            { dy in
                var dx = mainBack(dy)
                let dSide = sideBack(dy)
                if dx.count == 0 { return dx }  // the caller asked for no input gradient
                dx += dSide
                return dx
            }
        )
    }
}

/// D(image) → (critic logit, class logits), after Song et al.'s MNIST discriminator: residual
/// blocks first (28→14), down (14→7), plain, plain, all C channels → ReLU → a C×7×7 map, then
/// - source (critic) head: mean over positions → Linear → 1, as Song et al.;
/// - class (auxiliary) head: Linear on the flattened C×7×7 map → classCount.
///
/// Every convolution and the source head are spectrally normalised; the class head is not, and it
/// reads the whole map rather than its mean. Both choices are measured (checkpoints/README.md,
/// `Scripts/aux-head-check.py`): behind a 1-Lipschitz trunk at 32 channels, a class head on the
/// 32 mean-pooled features learned so slowly (0.25 test accuracy after a GAN epoch, 0.55 after 300
/// classifier-only steps in the PyTorch twin) that the generator ignored the class; on the
/// flattened map the same classifier-only run reaches 0.93. Built with `spectralNorm: false` it
/// is the unconstrained discriminator (registry entry `resnet-plain`, for the non-saturating loss).
public final class ResNetDiscriminator: ConditionalDiscriminator {
    public static let architecture = "acgan-resnet-sn-discriminator"
    public static let plainArchitecture = "acgan-resnet-discriminator"
    public let spectralNorm: Bool
    public var architecture: String { spectralNorm ? Self.architecture : Self.plainArchitecture }

    public let classCount: Int
    public let blocks: [DiscriminatorResidualBlock]
    public let sourceHead: any Layer
    public let classHead: Linear
    public let imageShape: ImageShape
    private let relu: any Layer

    /// `activation` is ReLU but in the gradient tests, which use a smooth one to check the wiring.
    /// imageShape: the input's [C, H, W]; H and W divisible by 4 (two halvings).
    public init(
        classCount: Int = 10, channels: Int = 32, imageShape: ImageShape = ImageShape(channels: 1, height: 28, width: 28),
        spectralNorm: Bool = true, activation: any Layer = ReLU(), using rng: inout some RandomNumberGenerator
    ) {
        precondition(
            imageShape.height % 4 == 0 && imageShape.width % 4 == 0,
            "ResNetDiscriminator halves the image twice, so H and W must be divisible by 4, got \(imageShape)")
        self.classCount = classCount
        self.imageShape = imageShape
        let inputChannels = imageShape.channels
        self.spectralNorm = spectralNorm
        relu = activation
        blocks = [(DiscriminatorResidualBlock.Kind.first, inputChannels), (.down, channels), (.plain, channels), (.plain, channels)].map {
            DiscriminatorResidualBlock(
                kind: $0.0, inputChannels: $0.1, outputChannels: channels, spectralNorm: spectralNorm,
                activation: activation, using: &rng)
        }
        let source = Linear(inputSize: channels, outputSize: 1, using: &rng)
        sourceHead = spectralNorm ? SpectralNorm(source, using: &rng) : source
        classHead = Linear(inputSize: channels * (imageShape.height / 4) * (imageShape.width / 4), outputSize: classCount, using: &rng)
    }

    public var namedParameters: [(String, Parameter)] {
        blocks.enumerated().flatMap { prefixed("block\($0.offset + 1)", $0.element.namedParameters) }
            + prefixed("source_head", sourceHead.namedParameters) + prefixed("class_head", classHead.namedParameters)
    }
    public var namedBuffers: [(String, Parameter)] {
        blocks.enumerated().flatMap { prefixed("block\($0.offset + 1)", $0.element.namedBuffers) }
            + prefixed("source_head", sourceHead.namedBuffers)
    }

    /// The trunk: blocks → ReLU. images01: [N, C0, H, W] -> [N, C, H/4, W/4]
    func trunk(_ images01: Tensor, mode: ForwardMode) -> (Tensor, Pullback) {
        let inner = mode.needingInputGradient
        var steps: [(Tensor) -> (Tensor, Pullback)] = blocks.enumerated().map { index, block in
            { block.forward($0, mode: index == 0 ? mode : inner) }
        }
        steps.append { self.relu.forward($0, mode: inner) }
        return chained(images01, steps)
    }

    public func forward(_ images01: Tensor, mode: ForwardMode)
        -> (sourceLogits: Tensor, classLogits: Tensor, pullback: (Tensor, Tensor) -> Tensor)
    {
        let inner = mode.needingInputGradient
        let (map, mapBack) = trunk(images01, mode: mode)
        // Source: mean over positions (AdvNN's global average pool), [N, C, 1, 1] -> [N, C] -> [N, 1].
        let (source, sourceBack) = chained(
            map,
            [
                { AveragePool2d.global(height: $0.shape[2], width: $0.shape[3]).forward($0, mode: inner) },
                { Flatten().forward($0, mode: inner) },
                { self.sourceHead.forward($0, mode: inner) },
            ])
        // Class: the whole map, [N, C·H/4·W/4] -> [N, classCount].
        let (classes, classesBack) = chained(
            map,
            [
                { Flatten().forward($0, mode: inner) },
                { self.classHead.forward($0, mode: inner) },
            ])
        return (
            source, classes,
            { dSource, dClasses in
                var dMap = sourceBack(dSource)
                dMap += classesBack(dClasses)
                return mapBack(dMap)
            }
        )
    }

    // images01: [N, C0, H, W] -> [N, C·H/4·W/4] (the map the class head reads)
    public func features(_ images01: Tensor) -> Tensor { Flatten().forward(trunk(images01, mode: .eval).0, mode: .eval).0 }
}
