import AdvModels
import AdvNN
import AdvTensor
import Foundation

/// Benchmarks report ratios measured in one run: a workload's effective GFLOP/s (its counted
/// useful floating-point operations over its time) divided by the GEMM GFLOP/s measured in the
/// same process a moment before. Timings alone say little on a shared 2-core machine; the
/// ratio says how close a workload gets to the matrix unit it is built on.
public enum Benchmark {
    /// One measured workload.
    public struct Workload: Codable, Sendable {
        public var name: String
        public var gflops: Double
        public var efficiency: Double
        public var seconds_per_iter: Double
        /// The GEMM GFLOP/s that `efficiency` (and every `*_efficiency` in `detail`) is relative to.
        public var gemm_gflops: Double
        public var detail: [String: Double] = [:]

        public init(name: String, flops: Double, secondsPerIteration: Double, gemmGFLOPS: Double, detail: [String: Double] = [:]) {
            self.name = name
            self.gflops = flops / secondsPerIteration / 1e9
            self.efficiency = gflops / gemmGFLOPS
            self.seconds_per_iter = secondsPerIteration
            self.gemm_gflops = gemmGFLOPS
            self.detail = detail
        }

        /// The same measurement relative to another GEMM rate: the bench measures the GEMM
        /// around every workload and divides by the best of those measurements at the end.
        public func relative(toGEMM gemmGFLOPS: Double) -> Workload {
            var result = self
            let factor = self.gemm_gflops / gemmGFLOPS
            result.efficiency *= factor
            for (key, value) in detail where key.hasSuffix("_efficiency") { result.detail[key] = value * factor }
            result.gemm_gflops = gemmGFLOPS
            return result
        }
    }

    /// The clock of every measurement: wall time, or with `ADVLAB_BENCH_CLOCK=cpu` the CPU time
    /// of the process, which other jobs on a busy machine do not inflate. CPU time sums over
    /// threads, so it only equals the run time single-threaded (`ADVLAB_THREADS=1 OMP_NUM_THREADS=1`).
    public static let usesProcessCPUTime = ProcessInfo.processInfo.environment["ADVLAB_BENCH_CLOCK"] == "cpu"

    /// Why the CPU clock cannot be used with the current thread settings, or nil when it can
    /// (or is not in use). Summed over threads, CPU time hides the time that a second core sits
    /// idle during single-threaded stretches, so a multi-threaded run would look better than it is.
    public static var clockProblem: String? {
        guard usesProcessCPUTime, Parallel.threadCount != 1 || GEMM.threadCount != 1 else { return nil }
        return "ADVLAB_BENCH_CLOCK=cpu sums CPU time over threads, so it needs ADVLAB_THREADS=1 OMP_NUM_THREADS=1 "
            + "(got \(Parallel.threadCount) and \(GEMM.threadCount))"
    }

