import Foundation
import XCTest

/// Bad input to the attack-side commands (attack, craft, unrestricted, distances, conditions):
/// one line naming the flag or file, a non-zero exit, nothing written.
final class AttackFlagTests: CLITestCase {
    var out: String { work.appendingPathComponent("attack-out").path }

    func attack(_ extra: [String]) -> [String] { ["attack", "--model", "m.safetensors", "--out", out] + extra }

    func testAttackRangesAreNamed() throws {
        try assertOneLineError(attack(["--eps", "1.5"]), mentions: ["--eps", "1.5"])  // L∞ ε > 1
        try assertOneLineError(attack(["--eps-grid", "0.1,-0.2"]), mentions: ["--eps", "-0.2"])  // ε < 0
        try assertOneLineError(attack(["--steps", "0"]), mentions: ["--steps", "0"])
        try assertOneLineError(attack(["--step-size", "0"]), mentions: ["--step-size", "0"])
        try assertOneLineError(attack(["--method", "deepfool"]), mentions: ["--method", "deepfool"])
        try assertOneLineError(attack(["--norm", "l1"]), mentions: ["--norm", "l1"])
        try assertOneLineError(attack(["--targeted", "10"]), mentions: ["--targeted", "10"])
        try assertOneLineError(attack(["--restarts", "0"]), mentions: ["--restarts", "0"])
        try assertOneLineError(attack(["--method", "embedding-pgd"]), mentions: ["--embedding"])
    }

    /// AutoAttack's flags: --version only with --method autoattack and only standard or fast;
    /// --method's help names every method.
    func testAutoAttackFlags() throws {
        try assertOneLineError(attack(["--method", "autoattack", "--version", "plus"]), mentions: ["--version", "plus"])
        try assertOneLineError(attack(["--method", "pgd", "--version", "fast"]), mentions: ["--version", "autoattack"])
        try assertOneLineError(attack(["--method", "square", "--queries", "0"]), mentions: ["--queries", "0"])
        try assertOneLineError(attack(["--method", "apgd-t", "--targeted", "3"]), mentions: ["--targeted", "apgd-t"])
        let help = try run(["attack", "--help"]).standardOutput.replacingOccurrences(of: "\n", with: " ")
            .split(separator: " ").joined(separator: " ")
        for method in ["fgsm", "igs", "pgd", "cw", "embedding-pgd", "invariance", "apgd-ce", "apgd-t", "fab-t", "square", "autoattack"] {
            XCTAssertTrue(help.contains(method), "attack --help does not name \(method)")
        }
    }

    func testAttackRejectsAModelThatIsNotAClassifier() throws {
        let path = root.appendingPathComponent("gan.safetensors").path
        try Data(
            SafetensorsFixture.encode(
                [.init(name: "generator.project.bias", shape: [4])],
                metadata: ["kind": "acgan", "latent_size": "100"])
        ).write(to: URL(fileURLWithPath: path))
        try assertOneLineError(
            ["attack", "--model", path, "--out", out], mentions: [path, "acgan", "classifier"],
            environment: ["ADVLAB_DATA": root.path])
    }

    func testCraftFlags() throws {
        let craft = ["craft", "combination", "--out", out]
        try assertOneLineError(craft + ["--source-class", "3", "--with-class", "3"], mentions: ["--with-class"])
        try assertOneLineError(craft + ["--source-class", "12", "--with-class", "3"], mentions: ["--source-class", "12"])
        try assertOneLineError(craft + ["--source-class", "1", "--with-class", "3", "--eps", "2"], mentions: ["--eps"])
    }

    func testUnrestrictedFlags() throws {
        let base = ["unrestricted", "--out", out]
        try assertOneLineError(base + ["--source", "3", "--target", "3"], mentions: ["--target", "--source"])
        try assertOneLineError(base + ["--source", "11", "--untargeted"], mentions: ["--source", "11"])
        try assertOneLineError(base + ["--all-pairs", "--source", "1", "--target", "2"], mentions: ["--all-pairs"])
        try assertOneLineError(base + ["--all-pairs", "--lambda1", "-3"], mentions: ["--lambda1"])
        try assertOneLineError(base + ["--all-pairs", "--eps-z", "-0.1"], mentions: ["--eps-z"])
        try assertOneLineError(base + ["--all-pairs", "--attempts", "0"], mentions: ["--attempts", "0"])
        try assertOneLineError(base + ["--all-pairs", "--start-candidates", "0"], mentions: ["--start-candidates", "0"])
        try assertOneLineError(base + ["--all-pairs", "--optimizer", "sgd"], mentions: ["--optimizer", "sgd"])
        try assertOneLineError(base + ["--all-pairs", "--langevin-noise", "-1"], mentions: ["--langevin-noise"])
        // The default generator and model do not exist here: give existing files so that the
        // missing embedding is the first file checked.
        let present = root.appendingPathComponent("present.safetensors").path
        try Data([1]).write(to: URL(fileURLWithPath: present))
        try assertOneLineError(
            base + ["--all-pairs", "--generator", present, "--model", present, "--embedding", "missing.safetensors"],
            mentions: ["--embedding", "missing.safetensors"])
    }

