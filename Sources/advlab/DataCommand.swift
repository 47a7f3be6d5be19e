import AdvData
import ArgumentParser

/// `advlab data verify`: locate the data, check every file's SHA-256, count images per class.
struct DataCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "data", abstract: "Locate, verify and describe a dataset.", subcommands: [Verify.self])

    struct Verify: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Check the MNIST files' SHA-256 and count images per class.")
        @OptionGroup var dataOptions: DataOptions
        @OptionGroup var jsonOption: JSONOption

        func run() throws {
            let report = try dataOptions.dataset.verify(directory: try dataOptions.directory())
            print(jsonOption.json ? try jsonText(report) : report.description)
            if !report.allOK { throw ExitCode(2) }
        }
    }
}
