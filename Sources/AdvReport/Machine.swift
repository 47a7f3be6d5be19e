import Foundation

/// The processor a measurement ran on, as `/proc/cpuinfo` names it: the model, the number of
/// processors and the widest vector instructions oneDNN can use ("AMD EPYC (2 processors,
/// AVX-512)"). Kept beside figures that depend on the machine, so that a figure pooled from
/// runs on several machines says which ran where.
public enum Machine {
    public static let cpu: String = describe(cpuinfo: (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? "")

    /// The description of a `/proc/cpuinfo` text; "unknown CPU" when it names no processor.
    public static func describe(cpuinfo: String) -> String {
        var model: String?
        var processors = 0
        var flags: Set<Substring> = []
        for line in cpuinfo.split(separator: "\n") {
            let parts = line.split(separator: ":", maxSplits: 1)
            guard parts.count == 2 else { continue }
            let key = parts[0].trimmingCharacters(in: .whitespaces)
            let value = parts[1].trimmingCharacters(in: .whitespaces)
            switch key {
            case "processor": processors += 1
            case "model name" where model == nil: model = value
            case "flags" where flags.isEmpty: flags = Set(value.split(separator: " "))
            default: break
            }
        }
        guard processors > 0 else { return "unknown CPU" }
        let vector = flags.contains("avx512f") ? "AVX-512" : flags.contains("avx2") ? "AVX2" : "no AVX2"
        return "\(model ?? "unnamed CPU") (\(processors) processor\(processors == 1 ? "" : "s"), \(vector))"
    }
}