    func testUnrestrictedRejectsAClassifierAsGenerator() throws {
        let path = root.appendingPathComponent("classifier.safetensors").path
        try Data(
            SafetensorsFixture.encode(
                [.init(name: "fc2.bias", shape: [10])],
                metadata: ["kind": "classifier", "architecture": "mnist-challenge-cnn"])
        )
        .write(to: URL(fileURLWithPath: path))
        try assertOneLineError(
            [
                "unrestricted", "--generator", path, "--model", path, "--embedding", path, "--natural", path,
                "--all-pairs", "--out", out,
            ],
            mentions: [path, "classifier", "acgan"], environment: ["ADVLAB_DATA": root.path])
    }

    func testDistanceAndConditionFlags() throws {
        try assertOneLineError(["distances", "--norms", "l3", "--out", out], mentions: ["--norms", "l3"])
        try assertOneLineError(["distances", "--nearest", "--norms", "l1", "--out", out], mentions: ["--nearest", "l1"])
        try assertOneLineError(["distances", "--split", "val", "--out", out], mentions: ["--split", "val"])
        try assertOneLineError(
            ["distances", "--embedding", "missing.safetensors", "--out", out], mentions: ["--embedding", "missing.safetensors"])
        try assertOneLineError(
            ["distances", "--nearest", "--norms", "l2", "--embedding", "e.safetensors", "--out", out],
            mentions: ["--embedding", "--nearest"])
        let classifier = root.appendingPathComponent("classifier.safetensors").path
        try Data(
            SafetensorsFixture.encode(
                [.init(name: "conv1.weight", shape: [4])],
                metadata: ["kind": "classifier", "architecture": "mnist-challenge-cnn"])
        )
        .write(to: URL(fileURLWithPath: classifier))
        try assertOneLineError(
            ["distances", "--embedding", classifier, "--out", out], mentions: [classifier, "classifier", "triplet"],
            environment: ["ADVLAB_DATA": root.path])
        try assertOneLineError(["conditions", "--norm", "l1"], mentions: ["--norm", "l1"])
        try assertOneLineError(["conditions", "--norm", "linf", "--eps", "1.5"], mentions: ["--eps", "1.5"])
    }

    func testInvarianceFlags() throws {
        let invariance = attack(["--method", "invariance"])
        try assertOneLineError(invariance, mentions: ["--embedding", "invariance"])
        try assertOneLineError(invariance + ["--embedding", "e.safetensors", "--norm", "l2"], mentions: ["--norm", "linf", "invariance"])
        try assertOneLineError(invariance + ["--embedding", "e.safetensors", "--shifts", "5"], mentions: ["--shifts", "5"])
        try assertOneLineError(invariance + ["--embedding", "e.safetensors", "--targeted", "3"], mentions: ["--targeted", "invariance"])
        try assertOneLineError(invariance + ["--embedding", "e.safetensors", "--eps-grid", "0.3,1.4"], mentions: ["--eps", "1.4"])
        try assertOneLineError(attack(["--shifts", "1"]), mentions: ["--shifts", "invariance"])
        try assertOneLineError(attack(["--reference-model", "r.safetensors"]), mentions: ["--reference-model", "invariance"])
        // Files are checked after flags: a missing embedding or reference model is named.
        try Data("x".utf8).write(to: work.appendingPathComponent("m.safetensors"))
        try assertOneLineError(invariance + ["--embedding", "missing.safetensors"], mentions: ["--embedding", "missing.safetensors"])
        try Data("x".utf8).write(to: work.appendingPathComponent("e.safetensors"))
        try assertOneLineError(
            invariance + ["--embedding", "e.safetensors", "--reference-model", "gone.safetensors"],
            mentions: ["--reference-model", "gone.safetensors"])
    }

    func testEpsilonFlags() throws {
        let epsilon = ["epsilon", "--embedding", "e.safetensors", "--out", out]
        try assertOneLineError(epsilon + ["--norm", "l1"], mentions: ["--norm", "l1"])
        try assertOneLineError(epsilon + ["--grid", "0.1,abc"], mentions: ["--grid", "abc"])
        try assertOneLineError(epsilon + ["--grid", "0.1,,0.2"], mentions: ["--grid", "(empty)"])
        try assertOneLineError(epsilon + ["--grid", "0.2,0.1"], mentions: ["--grid", "ascending"])
        try assertOneLineError(epsilon + ["--grid", "0,0.1"], mentions: ["--grid", "> 0"])
        try assertOneLineError(epsilon + ["--grid", "0.5,1.5"], mentions: ["--grid", "1.5"])
        try assertOneLineError(epsilon + ["--norm", "l2", "--grid", "4.5,30"], mentions: ["--grid", "30"])
        try assertOneLineError(epsilon + ["--count", "0"], mentions: ["--count", "0"])
        try assertOneLineError(epsilon + ["--queries-per-class", "0"], mentions: ["--queries-per-class", "0"])
        try assertOneLineError(["epsilon", "--out", out], mentions: ["--embedding"])
        try assertOneLineError(epsilon, mentions: ["--embedding", "e.safetensors"])  // no such file
        // A classifier passed as the embedding is named as such, and nothing is written.
        let path = root.appendingPathComponent("classifier.safetensors").path
        try Data(
            SafetensorsFixture.encode(
                [.init(name: "fc2.bias", shape: [10])],
                metadata: ["kind": "classifier", "architecture": "mnist-challenge-cnn"])
        )
        .write(to: URL(fileURLWithPath: path))
        try assertOneLineError(
            ["epsilon", "--embedding", path, "--out", out], mentions: [path, "classifier", "triplet"],
            environment: ["ADVLAB_DATA": root.path])
    }
}
