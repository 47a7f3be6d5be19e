import AdvTensor
import Foundation
import XCTest

/// `AtomicFile`: the destination ends up holding exactly the new bytes, a failed write throws
/// a `FileWriteError` naming the path and changes nothing, and no temporary file is left behind.
final class AtomicFileTests: XCTestCase {
    private var folder = ""

    override func setUpWithError() throws {
        folder = NSTemporaryDirectory() + "advlab-atomicfile-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: folder)
    }

    private func contents(_ path: String) -> [UInt8]? {
        FileManager.default.contents(atPath: path).map { Array($0) }
    }

    private func folderEntries() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: folder).sorted()
    }

    func testWritesBytesAndTextAndLeavesNoTemporaryFile() throws {
        let bytesPath = folder + "/weights.bin"
        let textPath = folder + "/notes.txt"
        let bytes: [UInt8] = (0..<1_000).map { UInt8(truncatingIfNeeded: $0 &* 37) }
        try AtomicFile.write(bytes, to: bytesPath)
        try AtomicFile.write("ε = 0.3\n", to: textPath)
        XCTAssertEqual(contents(bytesPath), bytes)
        XCTAssertEqual(contents(textPath), Array("ε = 0.3\n".utf8))
        XCTAssertEqual(try folderEntries(), ["notes.txt", "weights.bin"])
    }

    func testReplacesALongerFileCompletely() throws {
        let path = folder + "/report.json"
        try AtomicFile.write([UInt8](repeating: 65, count: 4_096), to: path)
        try AtomicFile.write([1, 2, 3], to: path)
        XCTAssertEqual(contents(path), [1, 2, 3], "no tail of the old file may survive")
        try AtomicFile.write([UInt8](), to: path)
        XCTAssertEqual(contents(path), [])
        XCTAssertEqual(try folderEntries(), ["report.json"])
    }

    func testMissingFolderThrowsNamingThePathAndChangesNothing() throws {
        let existing = folder + "/model.safetensors"
        try AtomicFile.write([9, 9, 9], to: existing)

        let missing = folder + "/no-such-folder/model.safetensors"
        XCTAssertThrowsError(try AtomicFile.write([1], to: missing)) { error in
            guard let error = error as? FileWriteError else { return XCTFail("expected FileWriteError, got \(error)") }
            XCTAssertEqual(error.path, missing)
            XCTAssertTrue(error.description.contains(missing), error.description)
        }
        // The "folder" is the existing file itself: the write must fail and leave the file alone.
        let underFile = existing + "/inner.bin"
        XCTAssertThrowsError(try AtomicFile.write([1, 2], to: underFile)) { error in
            XCTAssertEqual((error as? FileWriteError)?.path, underFile)
        }
        XCTAssertEqual(contents(existing), [9, 9, 9])
        XCTAssertEqual(try folderEntries(), ["model.safetensors"])
    }

    /// The rename fails when the destination is a non-empty folder: the error names the path
    /// and the temporary file is removed.
    func testFailedRenameRemovesTheTemporaryFile() throws {
        let destination = folder + "/checkpoints"
        try FileManager.default.createDirectory(atPath: destination, withIntermediateDirectories: false)
        try AtomicFile.write([7], to: destination + "/keep.bin")
        XCTAssertThrowsError(try AtomicFile.write([1, 2, 3], to: destination)) { error in
            XCTAssertEqual((error as? FileWriteError)?.path, destination)
        }
        XCTAssertEqual(try folderEntries(), ["checkpoints"])
        XCTAssertEqual(contents(destination + "/keep.bin"), [7])
    }

    /// A writer killed mid-write leaves `.name.PID.N.tmp`; the next successful write of the same
    /// file removes it when PID is gone, and keeps one whose process runs (here: this one's
    /// parent, standing in for a concurrent writer) and the temporaries of other files.
    func testNextWriteRemovesTemporariesOfDeadWriters() throws {
        let path = folder + "/model.safetensors"
        // A PID that exists no longer: a child that has exited and been reaped.
        let child = Process()
        child.executableURL = URL(fileURLWithPath: "/bin/true")
        try child.run()
        child.waitUntilExit()
        let dead = child.processIdentifier
        let stale = ".model.safetensors.\(dead).12345.tmp"
        let live = ".model.safetensors.\(getppid()).777.tmp"
        let other = ".other.bin.\(dead).1.tmp"
        for name in [stale, live, other] { try AtomicFile.write([1], to: folder + "/" + name) }
        try AtomicFile.write([7], to: path)
        XCTAssertEqual(contents(path), [7])
        XCTAssertEqual(try folderEntries(), [live, other, "model.safetensors"].sorted())
    }
}
