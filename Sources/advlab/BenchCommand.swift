import AdvData
import AdvReport
import AdvTensor
import AdvTraining
import ArgumentParser
import Foundation

/// `advlab bench`: every workload's effective GFLOP/s over the GEMM GFLOP/s of the same run.
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure workloads as ratios to this run's GEMM speed.",
        discussion:
            "efficiency = workload GFLOP/s ÷ GEMM GFLOP/s, both measured in this process (the GEMM before every workload and at the end; the best of those is the denominator); 1.0 would mean the workload runs at the speed of a large square sgemm. ADVLAB_BENCH_CLOCK=cpu measures CPU time instead of wall time and needs ADVLAB_THREADS=1 OMP_NUM_THREADS=1."
    )

    @OptionGroup var seedOption: SeedOption
    @OptionGroup var jsonOption: JSONOption
    @Option(help: "Comma-separated workloads to run (default: all).") var only: String?
    @Option(help: "Timed iterations per workload.") var iterations = 10
    @Option(help: "Natural classifier for pgd40_linf_1000 and latent_search_step.") var classifier =
        "checkpoints/classifier-natural.safetensors"
    @Option(name: .customLong("robust-classifier"), help: "Adversarially trained classifier for apgd_t_1000.")
    var robustClassifier = "checkpoints/classifier-robust.safetensors"
    @Option(help: "AC-GAN for latent_search_step.") var generator = "checkpoints/acgan.safetensors"
    @Option(help: "The natural classifier exported to ONNX, for pgd40_linf_1000_onnx (its speed against --classifier's).")
    var onnxClassifier = "Tests/AdvONNXTests/Fixtures/challenge-cnn.onnx"
    @OptionGroup var dataOptions: DataOptions

    func validate() throws {
        if let problem = Benchmark.clockProblem { throw ValidationError(problem) }
        guard (1...1000).contains(iterations) else { throw ValidationError("--iterations must be in 1…1000, got \(iterations)") }
        let known = Set(Self.workloadNames)
        for name in selected where !known.contains(name) {
            throw ValidationError("--only: unknown workload \(name); known: \(Self.workloadNames.joined(separator: ", "))")
        }
    }

    static let workloadNames = [
        "classifier_train_step", "acgan_train_step", "acgan_resnet_train_step", "pgd40_linf_1000", "pgd40_linf_1000_onnx", "apgd_t_1000",
        "latent_search_step", "nearest_neighbors_70k", "classifier_train_step_convs", "acgan_train_step_convs",
    ]
    var selected: [String] { only.map { $0.split(separator: ",").map(String.init) } ?? Self.workloadNames }

    struct Result: Encodable {
        /// The best GEMM measurement of the run: every efficiency is relative to it.
        var gemm_gflops: Double
        /// Every GEMM measurement, in order (one before each workload and one at the end); their
        /// spread shows how much the machine's speed moved during the run.
        var gemm_gflops_measurements: [Double]
        var workloads: [Benchmark.Workload]
        var peak_memory_mib: Double
        var seed: UInt64
        /// The lab's own worker threads (`ADVLAB_THREADS`) and oneDNN's (`OMP_NUM_THREADS`).
        var threads: Int
        var gemm_threads: Int
        /// `wall` or `cpu` (`ADVLAB_BENCH_CLOCK`).
        var clock: String
        /// The processor (`Machine.cpu`): figures compare only within one machine.
        var cpu: String
    }

    /// The inputs of a workload that needs checkpoints or data: when running every workload,
    /// a missing input skips that workload with a note; when asked for by name, it is an error.
    func loadOrSkip<T>(_ name: String, _ load: () throws -> T) throws -> T? {
        do { return try load() } catch {
            if only != nil { throw error }
            note("bench: skipping \(name): \(error)")
            return nil
        }
    }

    func run() throws {
        var gemmMeasurements: [Double] = []
        var workloads: [Benchmark.Workload] = []
        for name in selected {
            let gemm = Benchmark.gemmGFLOPS()
            gemmMeasurements.append(gemm)
            switch name {
            case "classifier_train_step": workloads.append(Benchmark.classifierTrainStep(iterations: iterations, gemmGFLOPS: gemm))
            case "acgan_train_step": workloads.append(try Benchmark.acganTrainStep(iterations: iterations, gemmGFLOPS: gemm))
            case "acgan_resnet_train_step":
                workloads.append(try Benchmark.acganTrainStep(architecture: "resnet", iterations: iterations, gemmGFLOPS: gemm))
            case "classifier_train_step_convs":
                workloads.append(
                    Benchmark.convolutionLayersStep(
                        name: name, layers: Benchmark.classifierConvolutions(), iterations: iterations, gemmGFLOPS: gemm))
            case "acgan_train_step_convs":
                workloads.append(
                    Benchmark.convolutionLayersStep(
                        name: name, layers: Benchmark.acganConvolutions(), iterations: iterations, gemmGFLOPS: gemm))
            case "pgd40_linf_1000":
                guard let model = try loadOrSkip(name, { try ModelLoading.classifier(path: classifier) }),
                    let test = try loadOrSkip(name, { try dataOptions.load(.test) })
                else { continue }
                workloads.append(Benchmark.pgd40Linf1000(model: model, test: test, gemmGFLOPS: gemm))
            case "apgd_t_1000":
                guard let model = try loadOrSkip(name, { try ModelLoading.classifier(path: robustClassifier) }),
                    let test = try loadOrSkip(name, { try dataOptions.load(.test) })
                else { continue }
                workloads.append(Benchmark.apgdT1000(model: model, test: test, gemmGFLOPS: gemm))
            case "pgd40_linf_1000_onnx":
                guard let native = try loadOrSkip(name, { try ModelLoading.classifier(path: classifier) }),
                    let imported = try loadOrSkip(name, { try ModelLoading.classifier(path: onnxClassifier) }),
                    let test = try loadOrSkip(name, { try dataOptions.load(.test) })
                else {
                    continue
                }
                workloads.append(Benchmark.pgd40ONNXRatio(native: native, imported: imported, test: test, gemmGFLOPS: gemm))
            case "latent_search_step":
                guard let model = try loadOrSkip(name, { try ModelLoading.classifier(path: classifier) }),
                    let gan = try loadOrSkip(name, { try ModelLoading.acgan(path: generator) })
                else { continue }
                workloads.append(
                    Benchmark.latentSearchStep(
                        generator: gan.generator, discriminator: gan.discriminator, classifier: model,
                        iterations: iterations, gemmGFLOPS: gemm))
            case "nearest_neighbors_70k":
                guard let (train, test) = try loadOrSkip(name, { try dataOptions.loadBoth() }) else { continue }
                workloads.append(
                    Benchmark.nearestNeighbors70k(
                        images: Tensor.concatenate([train.images, test.images]),
                        labels: train.labels + test.labels, gemmGFLOPS: gemm))
            default: break
            }
        }
        gemmMeasurements.append(Benchmark.gemmGFLOPS())
        let gemm = gemmMeasurements.max() ?? 0
        workloads = workloads.map { $0.relative(toGEMM: gemm) }
        let result = Result(
            gemm_gflops: gemm, gemm_gflops_measurements: gemmMeasurements, workloads: workloads,
            peak_memory_mib: Benchmark.peakMemoryMiB(), seed: seedOption.seed,
            threads: Parallel.threadCount, gemm_threads: GEMM.threadCount,
            clock: Benchmark.usesProcessCPUTime ? "cpu" : "wall", cpu: Machine.cpu)
        if jsonOption.json {
            print(try jsonText(result))
        } else {
            print("cpu: \(result.cpu)")
            print(
                String(
                    format:
                        "GEMM (1024³ sgemm, oneDNN): %.1f GFLOP/s, the best of %d measurements (lowest %.1f); %@ clock, %d + %d threads",
                    gemm, gemmMeasurements.count, gemmMeasurements.min() ?? 0, result.clock, result.threads, result.gemm_threads))
            for w in workloads {
                print(
                    String(
                        format: "%@: %.1f GFLOP/s, efficiency %.2f, %.2f ms/iter", w.name, w.gflops, w.efficiency, w.seconds_per_iter * 1000
                    ))
                for key in w.detail.keys.sorted() where key.hasSuffix("_ms") || key.hasSuffix("_efficiency") || key.hasSuffix("_ratio") {
                    print(String(format: "  %@: %.2f", key, w.detail[key] ?? 0))
                }
            }
            print(String(format: "peak memory: %.0f MiB", result.peak_memory_mib))
        }
    }
}
