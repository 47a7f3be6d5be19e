import AdvNN
import AdvTensor

// The auxiliary-classifier GAN of Odena, Olah & Shlens, "Conditional Image Synthesis with
// Auxiliary Classifier GANs" (ICML 2017), with DCGAN-style convolutions (Radford, Metz &
// Chintala 2016). The generator draws a digit of a requested class; the discriminator says
// whether an image is real (source head) and which digit it is (auxiliary head). Song et al.
// (2018) search the generator's latent space for unrestricted adversarial examples and use the
// auxiliary head to check that the class did not change.

/// G(z, class) → C×H×W image in [0, 1] (MNIST: 1×28×28).
///
/// `[z ; embedding(class)]` → Linear → (H/4)×(W/4)×128 → BN → ReLU → ConvT(128→64, 4, s2, p1)
/// (H/2)×(W/2) → BN → ReLU → ConvT(64→C, 4, s2, p1) H×W → Sigmoid.
public final class ACGANGenerator: ConditionalGenerator {
    public static let architecture = "acgan-dcgan-generator"
    public var architecture: String { Self.architecture }
    public var imageShape: [Int] { outputShape.dimensions }

    public let outputShape: ImageShape
    public let latentSize: Int
    public let classCount: Int
    public let classEmbedding: Embedding
    public let project: Linear
    public let projectNorm: BatchNorm
    public let reshape: Reshape
    public let upsample1: ConvTranspose2d
    public let upsample1Norm: BatchNorm
    public let upsample2: ConvTranspose2d
    private let relu = ReLU()
    private let sigmoid = Sigmoid()

    /// `latentSize` is the dimension of z; the class enters through a learned embedding of the
    /// same size as the number of classes, concatenated to z. imageShape: the images drawn, H and W
    /// divisible by 4 (two doublings); MNIST's 1×28×28 by default, as the committed checkpoints.
    public init(
        latentSize: Int = 100, classCount: Int = 10, imageShape: ImageShape = ImageShape(channels: 1, height: 28, width: 28),
        using rng: inout some RandomNumberGenerator
    ) {
        precondition(
            imageShape.height % 4 == 0 && imageShape.width % 4 == 0,
            "ACGANGenerator doubles its grid twice, so H and W must be divisible by 4, got \(imageShape)")
        self.latentSize = latentSize
        self.classCount = classCount
        outputShape = imageShape
        let grid = [128, imageShape.height / 4, imageShape.width / 4]
        reshape = Reshape(grid)
        classEmbedding = Embedding(count: classCount, dimension: classCount, using: &rng)
        project = Linear(inputSize: latentSize + classCount, outputSize: grid.reduce(1, *), using: &rng)
        projectNorm = BatchNorm(channels: 128)
        upsample1 = ConvTranspose2d(inputChannels: 128, outputChannels: 64, kernelSize: 4, stride: 2, padding: 1, using: &rng)
        upsample1Norm = BatchNorm(channels: 64)
        upsample2 = ConvTranspose2d(
            inputChannels: 64, outputChannels: imageShape.channels, kernelSize: 4, stride: 2, padding: 1, using: &rng)
    }

    public var namedParameters: [(String, Parameter)] {
        prefixed("class_embedding", classEmbedding.namedParameters) + prefixed("project", project.namedParameters)
            + prefixed("project_norm", projectNorm.namedParameters) + prefixed("upsample1", upsample1.namedParameters)
            + prefixed("upsample1_norm", upsample1Norm.namedParameters) + prefixed("upsample2", upsample2.namedParameters)
    }

    public var namedBuffers: [(String, Parameter)] {
        prefixed("project_norm", projectNorm.namedBuffers) + prefixed("upsample1_norm", upsample1Norm.namedBuffers)
    }

