import AdvNN
import AdvTensor
import Foundation

/// The full state of a training run in one safetensors file: model parameters and buffers
/// under their own names, optimizer state under `optimizer.`, and as integer tensors the RNG
/// state (`rng_state`, 4 × U64) and the number of finished epochs (`epoch`). Enough to resume
/// a run so that it continues exactly as an uninterrupted one would.
public enum TrainingCheckpoint {
    public struct Loaded {
        public var metadata: [String: String]
        public var rng: SeededGenerator
        public var epoch: Int
        public var file: SafetensorsFile
    }

    /// Saves atomically; `metadata` gets `kind` added.
    public static func save(
        path: String, kind: String, models: [(String, any ParameterContainer)],
        optimizers: [(String, any Optimizer)], rng: SeededGenerator, epoch: Int,
        metadata: [String: String]
    ) throws {
        var state: [(String, Parameter)] = []
        for (prefix, model) in models { state += model.namedState(prefix: prefix) }
        var extra: [(String, Tensor)] = []
        for (prefix, optimizer) in optimizers { extra += optimizer.namedState.map { (prefix + "." + $0.0, $0.1) } }
        var fullMetadata = metadata
        fullMetadata[Checkpoint.MetadataKey.kind] = kind
        fullMetadata[Checkpoint.MetadataKey.epoch] = String(epoch)
        try Checkpoint.save(
            state, extraTensors: extra,
            integerTensors: [
                ("rng_state", IntegerTensor(unsigned: rng.stateWords)),
                ("epoch", IntegerTensor(signed: [Int64(epoch)])),
            ],
            metadata: fullMetadata, to: path)
    }

    /// One model and one optimizer (`optimizer.` prefix), the classifier's case.
    public static func save(
        path: String, kind: String, model: some ParameterContainer, optimizer: any Optimizer,
        rng: SeededGenerator, epoch: Int, metadata: [String: String]
    ) throws {
        try save(
            path: path, kind: kind, models: [("", model)], optimizers: [("optimizer", optimizer)],
            rng: rng, epoch: epoch, metadata: metadata)
    }

    /// Loads models, optimizers, RNG and epoch; throws `CheckpointError` naming the file for a
    /// wrong kind, a missing or misshapen tensor, or a missing RNG state.
    public static func load(
        path: String, kind: String, models: [(String, any ParameterContainer)],
        optimizers: [(String, any Optimizer)]
    ) throws -> Loaded {
        var state: [(String, Parameter)] = []
        for (prefix, model) in models { state += model.namedState(prefix: prefix) }
        let file = try Checkpoint.load(path: path, into: state, expectedKind: kind)
        for (prefix, optimizer) in optimizers {
            let marker = prefix + "."
            var tensors: [String: Tensor] = [:]
            for (name, tensor) in file.tensors where name.hasPrefix(marker) { tensors[String(name.dropFirst(marker.count))] = tensor }
            do { try optimizer.loadState(tensors) } catch let error as OptimizerStateError {
                throw CheckpointError(path: path, message: error.description)
            }
        }
        let words = try file.integerTensor("rng_state", expectedCount: 4).words
        guard let rng = SeededGenerator(stateWords: words) else { throw CheckpointError(path: path, message: "rng_state is all zero") }
        let epoch = try file.integerTensor("epoch", expectedCount: 1).signedValues[0]
        guard epoch >= 0 else { throw CheckpointError(path: path, message: "epoch is negative (\(epoch))") }
        return Loaded(metadata: file.metadata, rng: rng, epoch: Int(epoch), file: file)
    }

    public static func load(path: String, kind: String, model: some ParameterContainer, optimizer: any Optimizer) throws -> Loaded {
        try load(path: path, kind: kind, models: [("", model)], optimizers: [("optimizer", optimizer)])
    }
}

extension TrainingCheckpoint {
    /// The CSV log written beside a checkpoint: `x.safetensors` → `x.csv`.
    public static func logPath(for checkpointPath: String) -> String {
        checkpointPath.hasSuffix(".safetensors") ? String(checkpointPath.dropLast(".safetensors".count)) + ".csv" : checkpointPath + ".csv"
    }

    /// A run's settings as key-sorted JSON, the `hyperparameters` entry of its metadata.
    public static func hyperparametersJSON(_ config: some Encodable) -> String? {
        (try? JSONEncoder.sorted.encode(config)).flatMap { String(data: $0, encoding: .utf8) }
    }

    /// A resumed run must continue the stored one: every setting but the total of epochs
    /// (`--epochs` may grow on resume) equals the stored `hyperparameters`, or this throws
    /// `TrainingError.resumeMismatch` naming the first of `flags` whose value differs (each flag
    /// with its setting as text), or the whole settings when none of them does. Metadata without
    /// readable settings is not checked.
    static func checkSameSettings<Config: Codable & Equatable>(
        _ metadata: [String: String], requested config: Config,
        epochs: WritableKeyPath<Config, Int>,
        flags: [(flag: String, value: (Config) -> String)],
        checkpointPath: String
    ) throws {
        guard let text = metadata["hyperparameters"], let data = text.data(using: .utf8),
            let stored = try? JSONDecoder().decode(Config.self, from: data)
        else { return }
        var comparable = stored
        comparable[keyPath: epochs] = config[keyPath: epochs]
        guard comparable != config else { return }
        let field =
            flags.first { $0.value(stored) != $0.value(config) }
            .map { ($0.flag, $0.value(stored), $0.value(config)) } ?? ("settings", text, "the requested ones")
        throw TrainingError.resumeMismatch(path: checkpointPath, field: field.0, stored: field.1, requested: field.2)
    }
}
