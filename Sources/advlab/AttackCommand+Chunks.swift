import AdvAttacks
import AdvData
import AdvModels
import AdvReport
import AdvTensor
import AdvTraining
import Foundation

/// `advlab attack --chunk N`: the first --count test images in chunks of N, each kept in
/// `OUT/chunks/FIRST-END/` (its results, stages and adversarial images) as soon as it finishes.
/// Run again with the same arguments, the command reads the finished chunks instead of attacking
/// them again, so an evaluation longer than one sitting (AutoAttack on 10,000 images) can stop
/// and go on. The chunk starting at test image k draws from `SeededGenerator(seed: seed + k)`:
/// the first chunk is exactly the unchunked run on its images, and a chunk's result does not
/// depend on whether the run stopped before it. The pooled outputs are those of a plain run
/// (`results.csv`, `adversarial.npy`, `summary.json` with the stages pooled, `figure.png`).
/// Each chunk records the processor it ran on, and `summary.json` lists them (`chunk_machines`),
/// so a figure pooled from chunks run on several machines (a folder carried between them) says
/// which ran where; the results of a chunk can differ in the last bits between processors.
extension AttackCommand {
    /// What a chunk was made by; a chunk folder is reused only when all of it matches.
    struct ChunkIdentity: Codable, Equatable {
        var method: String
        var norm: String
        var eps: Float
        var seed: UInt64
        var first: Int
        var end: Int
        var options: [String]
        /// SHA-256 of the attacked checkpoint (and of the embedding, for embedding-pgd).
        var checkpoints: [String]
        var dataset: String
    }

    /// One finished chunk as kept on disk (`chunk.json`; the images in `adversarial.npy`).
    struct SavedChunk: Codable {
        var identity: ChunkIdentity
        var results: [ExampleResult]
        var stages: [AttackStage]?
        var settings: [String: Double]
        var gradient_evaluations: Int
        /// The processor the chunk ran on (`Machine.cpu`); nil in chunks kept by earlier builds.
        var machine: String?
    }

    struct ChunkError: Error, CustomStringConvertible {
        var description: String
    }

