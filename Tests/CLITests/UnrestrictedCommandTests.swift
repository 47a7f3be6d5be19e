import AdvData
import AdvNN
import AdvReport
import AdvTensor
import AdvTraining
import Foundation
import XCTest

/// `advlab unrestricted` end to end on the committed checkpoints: a short targeted search with
/// restarts and best-of-4 starts, and the outputs agree with each other (summary, records, CSV, figures).
final class UnrestrictedCommandTests: CLITestCase {

    func testTargetedSearchWithRestartsWritesConsistentOutputs() throws {
        let data = try mnistDirectory()
        let out = root.appendingPathComponent("search").path
        let result = try run(
            [
                "unrestricted", "--generator", checkpoints.appendingPathComponent("acgan.safetensors").path,
                "--model", checkpoints.appendingPathComponent("classifier-natural.safetensors").path,
                "--embedding", checkpoints.appendingPathComponent("triplet.safetensors").path,
                "--natural", checkpoint("classifier-natural.safetensors"),
                "--judge", checkpoint("classifier-robust.safetensors"),
                "--source", "3", "--target", "5", "--count", "6", "--steps", "15", "--lr", "0.05",
                "--attempts", "2", "--start-candidates", "4", "--noise-eps", "0.1", "--seed", "3", "--data", data, "--out", out, "--json",
            ],
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
        let records = try XCTUnwrap(
            JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out + "/records.json")))
                as? [[String: Any]])
        XCTAssertEqual(records.count, 6)
        for record in records {
            let prediction = try XCTUnwrap(record["classifierPrediction"] as? Int)
            let auxiliary = try XCTUnwrap(record["auxiliaryPrediction"] as? Int)
            let success = try XCTUnwrap(record["success"] as? Bool)
            let attempts = try XCTUnwrap(record["attempts"] as? Int)
            let steps = try XCTUnwrap(record["steps"] as? Int)
            XCTAssertEqual(success, prediction == 5 && auxiliary == 3)
            XCTAssertTrue((1...2).contains(attempts))
            XCTAssertLessThanOrEqual(steps, 2 * 15)
            if !success { XCTAssertEqual(attempts, 2, "a failed search used every start") }
            XCTAssertEqual((record["z"] as? [Any])?.count, (record["z0"] as? [Any])?.count)
        }
        XCTAssertEqual(Double(records.filter { $0["success"] as? Bool == true }.count) / 6, rate, accuracy: 1e-9)

        let csv = try String(contentsOfFile: out + "/records.csv", encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(csv.count, 7)
        XCTAssertTrue(csv[0].contains("attempts") && csv[0].contains(",knn_prediction,"))
        for name in ["pairs.png", "summary.json", "baseline.json"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: out + "/" + name), name)
        }

        // The panel: the 5-NN and the --judge; the natural model is the attacked one, so not a judge.
        XCTAssertEqual(summary["panel"] as? [String], ["triplet-5nn", "classifier-robust"])
        let header = csv[0].split(separator: ",").map(String.init)
        XCTAssertEqual(
            Array(header.suffix(6)),
            [
                "knn_prediction", "classifier-robust_prediction", "valid", "knn_start_prediction",
                "classifier-robust_start_prediction", "start_accepted",
            ])
        var valid = 0
        var rows: [[String: String]] = []
        for line in csv.dropFirst() {
            let cells = line.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            let row = Dictionary(uniqueKeysWithValues: zip(header, cells))
            rows.append(row)
            let expected = row["success"] == "1" && row["knn_prediction"] == "3" && row["classifier-robust_prediction"] == "3"
            XCTAssertEqual(row["valid"], expected ? "1" : "0", String(line))
            valid += expected ? 1 : 0
            let accepted = row["knn_start_prediction"] == "3" && row["classifier-robust_start_prediction"] == "3"
            XCTAssertEqual(row["start_accepted"], accepted ? "1" : "0", String(line))
        }
        XCTAssertEqual(try XCTUnwrap(summary["valid_success_rate"] as? Double), Double(valid) / 6, accuracy: 1e-12)
        XCTAssertLessThanOrEqual(try XCTUnwrap(summary["valid_success_rate"] as? Double), rate)
        // The control's two shares follow from the CSV's flags (null when nothing succeeded).
        let accepted = rows.filter { $0["start_accepted"] == "1" }
        XCTAssertEqual(try XCTUnwrap(summary["panel_agreement_on_starts"] as? Double), Double(accepted.count) / 6, accuracy: 1e-12)
        let succeeded = rows.filter { $0["success"] == "1" }
        if succeeded.isEmpty {
            XCTAssertTrue(summary["panel_agreement_on_starts_of_successes"] is NSNull)
        } else {
            XCTAssertEqual(
                try XCTUnwrap(summary["panel_agreement_on_starts_of_successes"] as? Double),
                Double(succeeded.filter { $0["start_accepted"] == "1" }.count) / Double(succeeded.count), accuracy: 1e-12)
        }

        // images.npy and start-images.npy: N×1×28×28 in [0, 1], in the records' order: the attacked
        // model reads images.npy[i] as record i says, and start-images.npy[i] is G(z0_i, s_i).
        let images = try NPY.read(out + "/images.npy")
        let starts = try NPY.read(out + "/start-images.npy")
        XCTAssertEqual(images.shape, [6, 1, 28, 28])
        XCTAssertEqual(starts.shape, [6, 1, 28, 28])
        XCTAssertTrue(images.scalars.allSatisfy { (0...1).contains($0) } && starts.scalars.allSatisfy { (0...1).contains($0) })
        let attacked = try ModelLoading.classifier(path: checkpoint("classifier-natural.safetensors"))
        XCTAssertEqual(attacked.predict(images), records.map { $0["classifierPrediction"] as? Int ?? -1 })
        // The judge's classes in the CSV are its readings of the searched and of the starting
        // images, each of its own file (a control that judged the searched images twice fails).
        let judge = try ModelLoading.classifier(path: checkpoint("classifier-robust.safetensors"))
        XCTAssertEqual(judge.predict(images).map(String.init), rows.map { $0["classifier-robust_prediction"] ?? "" })
        XCTAssertEqual(judge.predict(starts).map(String.init), rows.map { $0["classifier-robust_start_prediction"] ?? "" })
        let (generator, _) = try ModelLoading.acgan(path: checkpoint("acgan.safetensors"))
        for (i, record) in records.enumerated() {
            let z0 = try XCTUnwrap(record["z0"] as? [Double]).map(Float.init)
            let expected = generator.generate(Tensor(shape: [1, z0.count], scalars: z0), classes: [3])
            XCTAssertLessThan((starts.slice(i..<(i + 1)) - expected).maxAbs(), 1e-4, "start image \(i)")
        }
    }

    /// Without tuning flags the command runs the full report's search (issue 18, item 4): the
    /// settings in summary.json are the report's, one search per pair count aside.
    func testDefaultsAreTheFullReportsSearch() throws {
        let data = try mnistDirectory()
        let out = root.appendingPathComponent("defaults").path
        let result = try run(
            [
                "unrestricted", "--generator", checkpoint("acgan.safetensors"), "--model", checkpoint("classifier-robust.safetensors"),
                "--embedding", checkpoint("triplet.safetensors"), "--natural", checkpoint("classifier-natural.safetensors"),
                "--source", "3", "--target", "5", "--count", "1", "--data", data, "--out", out, "--json",
            ],
            environment: ["ADVLAB_THREADS": "1", "OMP_NUM_THREADS": "1"])
        XCTAssertEqual(result.status, 0, result.standardError)
        let summary = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(result.standardOutput.utf8)) as? [String: Any])
        let settings = try XCTUnwrap(summary["settings"] as? [String: Any])
        let full = ReportSettings.full
        XCTAssertEqual(settings["steps"] as? Int, full.unrestricted_steps)
        XCTAssertEqual(try XCTUnwrap(settings["learningRate"] as? Double), full.unrestricted_lr, accuracy: 1e-6)
        XCTAssertEqual(settings["startCandidates"] as? Int, full.unrestricted_start_candidates)
        XCTAssertEqual(settings["attempts"] as? Int, 1)
        XCTAssertEqual(settings["noiseEps"] as? Double, 0)
        XCTAssertEqual(settings["optimizer"] as? String, "adam")
    }

    /// A judge must be one the search never sees: the attacked model is refused, naming the flag.
    func testTheAttackedModelCannotJudge() throws {
        let out = root.appendingPathComponent("refused").path
        let result = try run([
            "unrestricted", "--model", checkpoint("classifier-robust.safetensors"),
            "--judge", checkpoint("classifier-robust.safetensors"), "--generator", checkpoint("acgan.safetensors"),
            "--embedding", checkpoint("triplet.safetensors"), "--natural", checkpoint("classifier-natural.safetensors"),
            "--all-pairs", "--out", out,
        ])
        XCTAssertNotEqual(result.status, 0)
        XCTAssertTrue(result.standardError.contains("--judge"), result.standardError)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out))
    }

    /// --keeper must be a classifier the panel does not use and the search does not attack:
    /// the attacked model, a --judge and the natural judge are refused, naming the flag.
    func testTheKeeperIsNeitherTheAttackedModelNorAJudge() throws {
        let cases: [(model: String, judges: [String], keeper: String, reason: String)] = [
            ("classifier-robust", [], "classifier-robust", "attacked --model"),
            ("classifier-natural", ["classifier-robust"], "classifier-robust", "--judge"),
            ("classifier-robust", [], "classifier-natural", "natural classifier"),
        ]
        for (index, c) in cases.enumerated() {
            let out = root.appendingPathComponent("keeper-refused-\(index)").path
            let result = try run(
                [
                    "unrestricted", "--model", checkpoint(c.model + ".safetensors"), "--keeper", checkpoint(c.keeper + ".safetensors"),
                    "--generator", checkpoint("acgan.safetensors"), "--embedding", checkpoint("triplet.safetensors"),
                    "--natural", checkpoint("classifier-natural.safetensors"), "--all-pairs", "--out", out,
                ] + c.judges.flatMap { ["--judge", checkpoint($0 + ".safetensors")] })
            XCTAssertNotEqual(result.status, 0, "case \(index)")
            XCTAssertTrue(result.standardError.contains("--keeper") && result.standardError.contains(c.reason), result.standardError)
            XCTAssertFalse(FileManager.default.fileExists(atPath: out))
        }
    }

    /// With --keeper the keeper classifier decides the search's rule in place of the auxiliary
    /// classifier, and the summary names it.
    func testTheKeeperDecidesTheSuccessRule() throws {
        let data = try mnistDirectory()
        let out = root.appendingPathComponent("keeper").path
        let result = try run(
            [
                "unrestricted", "--generator", checkpoint("acgan.safetensors"), "--model", checkpoint("classifier-natural.safetensors"),
                "--keeper", checkpoint("judge-robust.safetensors"), "--embedding", checkpoint("triplet.safetensors"),
                "--natural", checkpoint("classifier-natural.safetensors"), "--source", "4", "--target", "9", "--count", "4",
                "--steps", "30", "--start-candidates", "4", "--seed", "5", "--data", data, "--out", out, "--json",
            ],
            environment: ["ADVLAB_THREADS": "1", "OMP_NUM_THREADS": "1"])
        XCTAssertEqual(result.status, 0, result.standardError)
        let summary = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(result.standardOutput.utf8)) as? [String: Any])
        XCTAssertEqual(summary["keeper"] as? String, "judge-robust.safetensors")
        XCTAssertEqual(summary["panel"] as? [String], ["triplet-5nn"], "the natural model is attacked, so it does not judge")
        let records = try XCTUnwrap(
            JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out + "/records.json"))) as? [[String: Any]])
        let images = try NPY.read(out + "/images.npy")
        let keeperClasses = try ModelLoading.classifier(path: checkpoint("judge-robust.safetensors")).predict(images)
        let (_, discriminator) = try ModelLoading.acgan(path: checkpoint("acgan.safetensors"))
        let headClasses = discriminator.forward(images, mode: .eval).classLogits.argmaxRows()
        XCTAssertEqual(records.count, 4)
        for (i, record) in records.enumerated() {
            let keeperClass = try XCTUnwrap(record["auxiliaryPrediction"] as? Int)
            XCTAssertEqual(keeperClass, keeperClasses[i], "record \(i): the keeper's class, not the auxiliary head's (\(headClasses[i]))")
            XCTAssertEqual(record["success"] as? Bool, record["classifierPrediction"] as? Int == 9 && keeperClass == 4)
        }
    }
}