    /// Images and the pullback from ∂images to ∂z (class embeddings get their gradient added).
    /// z: [N, latentSize], classes: N values in 0..<classCount -> images01 [N, C, H, W]
    public func forward(_ z: Tensor, classes: [Int], mode requested: ForwardMode) -> (Tensor, Pullback) {
        // The projection's input gradient carries the class embedding's gradient too, so every
        // layer computes ∂input whatever the caller asked.
        let mode = requested.needingInputGradient
        precondition(
            z.rank == 2 && z.shape[1] == latentSize && classes.count == z.shape[0],
            "generator: z \(z.shape) for \(classes.count) classes")
        let n = z.shape[0]
        let d = latentSize
        let k = classCount
        let (embedded, embeddedBack) = classEmbedding.forward(classes, mode: mode)  // [N, k]
        let input = concatenateColumns(z, embedded)  // [N, d + k]
        let (h0, h0Back) = project.forward(input, mode: mode)  // [N, 6272]
        let (grid, gridBack) = reshape.forward(h0, mode: mode)  // [N, 128, 7, 7]
        let (n0, n0Back) = projectNorm.forward(grid, mode: mode)  // per channel, as DCGAN
        let (r0, r0Back) = relu.forward(n0, mode: mode)
        let (h1, h1Back) = upsample1.forward(r0, mode: mode)  // [N, 64, 14, 14]
        let (n1, n1Back) = upsample1Norm.forward(h1, mode: mode)
        let (r1, r1Back) = relu.forward(n1, mode: mode)
        let (h2, h2Back) = upsample2.forward(r1, mode: mode)  // [N, 1, 28, 28]
        let (images01, imagesBack) = sigmoid.forward(h2, mode: mode)
        return (
            images01,
            { dImages in
                let dH2 = imagesBack(dImages)
                let dR1 = h2Back(dH2)
                let dN1 = r1Back(dR1)
                let dH1 = n1Back(dN1)
                let dR0 = h1Back(dH1)
                let dN0 = r0Back(dR0)
                let dGrid = n0Back(dN0)
                let dH0 = gridBack(dGrid)
                let dInput = h0Back(dH0)
                let (dz, dEmbedded) = splitColumns(dInput, first: d, rows: n, total: d + k)
                embeddedBack(dEmbedded)
                return dz
            }
        )
    }

}

/// D(image) → (real/fake logit, class logits) with a shared trunk.
///
/// Conv(C→64, 4, s2, p1) (H/2)×(W/2) → LeakyReLU 0.2 → Conv(64→128, 4, s2, p1) (H/4)×(W/4) → BN →
/// LeakyReLU 0.2 → flatten (MNIST: 6272) → { Linear → 1 (source), Linear → 10 (auxiliary classifier) }.
public final class ACGANDiscriminator: ConditionalDiscriminator {
    public static let architecture = "acgan-dcgan-discriminator"
    public var architecture: String { Self.architecture }

    public let classCount: Int
    public let imageShape: ImageShape
    public let conv1: Conv2d
    public let conv2: Conv2d
    public let conv2Norm: BatchNorm
    public let flatten = Flatten()
    public let sourceHead: Linear
    public let classHead: Linear
    private let leaky = LeakyReLU(slope: 0.2)

    /// imageShape: the input's [C, H, W]; H and W divisible by 4 (two halvings); MNIST's 1×28×28
    /// by default, as the committed checkpoints.
    public init(
        classCount: Int = 10, imageShape: ImageShape = ImageShape(channels: 1, height: 28, width: 28),
        using rng: inout some RandomNumberGenerator
    ) {
        precondition(
            imageShape.height % 4 == 0 && imageShape.width % 4 == 0,
            "ACGANDiscriminator halves the image twice, so H and W must be divisible by 4, got \(imageShape)")
        self.classCount = classCount
        self.imageShape = imageShape
        let features = 128 * (imageShape.height / 4) * (imageShape.width / 4)
        conv1 = Conv2d(inputChannels: imageShape.channels, outputChannels: 64, kernelSize: 4, stride: 2, padding: 1, using: &rng)
        conv2 = Conv2d(inputChannels: 64, outputChannels: 128, kernelSize: 4, stride: 2, padding: 1, using: &rng)
        conv2Norm = BatchNorm(channels: 128)
        sourceHead = Linear(inputSize: features, outputSize: 1, using: &rng)
        classHead = Linear(inputSize: features, outputSize: classCount, using: &rng)
    }

    public var namedParameters: [(String, Parameter)] {
        prefixed("conv1", conv1.namedParameters) + prefixed("conv2", conv2.namedParameters)
            + prefixed("conv2_norm", conv2Norm.namedParameters) + prefixed("source_head", sourceHead.namedParameters)
            + prefixed("class_head", classHead.namedParameters)
    }

    public var namedBuffers: [(String, Parameter)] { prefixed("conv2_norm", conv2Norm.namedBuffers) }

