import Foundation
import XCTest

/// `advlab unrestricted` end to end on the committed checkpoints: a short targeted search with
/// restarts and best-of-4 starts, and the outputs agree with each other (summary, records, CSV, figures).
final class UnrestrictedCommandTests: CLITestCase {

    func testTargetedSearchWithRestartsWritesConsistentOutputs() throws {
        guard let data = ProcessInfo.processInfo.environment["ADVLAB_DATA"], !data.isEmpty else {
            throw XCTSkip("ADVLAB_DATA is not set (Scripts/setup fetches MNIST)")
        }
        let out = root.appendingPathComponent("search").path
        let result = try run(["unrestricted", "--generator", checkpoints.appendingPathComponent("acgan.safetensors").path,
                              "--model", checkpoints.appendingPathComponent("classifier-natural.safetensors").path,
                              "--embedding", checkpoints.appendingPathComponent("triplet.safetensors").path,
                              "--source", "3", "--target", "5", "--count", "6", "--steps", "15", "--lr", "0.05",
                              "--attempts", "2", "--start-candidates", "4", "--noise-eps", "0.1", "--seed", "3", "--data", data, "--out", out, "--json"],
                             environment: ["ADVLAB_THREADS": "1", "OMP_NUM_THREADS": "1"])
        XCTAssertEqual(result.status, 0, result.standardError)

        let summary = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(result.standardOutput.utf8)) as? [String: Any])
        let rate = try XCTUnwrap(summary["success_rate"] as? Double)
        let agreeing = try XCTUnwrap(summary["success_rate_knn_agreeing"] as? Double)
        XCTAssertEqual(summary["count"] as? Int, 6)
        XCTAssertEqual(summary["seed"] as? Int, 3)
        XCTAssertEqual((summary["settings"] as? [String: Any])?["attempts"] as? Int, 2)
        XCTAssertEqual((summary["settings"] as? [String: Any])?["startCandidates"] as? Int, 4)
        XCTAssertLessThanOrEqual(agreeing, rate, "the 5-NN can only remove successes")

        // Every record obeys the success rule, the attempt and step budget, and the summary's rate.
        let records = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out + "/records.json")))
                                    as? [[String: Any]])
        XCTAssertEqual(records.count, 6)
        for record in records {
            let prediction = try XCTUnwrap(record["classifierPrediction"] as? Int)
            let auxiliary = try XCTUnwrap(record["auxiliaryPrediction"] as? Int)
            let success = try XCTUnwrap(record["success"] as? Bool)
            let attempts = try XCTUnwrap(record["attempts"] as? Int), steps = try XCTUnwrap(record["steps"] as? Int)
            XCTAssertEqual(success, prediction == 5 && auxiliary == 3)
            XCTAssertTrue((1...2).contains(attempts))
            XCTAssertLessThanOrEqual(steps, 2 * 15)
            if !success { XCTAssertEqual(attempts, 2, "a failed search used every start") }
            XCTAssertEqual((record["z"] as? [Any])?.count, (record["z0"] as? [Any])?.count)
        }
        XCTAssertEqual(Double(records.filter { $0["success"] as? Bool == true }.count) / 6, rate, accuracy: 1e-9)

        let csv = try String(contentsOfFile: out + "/records.csv", encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(csv.count, 7)
        XCTAssertTrue(csv[0].contains("attempts") && csv[0].hasSuffix("knn_prediction"))
        for name in ["pairs.png", "summary.json", "baseline.json"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: out + "/" + name), name)
        }
    }
}
