/// Errors of a training run, each one line for the command to print.
public enum TrainingError: Error, CustomStringConvertible {
    /// The loss (or a gradient) stopped being finite: the run stops, the last good checkpoint stays.
    case nonFinite(step: Int, epoch: Int, name: String, value: Float, checkpoint: String)
    /// `--resume` found nothing to resume from.
    case nothingToResume(path: String)
    /// A resumed checkpoint was made with other settings than the ones asked for now.
    case resumeMismatch(path: String, field: String, stored: String, requested: String)
    /// Triplet batches need every class, but the `count` training examples (after `--limit`)
    /// hold none of class `classIndex`.
    case classWithoutExamples(classIndex: Int, count: Int)

    public var description: String {
        switch self {
        case .nonFinite(let step, let epoch, let name, let value, let checkpoint):
            return
                "training stopped at step \(step) (epoch \(epoch + 1)): \(name) is \(value); the last good checkpoint \(checkpoint) is kept"
        case .nothingToResume(let path):
            return "--resume: no checkpoint at \(path) to resume from"
        case .resumeMismatch(let path, let field, let stored, let requested):
            return "--resume: \(path) was trained with \(field) \(stored), not \(requested); use the same settings or a new --out"
        case .classWithoutExamples(let classIndex, let count):
            return "--limit: the first \(count) training examples hold no image of class \(classIndex); triplet batches need every class"
        }
    }
}

/// `--limit` as the user gave it, for resume-mismatch messages ("none" when absent).
func limitText(_ limit: Int?) -> String { limit.map(String.init) ?? "none" }