    /// Both heads and one pullback taking (∂source, ∂class) to ∂images.
    /// images01: [N, C, H, W] -> sourceLogits [N, 1], classLogits [N, classCount]
    public func forward(_ images01: Tensor, mode firstMode: ForwardMode)
        -> (sourceLogits: Tensor, classLogits: Tensor, pullback: (Tensor, Tensor) -> Tensor)
    {
        let mode = firstMode.needingInputGradient
        let (h1, h1Back) = conv1.forward(images01, mode: firstMode)  // [N, 64, 14, 14]
        let (a1, a1Back) = leaky.forward(h1, mode: mode)
        let (h2, h2Back) = conv2.forward(a1, mode: mode)  // [N, 128, 7, 7]
        let (n2, n2Back) = conv2Norm.forward(h2, mode: mode)
        let (a2, a2Back) = leaky.forward(n2, mode: mode)
        let (features, featuresBack) = flatten.forward(a2, mode: mode)  // [N, 6272]
        let (source, sourceBack) = sourceHead.forward(features, mode: mode)
        let (classes, classesBack) = classHead.forward(features, mode: mode)
        return (
            source, classes,
            { dSource, dClasses in
                var dFeatures = sourceBack(dSource)
                dFeatures += classesBack(dClasses)
                let dA2 = featuresBack(dFeatures)
                let dN2 = a2Back(dA2)
                let dH2 = n2Back(dN2)
                let dA1 = h2Back(dH2)
                let dH1 = a1Back(dA1)
                return h1Back(dH1)
            }
        )
    }

    // images01: [N, C, H, W] -> [N, 128·(H/4)·(W/4)] (the shared trunk's features)
    public func features(_ images01: Tensor) -> Tensor {
        let mode = ForwardMode.eval
        let a1 = leaky.forward(conv1.forward(images01, mode: mode).0, mode: mode).0
        let n2 = conv2Norm.forward(conv2.forward(a1, mode: mode).0, mode: mode).0
        return leaky.forward(n2, mode: mode).0.reshaped([images01.batchCount, -1])
    }
}

/// The auxiliary classifier of a trained AC-GAN discriminator, usable wherever a classifier is
/// (its accuracy on real test digits, and Song et al.'s check that the source class survives).
public final class AuxiliaryClassifier: ImageClassifier {
    public let discriminator: any ConditionalDiscriminator
    public init(_ discriminator: any ConditionalDiscriminator) { self.discriminator = discriminator }
    public var classCount: Int { discriminator.classCount }
    public var namedParameters: [(String, Parameter)] { discriminator.namedParameters }
    public var namedBuffers: [(String, Parameter)] { discriminator.namedBuffers }

    // images01: [N, 1, 28, 28] -> class logits [N, 10]
    public func logits(_ images01: Tensor, mode: ForwardMode) -> (Tensor, Pullback) {
        let (_, classLogits, pullback) = discriminator.forward(images01, mode: mode)
        let n = images01.batchCount
        return (classLogits, { dLogits in pullback(Tensor.zeros([n, 1]), dLogits) })
    }

    // images01: [N, 1, 28, 28] -> the discriminator's trunk features [N, F]
    public func features(_ images01: Tensor) -> Tensor { discriminator.features(images01) }
}

/// `[N, a] ++ [N, b] -> [N, a + b]`.
func concatenateColumns(_ left: Tensor, _ right: Tensor) -> Tensor {
    let n = left.shape[0]
    let a = left.shape[1]
    let b = right.shape[1]
    return Tensor(shape: [n, a + b]) { out in
        for row in 0..<n {
            for j in 0..<a { out[row * (a + b) + j] = left.scalars[row * a + j] }
            for j in 0..<b { out[row * (a + b) + a + j] = right.scalars[row * b + j] }
        }
    }
}

/// `[N, total] -> ([N, first], [N, total − first])`.
func splitColumns(_ x: Tensor, first: Int, rows: Int, total: Int) -> (Tensor, Tensor) {
    let second = total - first
    let left = Tensor(shape: [rows, first]) { out in
        for row in 0..<rows { for j in 0..<first { out[row * first + j] = x.scalars[row * total + j] } }
    }
    let right = Tensor(shape: [rows, second]) { out in
        for row in 0..<rows { for j in 0..<second { out[row * second + j] = x.scalars[row * total + first + j] } }
    }
    return (left, right)
}