    /// Seconds on the benchmark clock since an arbitrary origin.
    public static func now() -> Double {
        if usesProcessCPUTime {
            var time = timespec()
            clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &time)
            return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
        }
        return Double(DispatchTime.now().uptimeNanoseconds) / 1e9
    }

    /// Median seconds of `iterations` runs of `body` after `warmup` runs.
    public static func medianSeconds(iterations: Int, warmup: Int = 1, _ body: () -> Void) -> Double {
        for _ in 0..<warmup { body() }
        var times: [Double] = []
        for _ in 0..<iterations {
            let start = now()
            body()
            times.append(now() - start)
        }
        times.sort()
        return times[times.count / 2]
    }

    /// GFLOP/s of `dnnl_sgemm` on square `size`³ products (the best of several runs, so the
    /// denominator is the machine's attainable GEMM rate right now). The bench calls it before
    /// every workload and once more at the end and divides by the best of all: one measurement
    /// taken while another job held a core would otherwise inflate every ratio of the run.
    public static func gemmGFLOPS(size: Int = 1024, iterations: Int = 10) -> Double {
        var rng = SeededGenerator(seed: 1)
        let a = Tensor.randomUniform([size, size], using: &rng)
        let b = Tensor.randomUniform([size, size], using: &rng)
        var c = Tensor.zeros([size, size])
        var best = Double.infinity
        for iteration in 0..<(iterations + 2) {
            let start = now()
            a.scalars.withUnsafeBufferPointer { pa in
                b.scalars.withUnsafeBufferPointer { pb in
                    c.scalars.withUnsafeMutableBufferPointer { pc in
                        gemm(
                            transposeA: false, transposeB: false, m: size, n: size, k: size,
                            a: pa.baseAddress!, lda: size, b: pb.baseAddress!, ldb: size, c: pc.baseAddress!, ldc: size)
                    }
                }
            }
            let seconds = now() - start
            if iteration >= 2 { best = min(best, seconds) }
        }
        return GEMM.flops(m: size, n: size, k: size) / best / 1e9
    }

    /// FLOPs of one attack step per image against `model`: a forward pass and the input-gradient
    /// pass (no weight gradients), counted by `FLOPCounter` on one image of `imageShape` ([C, H, W],
    /// the attacked data set's).
    public static func attackStepFLOPs(_ model: any ImageClassifier, imageShape: [Int] = [1, 28, 28]) -> Double {
        let image = Tensor.zeros([1] + imageShape)
        return FLOPCounter.counting {
            let (logits, pullback) = model.logits(image, mode: .eval)
            _ = pullback(Tensor(repeating: 1, shape: logits.shape))
        }
    }

    /// One Adam step of the MNIST-challenge CNN at `batchSize` on random data: forward, backward
    /// and update, as the trainer runs it. Work (`FLOPCounter`, one counted step): forward, every
    /// weight gradient and the input gradients of every layer but the first (the images' gradient
    /// is not needed for training; `.trainParametersOnly` skips it).
    public static func classifierTrainStep(batchSize: Int = 128, iterations: Int = 10, gemmGFLOPS: Double) -> Workload {
        var rng = SeededGenerator(seed: 2)
        let model = MNISTChallengeCNN(using: &rng)
        let optimizer = Adam(model.namedParameters)
        let images = Tensor.randomUniform([batchSize, 1, 28, 28], using: &rng)
        let labels = (0..<batchSize).map { $0 % 10 }
        let step = {
            model.zeroGradients()
            let (logits, pullback) = model.logits(images, mode: .trainParametersOnly)
            let (_, dLogits) = softmaxCrossEntropy(logits: logits, labels: labels)
            _ = pullback(dLogits)
            optimizer.step()
        }
        let seconds = medianSeconds(iterations: iterations, warmup: 2, step)
        let flops = FLOPCounter.counting(step)
        return Workload(
            name: "classifier_train_step", flops: flops,
            secondsPerIteration: seconds, gemmGFLOPS: gemmGFLOPS,
            detail: ["batch": Double(batchSize), "images_per_second": Double(batchSize) / seconds])
    }

    /// One convolution layer of a workload: its name, the layer and its input shape.
    public struct ConvolutionLayerCase {
        public var name: String
        public var layer: any Layer
        public var inputShape: [Int]
    }

    /// The convolutions of the MNIST-challenge CNN at `batchSize` (conv 5×5 1→32 at 28×28,
    /// conv 5×5 32→64 at 14×14, both padding 2).
    public static func classifierConvolutions(batchSize: Int = 128) -> [ConvolutionLayerCase] {
        var rng = SeededGenerator(seed: 3)
        return [
            ConvolutionLayerCase(
                name: "conv1", layer: Conv2d(inputChannels: 1, outputChannels: 32, kernelSize: 5, padding: 2, using: &rng),
                inputShape: [batchSize, 1, 28, 28]),
            ConvolutionLayerCase(
                name: "conv2", layer: Conv2d(inputChannels: 32, outputChannels: 64, kernelSize: 5, padding: 2, using: &rng),
                inputShape: [batchSize, 32, 14, 14]),
        ]
    }

    /// The convolutions of the AC-GAN at `batchSize`: the generator's transposed convolutions
    /// (4×4, stride 2, padding 1: 128→64 at 7→14, 64→1 at 14→28) and the discriminator's
    /// convolutions (4×4, stride 2, padding 1: 1→64 at 28→14, 64→128 at 14→7).
    public static func acganConvolutions(batchSize: Int = 64) -> [ConvolutionLayerCase] {
        var rng = SeededGenerator(seed: 4)
        return [
            ConvolutionLayerCase(
                name: "generator_upsample1",
                layer: ConvTranspose2d(inputChannels: 128, outputChannels: 64, kernelSize: 4, stride: 2, padding: 1, using: &rng),
                inputShape: [batchSize, 128, 7, 7]),
            ConvolutionLayerCase(
                name: "generator_upsample2",
                layer: ConvTranspose2d(inputChannels: 64, outputChannels: 1, kernelSize: 4, stride: 2, padding: 1, using: &rng),
                inputShape: [batchSize, 64, 14, 14]),
            ConvolutionLayerCase(
                name: "discriminator_conv1",
                layer: Conv2d(inputChannels: 1, outputChannels: 64, kernelSize: 4, stride: 2, padding: 1, using: &rng),
                inputShape: [batchSize, 1, 28, 28]),
            ConvolutionLayerCase(
                name: "discriminator_conv2",
                layer: Conv2d(inputChannels: 64, outputChannels: 128, kernelSize: 4, stride: 2, padding: 1, using: &rng),
                inputShape: [batchSize, 64, 14, 14]),
        ]
    }

    /// Forward and backward (input and parameter gradients; `FLOPCounter` counts the three products) of each layer
    /// in `layers` on random data, one after the other; `detail` holds each layer's milliseconds
    /// and its own efficiency.
    public static func convolutionLayersStep(
        name: String, layers: [ConvolutionLayerCase], iterations: Int = 10,
        gemmGFLOPS: Double
    ) -> Workload {
        var rng = SeededGenerator(seed: 5)
        var detail: [String: Double] = [:]
        var totalSeconds = 0.0
        var totalFLOPs = 0.0
        for item in layers {
            let x = Tensor.randomUniform(item.inputShape, using: &rng)
            let (probe, _) = item.layer.forward(x, mode: .train)
            let dy = Tensor.randomUniform(probe.shape, low: -1, high: 1, using: &rng)
            let pass = {
                item.layer.zeroGradients()
                let (_, pullback) = item.layer.forward(x, mode: .train)
                _ = pullback(dy)
            }
            let seconds = medianSeconds(iterations: iterations, warmup: 2, pass)
            let flops = FLOPCounter.counting(pass)
            detail[item.name + "_ms"] = seconds * 1000
            detail[item.name + "_efficiency"] = flops / seconds / 1e9 / gemmGFLOPS
            totalSeconds += seconds
            totalFLOPs += flops
        }
        detail["batch"] = Double(layers.first?.inputShape.first ?? 0)
        return Workload(name: name, flops: totalFLOPs, secondsPerIteration: totalSeconds, gemmGFLOPS: gemmGFLOPS, detail: detail)
    }

    /// Peak resident memory of this process so far, in MiB.
    public static func peakMemoryMiB() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Double(usage.ru_maxrss) / 1024  // Linux reports KiB
    }
}
