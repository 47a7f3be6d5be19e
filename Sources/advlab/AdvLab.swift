import ArgumentParser

/// `advlab`: what really counts as an adversarial example on MNIST.
@main
struct AdvLab: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "advlab",
        abstract: "A lab for studying what really counts as an adversarial example on MNIST.",
        subcommands: [DataCommand.self, TrainCommand.self, EvalCommand.self, BenchCommand.self])
}
