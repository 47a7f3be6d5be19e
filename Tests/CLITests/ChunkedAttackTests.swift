import AdvReport
import Foundation
import XCTest

/// `advlab attack --chunk N`: a long evaluation in chunks kept on disk, resumed by running the
/// same command again. The pooled result must be the one a run without interruption gives, the
/// first chunk must be the plain run on its images, and a finished chunk must be read, not run again.
final class ChunkedAttackTests: CLITestCase {
    /// AutoAttack (fast, 4 iterations) on the robust checkpoint's first 7 test images in chunks of 3.
    func chunked(_ out: URL, extra: [String] = []) -> [String] {
        [
            "attack", "--model", checkpoint("classifier-robust.safetensors"), "--method", "autoattack", "--version", "fast",
            "--steps", "4", "--count", "7", "--chunk", "3", "--batch", "2", "--seed", "3", "--out", out.path,
        ] + extra + dataFlag
    }

    func summary(_ folder: URL) throws -> [String: Any] {
        let data = try Data(contentsOf: folder.appendingPathComponent("summary.json"))
        return try XCTUnwrap(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    func testChunksPoolResumeAndMatchThePlainRun() throws {
        _ = try mnistDirectory()
        let whole = work.appendingPathComponent("whole")
        let first = try run(chunked(whole))
        XCTAssertEqual(first.status, 0, first.standardError)
        let chunks = try FileManager.default.contentsOfDirectory(atPath: whole.appendingPathComponent("chunks").path).sorted()
        XCTAssertEqual(chunks, ["00000-00003", "00003-00006", "00006-00007"])
        let results = try String(contentsOf: whole.appendingPathComponent("results.csv"), encoding: .utf8)
        let rows = results.split(separator: "\n").dropFirst()
        XCTAssertEqual(rows.map { Int($0.split(separator: ",")[0]) }, (0..<7).map { Optional($0) }, "test-set indices, in order")
        let pooled = try summary(whole)
        XCTAssertEqual(pooled["count"] as? Int, 7)
        let stages = try XCTUnwrap(pooled["stages"] as? [[String: Any]])
        XCTAssertEqual(stages.map { $0["name"] as? String }, ["apgd-ce", "apgd-t"])
        let robustRows = rows.filter { row in
            let f = row.split(separator: ",", omittingEmptySubsequences: false)
            return f[1] == f[3] && f[1] == f[4]
        }.count
        XCTAssertEqual(stages.last?["robust"] as? Int, robustRows, "the last stage's robust count is the pooled results'")
        XCTAssertEqual(pooled["robust_accuracy"] as? Double ?? -1, Double(robustRows) / 7, accuracy: 1e-12)
        // Each chunk names the processor it ran on, and the pooled summary lists them in chunk order.
        let machines = try chunks.map { name -> String in
            let data = try Data(contentsOf: whole.appendingPathComponent("chunks/\(name)/chunk.json"))
            let chunk = try XCTUnwrap(try JSONSerialization.jsonObject(with: data) as? [String: Any])
            return try XCTUnwrap(chunk["machine"] as? String)
        }
        XCTAssertEqual(Set(machines), [Machine.cpu])
        XCTAssertEqual(pooled["chunk_machines"] as? [String], machines)

        // The first chunk is the plain run on its three images with the same seed.
        let plain = work.appendingPathComponent("plain")
        let plainRun = try run(
            [
                "attack", "--model", checkpoint("classifier-robust.safetensors"), "--method", "autoattack", "--version", "fast",
                "--steps", "4", "--count", "3", "--batch", "2", "--seed", "3", "--out", plain.path,
            ] + dataFlag)
        XCTAssertEqual(plainRun.status, 0, plainRun.standardError)
        let plainRows = try String(contentsOf: plain.appendingPathComponent("results.csv"), encoding: .utf8)
            .split(separator: "\n").dropFirst()
        XCTAssertEqual(Array(rows.prefix(3)), Array(plainRows))
        XCTAssertEqual(
            try Data(contentsOf: plain.appendingPathComponent("adversarial.npy")),
            try Data(contentsOf: whole.appendingPathComponent("chunks/00000-00003/adversarial.npy")))

        // Stopped after the first chunk: the rerun reads it and runs the other two to the same end.
        let resumed = work.appendingPathComponent("resumed")
        try FileManager.default.createDirectory(at: resumed.appendingPathComponent("chunks"), withIntermediateDirectories: true)
        try FileManager.default.copyItem(
            at: whole.appendingPathComponent("chunks/00000-00003"), to: resumed.appendingPathComponent("chunks/00000-00003"))
        let again = try run(chunked(resumed))
        XCTAssertEqual(again.status, 0, again.standardError)
        XCTAssertTrue(again.standardError.contains("chunk 0…2: finished before"), again.standardError)
        XCTAssertEqual(try String(contentsOf: resumed.appendingPathComponent("results.csv"), encoding: .utf8), results)
        XCTAssertEqual(
            try Data(contentsOf: resumed.appendingPathComponent("adversarial.npy")),
            try Data(contentsOf: whole.appendingPathComponent("adversarial.npy")))
    }

    /// A finished chunk is read, not attacked again: a result planted in its chunk.json is what
    /// the pooled outputs report.
    func testAFinishedChunkIsReadNotRunAgain() throws {
        _ = try mnistDirectory()
        let out = work.appendingPathComponent("planted")
        XCTAssertEqual(try run(chunked(out)).status, 0)
        let path = out.appendingPathComponent("chunks/00003-00006/chunk.json")
        var chunk = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: path)) as? [String: Any])
        var results = try XCTUnwrap(chunk["results"] as? [[String: Any]])
        // Plant: the chunk's first example was not classified correctly on the clean image.
        let label = try XCTUnwrap(results[0]["label"] as? Int)
        results[0]["cleanPrediction"] = (label + 1) % 10
        chunk["results"] = results
        // A chunk kept by a build that did not record the processor still reads.
        chunk["machine"] = nil
        try JSONSerialization.data(withJSONObject: chunk).write(to: path)
        XCTAssertEqual(try run(chunked(out)).status, 0)
        let row = try String(contentsOf: out.appendingPathComponent("results.csv"), encoding: .utf8)
            .split(separator: "\n")[4].split(separator: ",", omittingEmptySubsequences: false)
        XCTAssertEqual(row[0], "3")
        XCTAssertEqual(Int(row[3]), (label + 1) % 10, "the pooled results come from the kept chunk")
        XCTAssertEqual(try summary(out)["chunk_machines"] as? [String], [Machine.cpu, "not recorded", Machine.cpu])
    }

    /// Chunks made by another command are refused with one line naming the chunk's file, and
    /// nothing is written; so are --chunk's own bad values.
    func testChunksOfAnotherCommandAreRefused() throws {
        let dataDirectory = try mnistDirectory()
        let out = work.appendingPathComponent("other")
        XCTAssertEqual(try run(chunked(out)).status, 0)
        try assertOneLineError(
            chunked(out, extra: ["--eps", "0.2"]), mentions: ["00000-00003/chunk.json", "another command"],
            environment: ["ADVLAB_DATA": dataDirectory])
        try assertOneLineError(chunked(out, extra: ["--chunk", "0"]), mentions: ["--chunk", "0"])
        try assertOneLineError(chunked(out, extra: ["--batch", "0"]), mentions: ["--batch", "0"])
        try assertOneLineError(chunked(out, extra: ["--eps-grid", "0.1,0.2"]), mentions: ["--chunk", "--eps-grid"])
    }
}