    func runChunked(chunkSize: Int) throws {
        let classifier = try ModelLoading.classifier(path: model)
        let tripletEmbedding = try embedding.map { try ModelLoading.triplet(path: $0) }
        let test = try dataOptions.load(.test)
        guard count <= test.count else {
            throw ChunkError(description: "--count \(count) exceeds the \(test.count) test images of \(dataOptions.dataset.name)")
        }
        try createFolder(out + "/chunks")
        let images = test.images.slice(0..<count)
        let labels = Array(test.labels[0..<count])
        let checkpoints = try ([model] + (embedding.map { [$0] } ?? [])).map { try SHA256.hexDigest(FileBytes.read($0)) }
        var parts: [AttackOutcome] = []
        var stageParts: [[AttackStage]] = []
        var settings: [String: Double] = [:]
        var machines: [String] = []
        for range in batchRanges(count: count, size: chunkSize) {
            let folder = out + "/chunks/" + String(format: "%05d-%05d", range.lowerBound, range.upperBound)
            let identity = ChunkIdentity(
                method: method.rawValue, norm: norm.rawValue, eps: eps, seed: seedOption.seed, first: range.lowerBound,
                end: range.upperBound, options: chunkOptions, checkpoints: checkpoints, dataset: dataOptions.dataset.name)
            let chunk: SavedChunk
            let adversarial: Tensor
            if let saved = try loadChunk(folder, identity: identity) {
                (chunk, adversarial) = saved
                note("chunk \(range.lowerBound)…\(range.upperBound - 1): finished before, read from \(folder)")
            } else {
                var rng = SeededGenerator(seed: seedOption.seed &+ UInt64(range.lowerBound))
                let (outcome, chunkSettings, stages) = attack(
                    classifier, embedding: tripletEmbedding, images: images.slice(range), labels: Array(labels[range]), eps: eps,
                    using: &rng, indexOffset: range.lowerBound)
                chunk = SavedChunk(
                    identity: identity, results: outcome.results, stages: stages, settings: chunkSettings,
                    gradient_evaluations: outcome.gradientEvaluations, machine: Machine.cpu)
                adversarial = outcome.adversarialImages
                try createFolder(folder)
                // The images first: a chunk counts as finished once chunk.json exists.
                try NPY.write(adversarial, to: folder + "/adversarial.npy")
                try AtomicFile.write(try jsonText(chunk), to: folder + "/chunk.json")
                let robust = chunk.results.filter(\.isRobust).count
                note("chunk \(range.lowerBound)…\(range.upperBound - 1): \(robust) of \(range.count) robust, kept in \(folder)")
            }
            parts.append(
                AttackOutcome(adversarialImages: adversarial, results: chunk.results, gradientEvaluations: chunk.gradient_evaluations))
            if let stages = chunk.stages { stageParts.append(stages) }
            settings = chunk.settings
            machines.append(chunk.machine ?? "not recorded")
        }
        let outcome = AttackOutcome.concatenate(parts)
        var summary = AttackSummary(
            method: method.rawValue, norm: method.measuredNorm(requested: norm),
            eps: summaryEps(eps),
            outcome: outcome, seed: seedOption.seed, settings: settings.merging(["chunk": Double(chunkSize)]) { $1 })
        summary.stages = stageParts.isEmpty ? nil : AttackStage.pooled(stageParts, total: count)
        summary.chunk_machines = machines
        try writeOutputs(folder: out, images: images, outcome: outcome, summary: summary)
        note(
            String(
                format: "%@ %@ ε %.3f: clean %.4f, robust %.4f on %d images in %d chunks", method.rawValue, norm.rawValue, eps,
                summary.clean_accuracy, summary.robust_accuracy, summary.count, parts.count))
        try finish([summary])
    }

    /// The options besides the threat model that change what an attack does, as typed.
    var chunkOptions: [String] {
        [
            "version=\(version.rawValue)", "steps=\(steps.map(String.init) ?? "default")",
            "step-size=\(stepSize.map { String($0) } ?? "default")", "restarts=\(restarts)",
            "queries=\(queries.map(String.init) ?? "default")", "candidate-classes=\(candidateClasses)",
            "targeted=\(targeted.map(String.init) ?? "none")", "eps-embedding=\(epsEmbedding)", "batch=\(batchSize)",
        ]
    }

    /// A finished chunk in `folder` made by `identity`, nil when the folder holds none; a chunk
    /// made by other arguments or one that does not read back is an error naming the file.
    func loadChunk(_ folder: String, identity: ChunkIdentity) throws -> (SavedChunk, Tensor)? {
        let path = folder + "/chunk.json"
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        let chunk: SavedChunk
        do { chunk = try JSONDecoder().decode(SavedChunk.self, from: Data(FileBytes.read(path))) } catch {
            throw ChunkError(description: "\(path): not a chunk this command can read (\(error)); remove the folder to run the chunk again")
        }
        guard chunk.identity == identity else {
            throw ChunkError(
                description: "\(path): made by another command (its method, ε, seed, options, checkpoint or data set differ); "
                    + "use another --out, or remove \(out)/chunks to start over")
        }
        let images: Tensor
        do { images = try NPY.read(folder + "/adversarial.npy") } catch {
            throw ChunkError(description: "\(folder)/adversarial.npy: \(error); remove the folder to run the chunk again")
        }
        guard images.batchCount == identity.end - identity.first, chunk.results.count == images.batchCount else {
            throw ChunkError(
                description: "\(folder): \(chunk.results.count) results and \(images.batchCount) images for a chunk of "
                    + "\(identity.end - identity.first); remove the folder to run the chunk again")
        }
        return (chunk, images)
    }
}
