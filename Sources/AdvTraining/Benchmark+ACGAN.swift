import AdvModels
import AdvNN
import AdvTensor

extension Benchmark {
    /// Useful FLOPs of the AC-GAN networks per image: the GEMM work of their linear,
    /// convolution and transposed-convolution layers in one forward pass, and of the first layer
    /// of each alone (whose input gradient a training step does not need).
    public static func acganForwardFLOPs(latentSize: Int = 100)
        -> (generator: Double, discriminator: Double, generatorFirst: Double, discriminatorFirst: Double) {
        let generatorFirst = GEMM.flops(m: 1, n: 128 * 7 * 7, k: latentSize + 10)
        let generator = generatorFirst
            + GEMM.flops(m: 64 * 16, n: 7 * 7, k: 128)          // ConvT 128→64, 4×4, on the 7×7 grid
            + GEMM.flops(m: 1 * 16, n: 14 * 14, k: 64)          // ConvT 64→1, 4×4, on the 14×14 grid
        let discriminatorFirst = GEMM.flops(m: 64, n: 14 * 14, k: 16)    // Conv 1→64, 4×4, stride 2
        let discriminator = discriminatorFirst
            + GEMM.flops(m: 128, n: 7 * 7, k: 64 * 16)              // Conv 64→128, 4×4, stride 2
            + GEMM.flops(m: 1, n: 11, k: 128 * 7 * 7)               // both heads
        return (generator, discriminator, generatorFirst, discriminatorFirst)
    }

    /// One full AC-GAN training step at `batchSize` (one discriminator and one generator update)
    /// on random "real" data. Counted work: D step = G forward (B) + D forward and backward on 2B
    /// images (3× forward, less the input gradient of D's first layer, which nothing needs and
    /// `.trainParametersOnly` skips); G step = G forward and backward (3×, less the z columns of
    /// the projection's input gradient: computed, because the class embedding's gradient comes
    /// from the same product, but not needed) + D forward and input-backward (2×; D's weight
    /// gradients are not computed).
    public static func acganTrainStep(batchSize: Int = 64, iterations: Int = 10, gemmGFLOPS: Double) throws -> Workload {
        var config = ACGANTrainingConfig()
        config.batchSize = batchSize
        let trainer = ACGANTrainer(config: config, checkpointPath: "/dev/null", samplesDirectory: nil, commandLine: "bench")
        let generatorOptimizer = Adam(trainer.generator.namedParameters, learningRate: 2e-4, beta1: 0.5)
        let discriminatorOptimizer = Adam(trainer.discriminator.namedParameters, learningRate: 2e-4, beta1: 0.5)
        var rng = SeededGenerator(seed: 4)
        let images = Tensor.randomUniform([batchSize, 1, 28, 28], using: &rng)
        let labels = (0..<batchSize).map { $0 % 10 }
        let targets = Tensor(repeating: 1, shape: [batchSize, 1])
        var failure: Error?
        let seconds = medianSeconds(iterations: iterations, warmup: 2) {
            do {
                _ = try trainer.trainStep(realImages: images, realLabels: labels, realTargets: targets,
                                          generatorOptimizer: generatorOptimizer, discriminatorOptimizer: discriminatorOptimizer,
                                          using: &rng)
            } catch { failure = error }
        }
        if let failure { throw failure }
        let (g, d, g1, d1) = acganForwardFLOPs(latentSize: config.latentSize)
        let discriminatorStep = g + 2 * (3 * d - d1)
        let generatorStep = (3 * g - g1 * Double(config.latentSize) / Double(config.latentSize + 10)) + 2 * d
        let flops = Double(batchSize) * (discriminatorStep + generatorStep)
        return Workload(name: "acgan_train_step", flops: flops, secondsPerIteration: seconds, gemmGFLOPS: gemmGFLOPS,
                        detail: ["batch": Double(batchSize), "steps_per_second": 1 / seconds])
    }
}
