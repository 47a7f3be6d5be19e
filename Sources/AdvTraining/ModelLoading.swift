import AdvData
import AdvModels
import AdvNN
import AdvONNX
import AdvTensor
import Foundation

/// Loads committed checkpoints into models, checking their kind and architecture.
public enum ModelLoading {
    /// The one place a classifier is loaded (every command's `--model`, the report's natural and
    /// robust models and judge, `--reference-model`, `--judge`): an ONNX file (`isONNX`) is
    /// imported (`ONNXClassifier`, throwing `ONNXError`), anything else read as the lab's own
    /// checkpoint (`labClassifier(path:)`, throwing `CheckpointError`).
    public static func classifier(path: String) throws -> any ImageClassifier {
        try isONNX(path: path) ? ONNXClassifier(path: path) : labClassifier(path: path)
    }

    /// Whether `path` is an ONNX model rather than a safetensors checkpoint. A safetensors file
    /// opens with an 8-byte header length and then `{`; an ONNX file (a protobuf ModelProto) has no
    /// magic number but, when written by an exporter, opens with its `ir_version` field (byte
    /// 0x08). So: `{` at byte 8 is safetensors; a `.onnx` name or a leading 0x08 is ONNX; anything
    /// else goes to the checkpoint reader, whose errors name safetensors. Unreadable files are
    /// left to the loaders, which report them.
    public static func isONNX(path: String) -> Bool {
        guard let handle = FileHandle(forReadingAtPath: path) else { return path.lowercased().hasSuffix(".onnx") }
        defer { try? handle.close() }
        let head = [UInt8]((try? handle.read(upToCount: 9)) ?? Data())
        if head.count == 9 && head[8] == UInt8(ascii: "{") { return false }
        return path.lowercased().hasSuffix(".onnx") || head.first == 0x08
    }

    /// A classifier checkpoint (`kind` = classifier) as a ready-to-use model, built by the
    /// `ClassifierArchitectures` entry its `architecture` metadata names (none: the challenge CNN).
    /// Throws `CheckpointError` naming the file for another kind, an unknown architecture, or
    /// tensors that do not fit the model.
    public static func labClassifier(path: String) throws -> any ImageClassifier {
        let metadata = try metadataChecked(path: path, kind: ClassifierTrainer.checkpointKind, expected: "a classifier")
        let architecture = metadata[Checkpoint.MetadataKey.architecture] ?? MNISTChallengeCNN.architecture
        guard let entry = ClassifierArchitectures.entry(for: architecture) else {
            throw CheckpointError(
                path: path,
                message: "has architecture \(architecture), expected one of "
                    + ClassifierArchitectures.all.map(\.architecture).joined(separator: ", "))
        }
        var rng = SeededGenerator(seed: 0)
        let model = entry.make(imageShape(metadata), &rng)
        try Checkpoint.load(path: path, into: model.namedState(), expectedKind: ClassifierTrainer.checkpointKind)
        return model
    }
}

extension ModelLoading {
    /// The generator and discriminator of an AC-GAN checkpoint (`kind` = acgan), built by the
    /// `GeneratorArchitectures` entry its `architecture` metadata names (a checkpoint without one
    /// is the DCGAN); the latent size comes from the metadata. Throws `CheckpointError` naming the
    /// file otherwise.
    public static func acgan(path: String) throws -> (generator: any ConditionalGenerator, discriminator: any ConditionalDiscriminator) {
        let metadata = try metadataChecked(path: path, kind: ACGANTrainer.checkpointKind, expected: "an acgan (generator) checkpoint")
        guard let latentText = metadata["latent_size"], let latentSize = Int(latentText), (1...4096).contains(latentSize) else {
            throw CheckpointError(path: path, message: "metadata latent_size is missing or not in 1…4096")
        }
        let architecture = metadata[Checkpoint.MetadataKey.architecture] ?? "dcgan"
        guard let make = GeneratorArchitectures.constructor(for: architecture) else {
            throw CheckpointError(
                path: path,
                message: "has architecture \(architecture), expected one of "
                    + GeneratorArchitectures.all.map(\.architecture).joined(separator: ", "))
        }
        var rng = SeededGenerator(seed: 0)
        let gan = make(.init(latentSize: latentSize, imageShape: imageShape(metadata)), &rng)
        try Checkpoint.load(
            path: path, into: gan.generator.namedState(prefix: "generator") + gan.discriminator.namedState(prefix: "discriminator"),
            expectedKind: ACGANTrainer.checkpointKind)
        return (gan.generator, gan.discriminator)
    }
}

extension ModelLoading {
    /// The data set a lab checkpoint was trained on (its `dataset` metadata), or nil when the
    /// checkpoint names none, names one the catalogue does not know, or is not a lab checkpoint.
    public static func dataset(ofCheckpoint path: String) -> DatasetEntry? {
        guard !isONNX(path: path), let name = try? Checkpoint.readMetadata(path: path)["dataset"] else { return nil }
        return DatasetCatalog.named(name)
    }

    /// A triplet-embedding checkpoint (`kind` = triplet); the dimension comes from its metadata.
    public static func triplet(path: String) throws -> TripletEmbedding {
        let metadata = try metadataChecked(path: path, kind: TripletTrainer.checkpointKind, expected: "a triplet embedding")
        guard let text = metadata["dimension"], let dimension = Int(text), (1...4096).contains(dimension) else {
            throw CheckpointError(path: path, message: "metadata dimension is missing or not in 1…4096")
        }
        var rng = SeededGenerator(seed: 0)
        let embedding = TripletEmbedding(dimension: dimension, using: &rng)
        try Checkpoint.load(path: path, into: embedding, expectedKind: TripletTrainer.checkpointKind)
        return embedding
    }
}

extension ModelLoading {
    /// The image shape of the data set a checkpoint's `dataset` metadata names (`DatasetCatalog`);
    /// MNIST's for a checkpoint that names none, as those written before the field was recorded.
    static func imageShape(_ metadata: [String: String]) -> ImageShape {
        metadata["dataset"].flatMap(DatasetCatalog.named)?.shape ?? DatasetCatalog.mnist.shape
    }

    /// The checkpoint's metadata, after checking that its kind (when it states one) is `kind`;
    /// read before building the model, whose shape may come from the metadata.
    static func metadataChecked(path: String, kind expectedKind: String, expected: String) throws -> [String: String] {
        let metadata = try Checkpoint.readMetadata(path: path)
        if let kind = metadata[Checkpoint.MetadataKey.kind], kind != expectedKind {
            throw CheckpointError(path: path, message: "is a \(kind) checkpoint, expected \(expected)")
        }
        return metadata
    }
}
