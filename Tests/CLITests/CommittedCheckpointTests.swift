import AdvNN
import Foundation
import XCTest

/// Every committed checkpoint (also under `checkpoints/fashion-mnist/`) names no path of the
/// machine that made it: its `created_by` command line holds file names and project-relative
/// paths only, and it states its data set.
final class CommittedCheckpointTests: CLITestCase {
    func testNoMachinePathsInMetadata() throws {
        let files =
            FileManager.default.enumerator(atPath: checkpoints.path)?.compactMap { $0 as? String }
            .filter { $0.hasSuffix(".safetensors") } ?? []
        XCTAssertGreaterThanOrEqual(files.count, 4, "no committed checkpoints found in \(checkpoints.path)")
        for file in files {
            let metadata = try Checkpoint.readMetadata(path: checkpoints.appendingPathComponent(file).path)
            let createdBy = try XCTUnwrap(metadata[Checkpoint.MetadataKey.createdBy], "\(file): no created_by")
            for word in createdBy.split(separator: " ") {
                let value = word.split(separator: "=", maxSplits: 1).last.map(String.init) ?? ""
                XCTAssertFalse(value.hasPrefix("/") || value.hasPrefix("~") || value.contains(".."), "\(file): created_by names \(value)")
            }
            XCTAssertNotNil(metadata["dataset"], "\(file): no dataset")
        }
    }
}
