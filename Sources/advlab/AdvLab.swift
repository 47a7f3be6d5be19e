import AdvTensor
import ArgumentParser
import Foundation

/// `advlab`: what really counts as an adversarial example on MNIST.
@main
struct AdvLab: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "advlab",
        abstract: "A lab for studying what really counts as an adversarial example on MNIST.",
        subcommands: [
            DataCommand.self, TrainCommand.self, EvalCommand.self, SampleCommand.self, AttackCommand.self, CraftCommand.self,
            UnrestrictedCommand.self, DistancesCommand.self, ConditionsCommand.self, EpsilonCommand.self, ReportCommand.self,
            JudgeCommand.self, MaskingCommand.self, BenchCommand.self,
        ])

    /// Runs the command; any error becomes ONE line on standard error (no usage block, no stack
    /// trace) and a non-zero exit. `--help` and `--version` print as usual. Flags are checked
    /// before files (see `FileChecks`): parsing runs `validate()` without the file-system checks,
    /// then the chosen command's `validate()` runs again with them.
    static func main() {
        useCooperativeOpenMPThreads()
        Allocator.keepFreedMemoryForReuse()
        do {
            FileChecks.enabled = false
            var command = try parseAsRoot()
            FileChecks.enabled = true
            try command.validate()
            try command.run()
        } catch {
            let code = exitCode(for: error)
            if code == .success {
                print(fullMessage(for: error))
                Foundation.exit(0)
            }
            let message = self.message(for: error).split(separator: "\n").joined(separator: " ")
            if !message.isEmpty { FileHandle.standardError.write(Data(("advlab: error: " + message + "\n").utf8)) }
            Foundation.exit(code.rawValue == 0 ? 1 : code.rawValue)
        }
    }
}

/// oneDNN runs on OpenMP, whose idle workers spin by default; on 2 cores they fight the lab's
/// own Dispatch threads and other jobs (measured: an AC-GAN step 853 ms spinning, 180 ms
/// passive). Even a short spin (`GOMP_SPINCOUNT`), with the lab's loops moved onto the OpenMP
/// pool, only helped while the process had the cores to itself: beside another job of equal
/// share, a spinning worker burnt the process's share waiting on a descheduled one (AC-GAN step
/// 220 ms passive, 380 ms with a 20,000 spin, 780 ms with 200,000). libgomp reads
/// `OMP_WAIT_POLICY` only when it loads, so when it is unset the process sets it and re-executes
/// itself once; an explicit setting is respected.
func useCooperativeOpenMPThreads() {
    guard getenv("OMP_WAIT_POLICY") == nil else { return }
    setenv("OMP_WAIT_POLICY", "passive", 1)
    var arguments = CommandLine.arguments.map { strdup($0) }
    arguments.append(nil)
    execv("/proc/self/exe", &arguments)
    // execv returns only on failure: carry on with the spinning default.
}
