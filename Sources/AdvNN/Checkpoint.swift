import AdvTensor

/// Model checkpoints: a model's named parameters and buffers, optionally optimizer state (extra
/// Float32 tensors) and RNG state / counters (integer tensors), in one safetensors file whose
/// `__metadata__` says what kind of model it holds and how it was made.
///
/// Loading checks the kind, then every tensor the model names (presence, dtype, shape) before it
/// changes anything: on any error the model is left exactly as it was.
public enum Checkpoint {
    /// The `__metadata__` keys advlab writes. All values are strings.
    public enum MetadataKey {
        /// What the file holds: "classifier", "acgan", "triplet", …; `load` checks it.
        public static let kind = "kind"
        /// The model's architecture name (e.g. "madry-cnn").
        public static let architecture = "architecture"
        /// Training hyperparameters as a JSON object string.
        public static let hyperparameters = "hyperparameters"
        /// Completed epochs, as a decimal integer.
        public static let epoch = "epoch"
        /// Completed optimizer steps, as a decimal integer.
        public static let step = "step"
        /// The run's `--seed`, as a decimal integer.
        public static let seed = "seed"
        /// SHA-256 (hex) of the training data the run used.
        public static let datasetSHA256 = "dataset_sha256"
        /// "advlab <command line>" of the run that wrote the file.
        public static let createdBy = "created_by"
    }

    /// Writes `state` (a model's `namedState()`), `extraTensors` (e.g. optimizer moments) and
    /// `integerTensors` (e.g. RNG state words) with `metadata` to `path`, atomically.
    ///
    /// `metadata` must contain `MetadataKey.kind`. Throws `CheckpointError` when it does not or when
    /// two tensors share a name, and `FileWriteError` when the file cannot be written; either way
    /// an existing file at `path` is left untouched.
    public static func save(
        _ state: [(String, Parameter)], extraTensors: [(String, Tensor)] = [],
        integerTensors: [(String, IntegerTensor)] = [],
        metadata: [String: String], to path: String
    ) throws {
        guard let kind = metadata[MetadataKey.kind], !kind.isEmpty else {
            throw CheckpointError(path: path, message: "metadata has no \(MetadataKey.kind); a checkpoint must say what it holds")
        }
        try Safetensors.write(
            tensors: state.map { ($0.0, $0.1.value) } + extraTensors,
            integerTensors: integerTensors, metadata: metadata, to: path)
    }

    /// Writes `container`'s parameters and buffers (`namedState()`); see `save(_:extraTensors:…)`.
    public static func save(
        _ container: some ParameterContainer, extraTensors: [(String, Tensor)] = [],
        integerTensors: [(String, IntegerTensor)] = [],
        metadata: [String: String], to path: String
    ) throws {
        try save(
            container.namedState(), extraTensors: extraTensors, integerTensors: integerTensors,
            metadata: metadata, to: path)
    }

    /// Reads the checkpoint at `path` into `state`'s parameters and returns the whole file (for
    /// optimizer and RNG state, and the metadata).
    ///
    /// Throws `CheckpointError`, leaving every parameter unchanged, when the file is unreadable or
    /// malformed (see `Safetensors.decode`), when its kind is not `expectedKind`
    /// ("<file>: is a acgan checkpoint, expected classifier"), when a tensor is missing
    /// ("<file>: missing tensor conv1.weight") or has another shape ("<file>: tensor conv1.weight
    /// has shape [32,1,5,5], the model expects [32,1,3,3]"). Tensors the model does not name are
    /// ignored. Loaded parameters get zero gradients.
    @discardableResult
    public static func load(path: String, into state: [(String, Parameter)], expectedKind: String) throws -> SafetensorsFile {
        let file = try Safetensors.read(path: path)
        try load(file, into: state, expectedKind: expectedKind)
        return file
    }

    /// Puts an already decoded `file` into `state`'s parameters, with the checks of
    /// `load(path:into:expectedKind:)` (kind, then every tensor's presence, dtype and shape,
    /// before anything changes); errors name `file.path`. Split out so that the fuzzer
    /// (`Fuzz/fuzz-safetensors`) reaches these checks without writing a file per input.
    public static func load(_ file: SafetensorsFile, into state: [(String, Parameter)], expectedKind: String) throws {
        let path = file.path
        try checkKind(file.metadata, path: path, expectedKind: expectedKind)
        var values: [Tensor] = []
        values.reserveCapacity(state.count)
        for (name, parameter) in state {
            let value = try file.tensor(name)
            guard value.shape == parameter.value.shape else {
                throw CheckpointError(
                    path: path,
                    message: "tensor \(CheckpointError.sanitized(name)) has shape "
                        + "\(CheckpointError.shapeText(value.shape)), the model expects "
                        + CheckpointError.shapeText(parameter.value.shape))
            }
            values.append(value)
        }
        for ((_, parameter), value) in zip(state, values) {
            parameter.value = value
            parameter.zeroGradient()
        }
    }

    /// Reads the checkpoint at `path` into `container`'s parameters and buffers; see
    /// `load(path:into:expectedKind:)`.
    @discardableResult
    public static func load(path: String, into container: some ParameterContainer, expectedKind: String) throws -> SafetensorsFile {
        try load(path: path, into: container.namedState(), expectedKind: expectedKind)
    }

    /// The `__metadata__` of the checkpoint at `path`, reading only its header (which is fully
    /// validated against the file's size). For `--resume` and for commands that dispatch on kind.
    public static func readMetadata(path: String) throws -> [String: String] {
        try Safetensors.readHeader(path: path).metadata
    }

    /// The kind of the checkpoint at `path`; throws `CheckpointError` when it has none.
    public static func kind(path: String) throws -> String {
        guard let kind = try readMetadata(path: path)[MetadataKey.kind] else {
            throw CheckpointError(path: path, message: "has no \(MetadataKey.kind) in \(Safetensors.metadataKey); not an advlab checkpoint")
        }
        return kind
    }

    private static func checkKind(_ metadata: [String: String], path: String, expectedKind: String) throws {
        let expected = CheckpointError.sanitized(expectedKind)
        guard let kind = metadata[MetadataKey.kind] else {
            throw CheckpointError(
                path: path, message: "has no \(MetadataKey.kind) in \(Safetensors.metadataKey), expected a \(expected) checkpoint")
        }
        guard kind == expectedKind else {
            throw CheckpointError(path: path, message: "is a \(CheckpointError.sanitized(kind)) checkpoint, expected \(expected)")
        }
    }
}
