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
        public var detail: [String: Double] = [:]

        public init(name: String, flops: Double, secondsPerIteration: Double, gemmGFLOPS: Double, detail: [String: Double] = [:]) {
            self.name = name
            self.gflops = flops / secondsPerIteration / 1e9
            self.efficiency = gflops / gemmGFLOPS
            self.seconds_per_iter = secondsPerIteration
            self.detail = detail
        }
    }

    /// Median seconds of `iterations` runs of `body` after `warmup` runs.
    public static func medianSeconds(iterations: Int, warmup: Int = 1, _ body: () -> Void) -> Double {
        for _ in 0..<warmup { body() }
        var times: [Double] = []
        for _ in 0..<iterations {
            let start = DispatchTime.now().uptimeNanoseconds
            body()
            times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
        }
        times.sort()
        return times[times.count / 2]
    }

    /// GFLOP/s of `dnnl_sgemm` on square `size`³ products (the best of several runs, so the
    /// denominator is the machine's attainable GEMM rate right now).
    public static func gemmGFLOPS(size: Int = 1024, iterations: Int = 10) -> Double {
        var rng = SeededGenerator(seed: 1)
        let a = Tensor.randomUniform([size, size], using: &rng)
        let b = Tensor.randomUniform([size, size], using: &rng)
        var c = Tensor.zeros([size, size])
        var best = Double.infinity
        for iteration in 0..<(iterations + 2) {
            let start = DispatchTime.now().uptimeNanoseconds
            a.scalars.withUnsafeBufferPointer { pa in
                b.scalars.withUnsafeBufferPointer { pb in
                    c.scalars.withUnsafeMutableBufferPointer { pc in
                        gemm(transposeA: false, transposeB: false, m: size, n: size, k: size,
                             a: pa.baseAddress!, lda: size, b: pb.baseAddress!, ldb: size, c: pc.baseAddress!, ldc: size)
                    }
                }
            }
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            if iteration >= 2 { best = min(best, seconds) }
        }
        return GEMM.flops(m: size, n: size, k: size) / best / 1e9
    }

    /// Useful FLOPs of one forward pass of the MNIST-challenge CNN per image (the GEMM work of
    /// its convolutions and linear layers).
    public static let challengeCNNForwardFLOPs: Double =
        GEMM.flops(m: 32, n: 28 * 28, k: 25) + GEMM.flops(m: 64, n: 14 * 14, k: 800)
        + GEMM.flops(m: 1, n: 1024, k: 3136) + GEMM.flops(m: 1, n: 10, k: 1024)

    /// One Adam step of the MNIST-challenge CNN at `batchSize` on random data: forward, backward
    /// (input and weight gradients, counted as 2× forward) and update.
    public static func classifierTrainStep(batchSize: Int = 128, iterations: Int = 10, gemmGFLOPS: Double) -> Workload {
        var rng = SeededGenerator(seed: 2)
        let model = MNISTChallengeCNN(using: &rng)
        let optimizer = Adam(model.namedParameters)
        let images = Tensor.randomUniform([batchSize, 1, 28, 28], using: &rng)
        let labels = (0..<batchSize).map { $0 % 10 }
        let seconds = medianSeconds(iterations: iterations, warmup: 2) {
            model.zeroGradients()
            let (logits, pullback) = model.logits(images, mode: .train)
            let (_, dLogits) = softmaxCrossEntropy(logits: logits, labels: labels)
            _ = pullback(dLogits)
            optimizer.step()
        }
        return Workload(name: "classifier_train_step", flops: 3 * challengeCNNForwardFLOPs * Double(batchSize),
                        secondsPerIteration: seconds, gemmGFLOPS: gemmGFLOPS,
                        detail: ["batch": Double(batchSize), "images_per_second": Double(batchSize) / seconds])
    }

    /// Peak resident memory of this process so far, in MiB.
    public static func peakMemoryMiB() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Double(usage.ru_maxrss) / 1024   // Linux reports KiB
    }
}
