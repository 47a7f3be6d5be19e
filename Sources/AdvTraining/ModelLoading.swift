import AdvModels
import AdvNN
import AdvTensor

/// Loads committed checkpoints into models, checking their kind and architecture.
public enum ModelLoading {
    /// A classifier checkpoint (`kind` = classifier) as a ready-to-use model.
    /// Throws `CheckpointError` naming the file for another kind, another architecture, or
    /// tensors that do not fit the model.
    public static func classifier(path: String) throws -> MNISTChallengeCNN {
        let metadata = try Checkpoint.readMetadata(path: path)
        if let kind = metadata[Checkpoint.MetadataKey.kind], kind != ClassifierTrainer.checkpointKind {
            throw CheckpointError(path: path, message: "is a \(kind) checkpoint, expected a classifier")
        }
        if let architecture = metadata[Checkpoint.MetadataKey.architecture], architecture != MNISTChallengeCNN.architecture {
            throw CheckpointError(path: path, message: "has architecture \(architecture), expected \(MNISTChallengeCNN.architecture)")
        }
        var rng = SeededGenerator(seed: 0)
        let model = MNISTChallengeCNN(using: &rng)
        try Checkpoint.load(path: path, into: model, expectedKind: ClassifierTrainer.checkpointKind)
        return model
    }
}
