// swift-tools-version:5.10
// advlab — what really counts as an adversarial example on MNIST.
// Targets follow the layers of docs/ARCHITECTURE.md, bottom to top; a target only depends on layers below it.
import PackageDescription

// Release builds use plain -O (not -Ounchecked: preconditions guard engine invariants). The
// numeric layers are optimised in debug builds too, so the test suite (built in debug) runs its
// kernels at a usable speed; the CLI and the tests themselves stay unoptimised for debugging.
let optimize: [SwiftSetting] = [.unsafeFlags(["-O"], .when(configuration: .debug))]

let package = Package(
    name: "advlab",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "advlab", targets: ["advlab"]),
        // libFuzzer targets (Scripts/fuzz builds them with -sanitize=fuzzer,address); in an
        // ordinary build they replay input files through the same checks.
        .executable(name: "fuzz-idx", targets: ["fuzz-idx"]),
        .executable(name: "fuzz-safetensors", targets: ["fuzz-safetensors"]),
        .executable(name: "fuzz-onnx", targets: ["fuzz-onnx"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        // ONNX models are protobuf; Sources/AdvONNX/Generated/onnx.pb.swift is generated once and committed.
        .package(url: "https://github.com/apple/swift-protobuf", from: "1.39.0"),
    ],
    targets: [
        // C modules: system libraries from Debian (libdnnl-dev, libpng-dev, zlib1g-dev, libssl-dev, liblapacke-dev).
        .systemLibrary(name: "CDNNL", path: "Sources/CDNNL"),
        .systemLibrary(name: "CPNG", path: "Sources/CPNG"),
        .systemLibrary(name: "CZlib", path: "Sources/CZlib"),
        .systemLibrary(name: "COpenSSL", path: "Sources/COpenSSL"),
        .systemLibrary(name: "CLAPACK", path: "Sources/CLAPACK"),

        // Tensor: Float32 storage, kernels, GEMM (oneDNN), im2col, parallel-for, seeded RNG.
        .target(name: "AdvTensor", dependencies: ["CDNNL"], swiftSettings: optimize),
        // NN: layers with pullbacks, losses, optimizers, safetensors checkpoints.
        .target(name: "AdvNN", dependencies: ["AdvTensor"], swiftSettings: optimize),
        // Imaging: PNG encode/decode (libpng), grids, colormaps, bitmap font.
        .target(name: "AdvImaging", dependencies: ["AdvTensor", "CPNG"], swiftSettings: optimize),
        // Data: IDX reader (gzip), MNIST / Fashion-MNIST, checksums, batching.
        .target(name: "AdvData", dependencies: ["AdvTensor", "CZlib", "COpenSSL"], swiftSettings: optimize),
        // Models: classifier CNNs, AC-GAN, triplet embedding net.
        .target(name: "AdvModels", dependencies: ["AdvNN"], swiftSettings: optimize),
        // ONNX: reads ONNX classifiers (swift-protobuf) into AdvNN layers as an ImageClassifier.
        .target(
            name: "AdvONNX", dependencies: ["AdvNN", "AdvModels", .product(name: "SwiftProtobuf", package: "swift-protobuf")],
            exclude: ["Generated/README.md"],
            swiftSettings: optimize),
        // Training: loops, progress, checkpoints, resume, metrics.
        .target(name: "AdvTraining", dependencies: ["AdvModels", "AdvONNX", "AdvData", "AdvImaging"], swiftSettings: optimize),
        // Attacks: FGSM, IGS, PGD L∞/L2, C&W-L2, combination, embedding PGD, latent search.
        .target(name: "AdvAttacks", dependencies: ["AdvModels"], swiftSettings: optimize),
        // Analysis: distances, nearest neighbours, conditions (1)/(2), per-class ε, sample quality (FCD).
        .target(name: "AdvAnalysis", dependencies: ["AdvAttacks", "AdvModels", "AdvData", "CLAPACK"], swiftSettings: optimize),
        // Report: figures, tables, HTML/Markdown/JSON report, judge page.
        .target(name: "AdvReport", dependencies: ["AdvAnalysis", "AdvAttacks", "AdvImaging", "AdvTraining"], swiftSettings: optimize),

        // The command-line tool: one file per subcommand, run() only wires library calls.
        .executableTarget(
            name: "advlab",
            dependencies: [
                "AdvTraining",
                "AdvAnalysis",
                "AdvAttacks",
                "AdvReport",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: optimize),

        // Fuzzing (Fuzz/): a C shim that finds libFuzzer when it is linked, the shared main, and
        // one executable per parser.
        .target(name: "CFuzzerDriver", path: "Fuzz/CFuzzerDriver"),
        .target(name: "FuzzSupport", dependencies: ["CFuzzerDriver"], path: "Fuzz/FuzzSupport"),
        .executableTarget(name: "fuzz-idx", dependencies: ["AdvData", "CZlib", "FuzzSupport"], path: "Fuzz/fuzz-idx"),
        .executableTarget(name: "fuzz-safetensors", dependencies: ["AdvNN", "FuzzSupport"], path: "Fuzz/fuzz-safetensors"),
        .executableTarget(name: "fuzz-onnx", dependencies: ["AdvONNX", "FuzzSupport"], path: "Fuzz/fuzz-onnx"),

        .target(name: "TestSupport", dependencies: ["AdvTensor"], path: "Tests/TestSupport"),
        .testTarget(name: "AdvTensorTests", dependencies: ["AdvTensor", "TestSupport"]),
        .testTarget(name: "AdvNNTests", dependencies: ["AdvNN", "TestSupport", "CLAPACK"]),
        .testTarget(name: "AdvImagingTests", dependencies: ["AdvImaging", "TestSupport"]),
        .testTarget(name: "AdvDataTests", dependencies: ["AdvData", "TestSupport"]),
        .testTarget(name: "AdvONNXTests", dependencies: ["AdvONNX", "AdvData", "TestSupport"], exclude: ["Fixtures"]),
        .testTarget(name: "AdvModelsTests", dependencies: ["AdvModels", "AdvTraining", "TestSupport"]),
        .testTarget(name: "AdvAnalysisTests", dependencies: ["AdvAnalysis", "TestSupport"]),
        .testTarget(name: "AdvAttacksTests", dependencies: ["AdvAttacks", "AdvData", "TestSupport"]),
        .testTarget(name: "AdvReportTests", dependencies: ["AdvReport", "AdvAnalysis", "TestSupport"]),
        .testTarget(name: "CLITests", dependencies: ["advlab", "AdvTraining", "TestSupport"]),
    ]
)
