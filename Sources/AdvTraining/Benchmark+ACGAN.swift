import AdvModels
import AdvNN
import AdvTensor

extension Benchmark {
    /// One full AC-GAN training step of the `GeneratorArchitectures` entry `architecture` at
    /// `batchSize` (one discriminator and one generator update, with the architecture's training
    /// settings) on random "real" data. Work (`FLOPCounter`, one counted step): the products that
    /// ran: D step = G forward (B) + D forward and backward on 2B images (less the input gradient
    /// of D's first layer, which `.trainParametersOnly` skips); G step = G forward and backward +
    /// D forward and input-backward (D's weight gradients are not computed).
    public static func acganTrainStep(
        architecture: String = "dcgan", batchSize: Int = 64, iterations: Int = 10,
        gemmGFLOPS: Double
    ) throws -> Workload {
        var config = ACGANTrainingConfig.defaults(architecture: architecture)
        config.batchSize = batchSize
        let trainer = ACGANTrainer(config: config, checkpointPath: "/dev/null", samplesDirectory: nil, commandLine: "bench")
        let (generatorOptimizer, discriminatorOptimizer) = trainer.makeOptimizers()
        var rng = SeededGenerator(seed: 4)
        let images = Tensor.randomUniform([batchSize, 1, 28, 28], using: &rng)
        let labels = (0..<batchSize).map { $0 % 10 }
        let targets = Tensor(repeating: 1, shape: [batchSize, 1])
        var failure: Error?
        let step = {
            do {
                _ = try trainer.trainStep(
                    realImages: images, realLabels: labels, realTargets: targets,
                    generatorOptimizer: generatorOptimizer, discriminatorOptimizer: discriminatorOptimizer,
                    using: &rng)
            } catch { failure = error }
        }
        let seconds = medianSeconds(iterations: iterations, warmup: 2, step)
        let flops = FLOPCounter.counting(step)
        if let failure { throw failure }
        let name = architecture == "dcgan" ? "acgan_train_step" : "acgan_\(architecture)_train_step"
        return Workload(
            name: name, flops: flops, secondsPerIteration: seconds, gemmGFLOPS: gemmGFLOPS,
            detail: ["batch": Double(batchSize), "steps_per_second": 1 / seconds])
    }
}
