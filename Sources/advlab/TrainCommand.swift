import ArgumentParser

/// `advlab train …`: the training commands.
struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train", abstract: "Train a model.",
        subcommands: [TrainClassifierCommand.self, TrainACGANCommand.self, TrainTripletCommand.self])
}
