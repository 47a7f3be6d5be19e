import AdvReport
import XCTest

/// `Machine.describe` names the processor, counts the processors and picks the widest vector
/// instructions from the flags of the first one.
final class MachineTests: XCTestCase {
    func cpuinfo(model: String, flags: String, processors: Int) -> String {
        (0..<processors).map { index in
            "processor\t: \(index)\nvendor_id\t: AuthenticAMD\nmodel name\t: \(model)\nflags\t\t: \(flags)\n"
        }.joined(separator: "\n")
    }

    func testTheWidestVectorInstructionsAreNamed() {
        XCTAssertEqual(
            Machine.describe(cpuinfo: cpuinfo(model: "AMD EPYC", flags: "fpu sse2 avx avx2 fma avx512f avx512bw", processors: 2)),
            "AMD EPYC (2 processors, AVX-512)")
        XCTAssertEqual(
            Machine.describe(cpuinfo: cpuinfo(model: "AMD EPYC", flags: "fpu sse2 avx avx2 fma", processors: 2)),
            "AMD EPYC (2 processors, AVX2)")
        // "avx512_bf16" alone is not AVX-512 Foundation.
        XCTAssertEqual(
            Machine.describe(cpuinfo: cpuinfo(model: "Old", flags: "fpu sse2 avx avx512_bf16x", processors: 1)),
            "Old (1 processor, no AVX2)")
    }

    func testNoProcessorIsUnknown() {
        XCTAssertEqual(Machine.describe(cpuinfo: ""), "unknown CPU")
        XCTAssertEqual(Machine.describe(cpuinfo: "MemTotal: 1 kB\n"), "unknown CPU")
    }

    func testThisMachineIsDescribed() throws {
        let text = try String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)
        let model = try XCTUnwrap(
            text.split(separator: "\n").first { $0.hasPrefix("model name") }?.split(separator: ":", maxSplits: 1).last)
        XCTAssertTrue(Machine.cpu.hasPrefix(model.trimmingCharacters(in: .whitespaces) + " ("), Machine.cpu)
        XCTAssertTrue(Machine.cpu.contains("\(ProcessInfo.processInfo.processorCount) processor"), Machine.cpu)
    }
}
