import AdvNN
import AdvTensor
import Foundation
import TestSupport
import XCTest

final class SafetensorsTests: XCTestCase {
    private var folder: String!

    override func setUpWithError() throws {
        folder = NSTemporaryDirectory() + "safetensors-tests-\(getpid())-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: folder)
    }

    // MARK: Round trip and layout

    func testRoundTripKeepsEveryBitOfTensorsIntegersAndMetadata() throws {
        var rng = SeededGenerator(seed: 7)
        let special: [Float] = [-0.0, .infinity, -.infinity, .nan, .leastNonzeroMagnitude, .greatestFiniteMagnitude]
        let tensors: [(String, Tensor)] = [
            ("conv1.weight", Tensor.randomNormal([3, 1, 2, 2], using: &rng)),
            ("bias", Tensor(shape: [1], scalars: [0.25])),
            ("empty", Tensor(shape: [0, 3], scalars: [])),
            ("scalar", Tensor(shape: [], scalars: [-3.5])),
            ("special", Tensor(shape: [2, 3], scalars: special)),
        ]
        let integers: [(String, IntegerTensor)] = [
            ("rng", IntegerTensor(unsigned: [.max, 0, 1, 1 << 63])),
            ("step", IntegerTensor(signed: [-1, .min, .max, 0], shape: [2, 2])),
        ]
        let metadata = [
            "kind": "classifier",
            "quotes": "say \"hi\" \\ back\\slash",
            "lines": "one\ntwo\tthree\r\u{01}",
            "unicode": "ε = 0.3 ✓ 𝔼",
            "empty": "",
        ]
        let path = folder + "/round.safetensors"
        try Safetensors.write(tensors: tensors, integerTensors: integers, metadata: metadata, to: path)
        let file = try Safetensors.read(path: path)

        XCTAssertEqual(file.metadata, metadata)
        XCTAssertEqual(Set(file.names), Set(tensors.map(\.0) + integers.map(\.0)))
        XCTAssertEqual(file.tensors.count, tensors.count)
        for (name, expected) in tensors {
            let actual = try file.tensor(name, expectedShape: expected.shape)
            XCTAssertEqual(actual.scalars.map(\.bitPattern), expected.scalars.map(\.bitPattern), name)
        }
        XCTAssertEqual(file.integerTensors.count, integers.count)
        for (name, expected) in integers {
            XCTAssertEqual(try file.integerTensor(name), expected, name)
        }
        XCTAssertEqual(try file.integerTensor("step").signedValues, [-1, .min, .max, 0])
        XCTAssertEqual(
            SeededGenerator(stateWords: try file.integerTensor("rng", expectedCount: 4).words)?.stateWords,
            [.max, 0, 1, 1 << 63])
    }

    func testEmptyFileHoldsOnlyThePaddedEmptyObject() throws {
        let bytes = try Safetensors.encode(tensors: [], metadata: [:])
        // "{}" padded with six spaces to 8 bytes.
        XCTAssertEqual(bytes, [8, 0, 0, 0, 0, 0, 0, 0, 0x7B, 0x7D, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20])
        let file = try bytes.withUnsafeBytes { try Safetensors.decode($0, path: "empty.safetensors") }
        XCTAssertTrue(file.names.isEmpty)
        XCTAssertTrue(file.metadata.isEmpty)
    }

    func testByteLayoutMatchesHandComputedExample() throws {
        let bytes = try Safetensors.encode(
            tensors: [("a", Tensor(shape: [2], scalars: [1, -2]))],
            integerTensors: [("n", IntegerTensor(unsigned: [258]))],
            metadata: ["kind": "xy"])
        // The U64 tensor comes first (widest dtype first), then the F32 one.
        // JSON: 30 bytes of metadata + comma, 53 for "n" + comma, 54 for "a" + closing brace = 137,
        // padded with 7 spaces to 144 = 0x90.
        let json =
            #"{"__metadata__":{"kind":"xy"},"n":{"dtype":"U64","shape":[1],"data_offsets":[0,8]},"#
            + #""a":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}}"#
        XCTAssertEqual(json.utf8.count, 137)
        let expected: [UInt8] =
            [0x90, 0, 0, 0, 0, 0, 0, 0]
            + Array(json.utf8) + [UInt8](repeating: 0x20, count: 7)
            + [0x02, 0x01, 0, 0, 0, 0, 0, 0]  // 258 as U64
            + [0x00, 0x00, 0x80, 0x3F, 0x00, 0x00, 0x00, 0xC0]  // 1.0, -2.0 as F32
        XCTAssertEqual(bytes, expected)
        XCTAssertEqual((8 + 144) % 8, 0, "data starts 8-byte aligned")
    }

    func testTensorOrderDoesNotDependOnArgumentOrder() throws {
        let a = Tensor(shape: [1], scalars: [1])
        let b = Tensor(shape: [2], scalars: [2, 3])
        let first = try Safetensors.encode(tensors: [("a", a), ("b", b)], metadata: ["x": "1", "y": "2"])
        let second = try Safetensors.encode(tensors: [("b", b), ("a", a)], metadata: ["y": "2", "x": "1"])
        XCTAssertEqual(first, second)
    }

    // MARK: Files from the reference implementation

    /// Written by gen.py (Python, struct + json + numpy) in the layout of the reference writer:
    /// tensors sorted widest dtype first then by name, compact JSON, header padded with spaces.
    /// Holds every dtype advlab reads: U64, I64, F64, F32 (incl. [0,3] and []), I32, BF16, F16
    /// (incl. a subnormal and infinity), U8, BOOL.
    private let referenceMixedHex = [
        "b0020000000000007b225f5f6d657461646174615f5f223a7b22666f726d6174223a227074227d2c22726e67223a7b226474",
        "797065223a22553634222c227368617065223a5b315d2c22646174615f6f666673657473223a5b302c385d7d2c2273746570",
        "223a7b226474797065223a22493634222c227368617065223a5b325d2c22646174615f6f666673657473223a5b382c32345d",
        "7d2c22646f75626c65223a7b226474797065223a22463634222c227368617065223a5b322c325d2c22646174615f6f666673",
        "657473223a5b32342c35365d7d2c22656d707479223a7b226474797065223a22463332222c227368617065223a5b302c335d",
        "2c22646174615f6f666673657473223a5b35362c35365d7d2c227363616c6172223a7b226474797065223a22463332222c22",
        "7368617065223a5b5d2c22646174615f6f666673657473223a5b35362c36305d7d2c22776569676874223a7b226474797065",
        "223a22463332222c227368617065223a5b322c315d2c22646174615f6f666673657473223a5b36302c36385d7d2c22636f75",
        "6e7473223a7b226474797065223a22493332222c227368617065223a5b335d2c22646174615f6f666673657473223a5b3638",
        "2c38305d7d2c22627261696e223a7b226474797065223a2242463136222c227368617065223a5b325d2c22646174615f6f66",
        "6673657473223a5b38302c38345d7d2c2268616c66223a7b226474797065223a22463136222c227368617065223a5b355d2c",
        "22646174615f6f666673657473223a5b38342c39345d7d2c22706978656c73223a7b226474797065223a225538222c227368",
        "617065223a5b345d2c22646174615f6f666673657473223a5b39342c39385d7d2c226d61736b223a7b226474797065223a22",
        "424f4f4c222c227368617065223a5b325d2c22646174615f6f666673657473223a5b39382c3130305d7d7d202020ffffffff",
        "fffffffffbffffffffffffff0000000000010000000000000000f83f00000000000002c0fca9f1d24d62503f8af221bf3c36",
        "ec4700002842cdcccc3d0000e0c0ffffffff00000000ffffff7f803f49c0003c00b8ff7b0100007c0001c8ff0100",
    ]

    /// The same generator's file with only the dtypes advlab writes (F32 and integers) and
    /// `{"kind": "classifier"}` as metadata.
    private let referenceWritableHex = [
        "00020000000000007b225f5f6d657461646174615f5f223a7b226b696e64223a22636c6173736966696572227d2c22726e67",
        "223a7b226474797065223a22553634222c227368617065223a5b315d2c22646174615f6f666673657473223a5b302c385d7d",
        "2c2273746570223a7b226474797065223a22493634222c227368617065223a5b325d2c22646174615f6f666673657473223a",
        "5b382c32345d7d2c22656d707479223a7b226474797065223a22463332222c227368617065223a5b302c335d2c2264617461",
        "5f6f666673657473223a5b32342c32345d7d2c227363616c6172223a7b226474797065223a22463332222c22736861706522",
        "3a5b5d2c22646174615f6f666673657473223a5b32342c32385d7d2c22776569676874223a7b226474797065223a22463332",
        "222c227368617065223a5b322c315d2c22646174615f6f666673657473223a5b32382c33365d7d2c22636f756e7473223a7b",
        "226474797065223a22493332222c227368617065223a5b335d2c22646174615f6f666673657473223a5b33362c34385d7d2c",
        "22706978656c73223a7b226474797065223a225538222c227368617065223a5b345d2c22646174615f6f666673657473223a",
        "5b34382c35325d7d2c226d61736b223a7b226474797065223a22424f4f4c222c227368617065223a5b325d2c22646174615f",
        "6f666673657473223a5b35322c35345d7d7d2020fffffffffffffffffbffffffffffffff000000000001000000002842cdcc",
        "cc3d0000e0c0ffffffff00000000ffffff7f0001c8ff0100",
    ]

    func testReadsEveryDTypeOfAReferenceFile() throws {
        let bytes = try XCTUnwrap(bytesFromHex(referenceMixedHex.joined()))
        let file = try bytes.withUnsafeBytes { try Safetensors.decode($0, path: "reference.safetensors") }
        XCTAssertEqual(file.metadata, ["format": "pt"])
        XCTAssertEqual(file.names, ["rng", "step", "double", "empty", "scalar", "weight", "counts", "brain", "half", "pixels", "mask"])

        assertClose(try file.tensor("double", expectedShape: [2, 2]), Tensor(shape: [2, 2], scalars: [1.5, -2.25, 1e-3, 3.0e38]))
        XCTAssertEqual(try file.tensor("empty").shape, [0, 3])
        XCTAssertEqual(try file.tensor("scalar", expectedShape: []).scalars, [42])
        XCTAssertEqual(try file.tensor("weight", expectedShape: [2, 1]).scalars, [0.1, -7])
        XCTAssertEqual(try file.tensor("brain").scalars, [1.0, -3.140625])
        // F16 65504 is the largest finite half; 6e-8 rounds to the smallest subnormal, 2⁻²⁴.
        XCTAssertEqual(try file.tensor("half").scalars, [1.0, -0.5, 65504, Float(sign: .plus, exponent: -24, significand: 1), .infinity])

        XCTAssertEqual(try file.integerTensor("rng"), IntegerTensor(unsigned: [.max]))
        XCTAssertEqual(try file.integerTensor("step"), IntegerTensor(signed: [-5, 1 << 40]))
        let counts = try file.integerTensor("counts")
        XCTAssertEqual(counts.dtype, .int32)
        XCTAssertEqual(counts.signedValues, [-1, 0, 2_147_483_647])
        XCTAssertEqual(try file.integerTensor("pixels").words, [0, 1, 200, 255])
        XCTAssertEqual(try file.integerTensor("mask").dtype, .bool)
        XCTAssertEqual(try file.integerTensor("mask").words, [1, 0])
    }

    func testWriterReproducesReferenceFileByteForByte() throws {
        let reference = try XCTUnwrap(bytesFromHex(referenceWritableHex.joined()))
        let file = try reference.withUnsafeBytes { try Safetensors.decode($0, path: "reference.safetensors") }
        // Pass the tensors in reverse name order: the writer must still produce the reference layout.
        let tensors = file.tensors.sorted { $0.key > $1.key }.map { ($0.key, $0.value) }
        let integers = file.integerTensors.sorted { $0.key > $1.key }.map { ($0.key, $0.value) }
        let rewritten = try Safetensors.encode(tensors: tensors, integerTensors: integers, metadata: file.metadata)
        XCTAssertEqual(rewritten, reference)
    }

    func testAcceptsWhitespaceAnyKeyOrderAndNoPadding() throws {
        let json = """
            {
              "b": {"shape": [1], "data_offsets": [4, 8], "dtype": "F32"},
              "a": {"data_offsets": [0, 4], "dtype": "F32", "shape": [1]},
              "__metadata__": {"kind": "triplet"}
            }
            """
        let bytes = fileBytes(json: json, data: floatBytes([1, 2]))
        XCTAssertNotEqual((8 + json.utf8.count) % 8, 0, "the header is deliberately unaligned")
        let file = try bytes.withUnsafeBytes { try Safetensors.decode($0, path: "loose.safetensors") }
        XCTAssertEqual(file.names, ["a", "b"])
        XCTAssertEqual(try file.tensor("a").scalars, [1])
        XCTAssertEqual(try file.tensor("b").scalars, [2])
        XCTAssertEqual(file.metadata["kind"], "triplet")
    }

    // MARK: Malformed files

    func testRejectsBadLengthFieldNamingFileAndField() {
        assertRejects([1, 2, 3, 4, 5], mentioning: ["5 bytes", "8-byte header length"])
        assertRejects(lengthField(1000) + Array("{}".utf8), mentioning: ["header length 1000", "past the end of the file"])
        assertRejects(lengthField(200_000_000) + Array("{}".utf8), mentioning: ["header length 200000000", "limit"])
        assertRejects(lengthField(.max) + Array("{}".utf8), mentioning: ["header length 18446744073709551615", "limit"])
    }

    func testRejectsHeaderThatIsNotUTF8JSONObject() {
        var invalidUTF8 = fileBytes(json: #"{"w":{"dtype":"F32","shape":[0],"data_offsets":[0,0]}}"#, data: [])
        invalidUTF8[10] = 0xFF
        assertRejects(invalidUTF8, mentioning: ["header", "UTF-8"])
        assertRejects(fileBytes(json: #"{"w":"#, data: []), mentioning: ["header", "not valid JSON"])
        assertRejects(fileBytes(json: "[1, 2]", data: []), mentioning: ["header", "not a JSON object"])
        assertRejects(fileBytes(json: "", data: []), mentioning: ["header", "not valid JSON"])
    }

    func testRejectsMalformedMetadata() {
        let tensor = #""w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}"#
        assertRejects(
            fileBytes(json: #"{"__metadata__":{"kind":3},"# + tensor + "}", data: floatBytes([1])),
            mentioning: ["__metadata__", "kind", "not a string"])
        assertRejects(
            fileBytes(json: #"{"__metadata__":"classifier","# + tensor + "}", data: floatBytes([1])),
            mentioning: ["__metadata__", "not an object"])
    }

    func testRejectsEntriesWithMissingOrMistypedFields() {
        let cases: [(entry: String, fields: [String])] = [
            ("3", ["tensor w", "not an object"]),
            (#"{"shape":[2],"data_offsets":[0,8]}"#, ["tensor w", "missing dtype"]),
            (#"{"dtype":32,"shape":[2],"data_offsets":[0,8]}"#, ["tensor w", "dtype is not a string"]),
            (#"{"dtype":"F7","shape":[2],"data_offsets":[0,8]}"#, ["tensor w", "unknown dtype \"F7\""]),
            (#"{"dtype":"F8_E4M3","shape":[8],"data_offsets":[0,8]}"#, ["tensor w", "unknown dtype \"F8_E4M3\""]),
            (#"{"dtype":"F32","data_offsets":[0,8]}"#, ["tensor w", "missing shape"]),
            (#"{"dtype":"F32","shape":"2","data_offsets":[0,8]}"#, ["tensor w", "shape is not an array"]),
            (#"{"dtype":"F32","shape":[2.5],"data_offsets":[0,8]}"#, ["tensor w", "shape", "not an integer"]),
            (#"{"dtype":"F32","shape":[true],"data_offsets":[0,8]}"#, ["tensor w", "shape", "not an integer"]),
            (#"{"dtype":"F32","shape":[2]}"#, ["tensor w", "missing data_offsets"]),
            (#"{"dtype":"F32","shape":[2],"data_offsets":[0]}"#, ["tensor w", "data_offsets", "[begin, end]"]),
            (#"{"dtype":"F32","shape":[2],"data_offsets":[0,"8"]}"#, ["tensor w", "data_offsets", "[begin, end]"]),
            (#"{"dtype":"F32","shape":[2],"data_offsets":"0-8"}"#, ["tensor w", "data_offsets", "[begin, end]"]),
            (#"{"dtype":"F32","shape":[2],"data_offsets":[0,18446744073709551615]}"#, ["tensor w", "data_offsets", "[begin, end]"]),
        ]
        for (entry, fields) in cases {
            assertRejects(fileBytes(json: #"{"w":"# + entry + "}", data: floatBytes([1, 2])), mentioning: fields)
        }
    }

    func testRejectsImpossibleShapesAndOffsets() {
        let data = floatBytes([1, 2])
        func entry(_ shape: String, _ offsets: String, dtype: String = "F32") -> [UInt8] {
            fileBytes(json: #"{"w":{"dtype":"\#(dtype)","shape":\#(shape),"data_offsets":\#(offsets)}}"#, data: data)
        }
        assertRejects(entry("[-2]", "[0,8]"), mentioning: ["tensor w", "negative dimension -2"])
        assertRejects(entry("[4611686018427387904,4611686018427387904]", "[0,8]"), mentioning: ["tensor w", "too many elements"])
        assertRejects(entry("[2305843009213693952,2]", "[0,8]"), mentioning: ["tensor w", "too many elements"])  // bytes overflow
        assertRejects(entry("[2]", "[-8,0]"), mentioning: ["tensor w", "data_offsets [-8, 0]", "negative"])
        assertRejects(entry("[2]", "[8,0]"), mentioning: ["tensor w", "data_offsets [8, 0]", "begin after"])
        assertRejects(entry("[4]", "[0,16]"), mentioning: ["tensor w", "data_offsets [0, 16]", "past the data section (8 bytes)"])
        assertRejects(entry("[0,9223372036854775807]", "[0,9223372036854775807]"), mentioning: ["tensor w", "past the data section"])
        assertRejects(entry("[3]", "[0,8]"), mentioning: ["tensor w", "data_offsets [0, 8]", "8 bytes", "[3] of F32 needs 12"])
        assertRejects(entry("[2]", "[0,8]", dtype: "F64"), mentioning: ["tensor w", "[2] of F64 needs 16"])
    }

    func testRejectsOverlapsGapsAndTrailingBytes() {
        func two(_ a: String, _ b: String, dataCount: Int) -> [UInt8] {
            fileBytes(
                json: #"{"a":{"dtype":"F32","shape":[2],"data_offsets":\#(a)},"b":{"dtype":"F32","shape":[2],"data_offsets":\#(b)}}"#,
                data: [UInt8](repeating: 0, count: dataCount))
        }
        assertRejects(two("[0,8]", "[4,12]", dataCount: 12), mentioning: ["tensor b", "data_offsets [4, 12]", "overlap tensor a [0, 8]"])
        assertRejects(two("[0,8]", "[0,8]", dataCount: 8), mentioning: ["data_offsets [0, 8]", "overlap"])
        assertRejects(two("[0,8]", "[12,20]", dataCount: 20), mentioning: ["tensor b", "data_offsets [12, 20]", "8..<12", "unused"])
        assertRejects(two("[4,12]", "[12,20]", dataCount: 20), mentioning: ["tensor a", "0..<4", "unused"])
        assertRejects(two("[0,8]", "[8,16]", dataCount: 20), mentioning: ["data section", "4 bytes after the last tensor"])
    }

    func testErrorStaysOnOneLineForHostileNames() {
        let bytes = fileBytes(json: #"{"evil\nname\u0007":{"dtype":"F7","shape":[],"data_offsets":[0,4]}}"#, data: floatBytes([1]))
        assertRejects(bytes, mentioning: [#"tensor evil\nname\u{07}"#, "F7"])
    }

    func testReadNamesTheFileOnDisk() throws {
        let path = folder + "/broken.safetensors"
        try Data(fileBytes(json: #"{"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}"#, data: floatBytes([1, 2]))).write(
            to: URL(fileURLWithPath: path))
        XCTAssertThrowsError(try Safetensors.read(path: path)) { error in
            XCTAssertEqual(
                (error as? CheckpointError)?.description,
                "\(path): tensor w: data_offsets [0, 8] hold 8 bytes, shape [3] of F32 needs 12")
        }
        XCTAssertThrowsError(try Safetensors.read(path: folder + "/absent.safetensors")) { error in
            XCTAssertEqual(
                (error as? CheckpointError)?.description, "\(folder!)/absent.safetensors: cannot open: No such file or directory")
        }
        XCTAssertThrowsError(try Safetensors.read(path: folder)) { error in
            XCTAssertEqual((error as? CheckpointError)?.description, "\(folder!): not a regular file")
        }
    }

    func testHeaderOnlyReadValidatesAgainstFileSize() throws {
        let path = folder + "/model.safetensors"
        try Safetensors.write(tensors: [("w", Tensor(shape: [4], scalars: [1, 2, 3, 4]))], metadata: ["kind": "acgan"], to: path)
        let header = try Safetensors.readHeader(path: path)
        XCTAssertEqual(header.metadata, ["kind": "acgan"])
        XCTAssertEqual(header.entries, [SafetensorsEntry(name: "w", dtype: .float32, shape: [4], dataOffsets: 0..<16)])

        // Cut the last 4 data bytes: the header alone is intact but no longer fits the file.
        var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
        bytes.removeLast(4)
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        XCTAssertThrowsError(try Safetensors.readHeader(path: path)) { error in
            XCTAssertEqual(
                (error as? CheckpointError)?.description,
                "\(path): tensor w: data_offsets [0, 16] end past the data section (12 bytes)")
        }
    }

    // MARK: Writing safely

    func testWriterRejectsDuplicateAndReservedNamesWithoutTouchingTheOldFile() throws {
        let path = folder + "/keep.safetensors"
        let old = Array("old contents".utf8)
        try Data(old).write(to: URL(fileURLWithPath: path))
        let one = Tensor(shape: [1], scalars: [1])

        XCTAssertThrowsError(
            try Safetensors.write(
                tensors: [("w", one)], integerTensors: [("w", IntegerTensor(unsigned: [1]))],
                metadata: [:], to: path)
        ) { error in
            XCTAssertEqual((error as? CheckpointError)?.description, "\(path): tensor name w appears twice")
        }
        XCTAssertThrowsError(try Safetensors.write(tensors: [("__metadata__", one)], metadata: [:], to: path)) { error in
            XCTAssertEqual((error as? CheckpointError)?.description, "\(path): tensor name __metadata__ is reserved for the metadata")
        }
        XCTAssertEqual(try [UInt8](Data(contentsOf: URL(fileURLWithPath: path))), old)
    }

    func testFailedWriteToUnwritableFolderLeavesOldFileIntact() throws {
        let locked = folder + "/locked"
        try FileManager.default.createDirectory(atPath: locked, withIntermediateDirectories: false)
        let path = locked + "/model.safetensors"
        let one = Tensor(shape: [1], scalars: [1])
        try Safetensors.write(tensors: [("w", one)], metadata: ["kind": "old"], to: path)
        let old = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))

        try lockFolder(locked)
        defer { unlockFolder(locked) }

        XCTAssertThrowsError(
            try Safetensors.write(
                tensors: [("w", Tensor(shape: [1], scalars: [2]))],
                metadata: ["kind": "new"], to: path)
        ) { error in
            XCTAssertTrue(error is FileWriteError, "\(error)")
            XCTAssertTrue("\(error)".contains(path), "\(error)")
        }
        XCTAssertEqual(try [UInt8](Data(contentsOf: URL(fileURLWithPath: path))), old)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: locked), ["model.safetensors"], "no temporary file left")
        XCTAssertEqual(try Safetensors.read(path: path).metadata["kind"], "old")
    }

    func testWriteIntoMissingFolderThrows() {
        XCTAssertThrowsError(try Safetensors.write(tensors: [], metadata: [:], to: folder + "/missing/model.safetensors")) { error in
            XCTAssertTrue(error is FileWriteError, "\(error)")
        }
    }

    // MARK: Fuzzing

    /// 2000 seeded mutations of a valid file (bit flips, truncations, header-length edits, inserted
    /// and deleted bytes, JSON punctuation): `decode` must accept the file or throw a one-line
    /// `CheckpointError` — any other error, or a crash, fails.
    func testMutatedFilesAreAcceptedOrRejectedCleanly() throws {
        var rng = SeededGenerator(seed: 2018)
        let base = try Safetensors.encode(
            tensors: [
                ("conv.weight", Tensor.randomNormal([4, 1, 5, 5], using: &rng)),
                ("conv.bias", Tensor(shape: [2], scalars: [0.5, -0.5])),
                ("empty", Tensor(shape: [0, 4], scalars: [])),
            ],
            integerTensors: [("rng", IntegerTensor(unsigned: [1, 2, 3, 4])), ("step", IntegerTensor(signed: [-7]))],
            metadata: ["kind": "classifier", "epoch": "3"])
        let headerEnd = 8 + Int(base[0]) + Int(base[1]) << 8
        let punctuation = Array(#"{}[]",:-0123456789e. "#.utf8)

        var accepted = 0
        var rejected = 0
        for _ in 0..<2000 {
            var bytes = base
            for _ in 0...(rng.next() % 3) {
                func position(_ limit: Int) -> Int { limit <= 0 ? 0 : Int(rng.next() % UInt64(limit)) }
                switch rng.next() % 7 {
                case 0 where !bytes.isEmpty:  // flip a bit anywhere
                    bytes[position(bytes.count)] ^= UInt8(1) << (rng.next() % 8)
                case 1 where bytes.count > 8:  // flip a bit in the header
                    let index = 8 + position(min(headerEnd, bytes.count) - 8)
                    bytes[index] ^= UInt8(1) << (rng.next() % 8)
                case 2:  // truncate
                    bytes.removeLast(position(bytes.count + 1))
                case 3 where bytes.count >= 8:  // edit the header length
                    let length: UInt64
                    switch rng.next() % 3 {
                    case 0: length = rng.next()
                    case 1: length = rng.next() % UInt64(bytes.count + 16)
                    default: length = UInt64(headerEnd - 8) &+ (rng.next() % 17) &- 8
                    }
                    withUnsafeBytes(of: length.littleEndian) { bytes.replaceSubrange(0..<8, with: $0) }
                case 4:  // insert random bytes
                    let inserted = (0..<(1 + position(8))).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
                    bytes.insert(contentsOf: inserted, at: position(bytes.count + 1))
                case 5 where !bytes.isEmpty:  // delete a short range
                    let start = position(bytes.count)
                    bytes.removeSubrange(start..<min(bytes.count, start + 1 + position(8)))
                case 6 where bytes.count > 8:  // put JSON punctuation into the header
                    let index = 8 + position(min(headerEnd, bytes.count) - 8)
                    bytes[index] = punctuation[position(punctuation.count)]
                default:
                    break
                }
            }
            do {
                let file = try bytes.withUnsafeBytes { try Safetensors.decode($0, path: "fuzz.safetensors") }
                for (name, tensor) in file.tensors {
                    XCTAssertEqual(tensor.count, tensor.shape.reduce(1, *), name)
                }
                accepted += 1
            } catch let error as CheckpointError {
                XCTAssertTrue(error.description.hasPrefix("fuzz.safetensors: "), error.description)
                XCTAssertFalse(error.description.contains("\n"), error.description)
                rejected += 1
            } catch {
                XCTFail("unexpected error type \(type(of: error)): \(error)")
            }
        }
        // Both outcomes must occur, or the mutations are not exercising the reader. (Most are
        // rejected: any change of size breaks the exact tiling of the data section.)
        XCTAssertGreaterThan(accepted, 40)
        XCTAssertGreaterThan(rejected, 1500)
    }

    // MARK: Helpers

    /// Asserts that decoding `bytes` throws a one-line `CheckpointError` naming the file and
    /// containing every string of `fields`.
    private func assertRejects(_ bytes: [UInt8], mentioning fields: [String], file: StaticString = #filePath, line: UInt = #line) {
        let path = "bad.safetensors"
        do {
            let decoded = try bytes.withUnsafeBytes { try Safetensors.decode($0, path: path) }
            XCTFail("accepted a malformed file: \(decoded.names)", file: file, line: line)
        } catch let error as CheckpointError {
            let text = error.description
            XCTAssertTrue(text.hasPrefix(path + ": "), text, file: file, line: line)
            XCTAssertFalse(text.contains("\n"), "error spans lines: \(text)", file: file, line: line)
            for field in fields {
                XCTAssertTrue(text.contains(field), "\"\(text)\" does not mention \"\(field)\"", file: file, line: line)
            }
        } catch {
            XCTFail("wrong error type \(type(of: error)): \(error)", file: file, line: line)
        }
    }

    /// Makes `folder` unwritable, even for root (where permissions do not bind) by marking it
    /// immutable; skips the test when neither works on this file system.
    private func lockFolder(_ folder: String) throws {
        chmod(folder, 0o555)
        if !canCreateFile(in: folder) { return }
        let chattr = Process()
        chattr.executableURL = URL(fileURLWithPath: "/usr/bin/chattr")
        chattr.arguments = ["+i", folder]
        try? chattr.run()
        chattr.waitUntilExit()
        if canCreateFile(in: folder) {
            unlockFolder(folder)
            throw XCTSkip("cannot make \(folder) unwritable here (running as root without chattr support)")
        }
    }

    private func unlockFolder(_ folder: String) {
        let chattr = Process()
        chattr.executableURL = URL(fileURLWithPath: "/usr/bin/chattr")
        chattr.arguments = ["-i", folder]
        try? chattr.run()
        chattr.waitUntilExit()
        chmod(folder, 0o755)
    }

    private func canCreateFile(in folder: String) -> Bool {
        let probe = folder + "/.probe"
        let descriptor = open(probe, O_WRONLY | O_CREAT | O_EXCL, 0o644)
        guard descriptor >= 0 else { return false }
        close(descriptor)
        unlink(probe)
        return true
    }
}

// MARK: - Checkpoints

final class CheckpointTests: XCTestCase {
    /// A two-layer stand-in for a model: a conv weight and bias, and a BatchNorm-like buffer.
    private struct TinyModel: ParameterContainer {
        let weight: Parameter
        let bias = Parameter(Tensor(shape: [2], scalars: [0, 0]))
        let runningMean = Parameter(Tensor(shape: [2], scalars: [0, 0]))
        var extraParameters: [(String, Parameter)] = []

        init(kernel: Int = 3, fill: Float = 0) {
            weight = Parameter(Tensor(repeating: fill, shape: [2, 1, kernel, kernel]))
        }

        var namedParameters: [(String, Parameter)] { [("conv1.weight", weight), ("conv1.bias", bias)] + extraParameters }
        var namedBuffers: [(String, Parameter)] { [("bn.running_mean", runningMean)] }
    }

    private var folder: String!

    override func setUpWithError() throws {
        folder = NSTemporaryDirectory() + "checkpoint-tests-\(getpid())-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: folder)
    }

    private func savedModel(kind: String = "classifier") throws -> (path: String, model: TinyModel) {
        var rng = SeededGenerator(seed: 11)
        let model = TinyModel()
        model.weight.value = Tensor.randomNormal([2, 1, 3, 3], using: &rng)
        model.bias.value = Tensor(shape: [2], scalars: [0.1, -0.2])
        model.runningMean.value = Tensor(shape: [2], scalars: [3, 4])
        let path = folder + "/\(kind).safetensors"
        try Checkpoint.save(
            model, extraTensors: [("adam.m.conv1.bias", Tensor(shape: [2], scalars: [7, 8]))],
            integerTensors: [("rng", IntegerTensor(unsigned: rng.stateWords)), ("step", IntegerTensor(signed: [42]))],
            metadata: [
                Checkpoint.MetadataKey.kind: kind, Checkpoint.MetadataKey.epoch: "2",
                Checkpoint.MetadataKey.createdBy: "advlab train classifier --seed 11",
            ],
            to: path)
        return (path, model)
    }

    func testSaveThenLoadRestoresParametersBuffersAndState() throws {
        let (path, saved) = try savedModel()
        let restored = TinyModel(fill: 9)
        restored.bias.gradient = Tensor(shape: [2], scalars: [5, 5])
        let file = try Checkpoint.load(path: path, into: restored, expectedKind: "classifier")

        for ((name, expected), (_, actual)) in zip(saved.namedState(), restored.namedState()) {
            XCTAssertEqual(actual.value, expected.value, name)
            XCTAssertEqual(actual.gradient, Tensor.zeros(like: expected.value), "\(name) gradient cleared")
        }
        XCTAssertEqual(try file.tensor("adam.m.conv1.bias", expectedShape: [2]).scalars, [7, 8])
        XCTAssertEqual(try file.integerTensor("step").signedValues, [42])
        XCTAssertEqual(file.metadata[Checkpoint.MetadataKey.epoch], "2")

        // The saved RNG state continues the stream exactly where the saving run stopped.
        var original = SeededGenerator(seed: 11)
        _ = Tensor.randomNormal([2, 1, 3, 3], using: &original)
        var resumed = try XCTUnwrap(SeededGenerator(stateWords: file.integerTensor("rng", expectedCount: 4).words))
        XCTAssertEqual((0..<5).map { _ in resumed.next() }, (0..<5).map { _ in original.next() })
    }

    func testLoadRejectsAnotherKind() throws {
        let (path, _) = try savedModel(kind: "acgan")
        XCTAssertThrowsError(try Checkpoint.load(path: path, into: TinyModel(), expectedKind: "classifier")) { error in
            XCTAssertEqual("\(error)", "\(path): is a acgan checkpoint, expected classifier")
        }
    }

    func testLoadRejectsFileWithoutKind() throws {
        let path = folder + "/plain.safetensors"
        try Safetensors.write(tensors: TinyModel().namedState().map { ($0.0, $0.1.value) }, metadata: ["format": "pt"], to: path)
        XCTAssertThrowsError(try Checkpoint.load(path: path, into: TinyModel(), expectedKind: "triplet")) { error in
            XCTAssertEqual("\(error)", "\(path): has no kind in __metadata__, expected a triplet checkpoint")
        }
        XCTAssertThrowsError(try Checkpoint.kind(path: path)) { error in
            XCTAssertTrue("\(error)".hasPrefix("\(path): has no kind"), "\(error)")
        }
    }

    func testLoadRejectsMissingTensorAndChangesNothing() throws {
        let (path, _) = try savedModel()
        var model = TinyModel(fill: 9)
        model.extraParameters = [("fc.weight", Parameter(Tensor.zeros([10, 4])))]
        XCTAssertThrowsError(try Checkpoint.load(path: path, into: model, expectedKind: "classifier")) { error in
            XCTAssertEqual("\(error)", "\(path): missing tensor fc.weight")
        }
        XCTAssertEqual(model.weight.value, Tensor(repeating: 9, shape: [2, 1, 3, 3]), "a failed load must not change the model")
    }

    func testLoadRejectsWrongShape() throws {
        let (path, _) = try savedModel()
        let model = TinyModel(kernel: 5)
        XCTAssertThrowsError(try Checkpoint.load(path: path, into: model, expectedKind: "classifier")) { error in
            XCTAssertEqual("\(error)", "\(path): tensor conv1.weight has shape [2,1,3,3], the model expects [2,1,5,5]")
        }
    }

    func testLoadRejectsIntegerTensorWhereAParameterBelongs() throws {
        let (path, _) = try savedModel()
        var model = TinyModel()
        model.extraParameters = [("step", Parameter(Tensor.zeros([1])))]
        XCTAssertThrowsError(try Checkpoint.load(path: path, into: model, expectedKind: "classifier")) { error in
            XCTAssertEqual("\(error)", "\(path): tensor step has dtype I64, expected a floating-point dtype")
        }
    }

    func testSaveRequiresKind() {
        let path = folder + "/nokind.safetensors"
        XCTAssertThrowsError(try Checkpoint.save(TinyModel(), metadata: ["epoch": "1"], to: path)) { error in
            XCTAssertEqual("\(error)", "\(path): metadata has no kind; a checkpoint must say what it holds")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: path))
    }

    func testReadMetadataDispatchesOnKindWithoutLoading() throws {
        let (path, _) = try savedModel(kind: "triplet")
        XCTAssertEqual(try Checkpoint.kind(path: path), "triplet")
        let metadata = try Checkpoint.readMetadata(path: path)
        XCTAssertEqual(metadata[Checkpoint.MetadataKey.createdBy], "advlab train classifier --seed 11")
        XCTAssertEqual(metadata[Checkpoint.MetadataKey.epoch], "2")
    }
}

// MARK: - Byte helpers

/// A safetensors file from a literal header and data section.
private func fileBytes(json: String, data: [UInt8]) -> [UInt8] {
    lengthField(UInt64(json.utf8.count)) + Array(json.utf8) + data
}

private func lengthField(_ length: UInt64) -> [UInt8] {
    (0..<8).map { UInt8(truncatingIfNeeded: length >> (8 * $0)) }
}

private func floatBytes(_ values: [Float]) -> [UInt8] {
    values.flatMap { value in (0..<4).map { UInt8(truncatingIfNeeded: value.bitPattern >> (8 * $0)) } }
}

private func bytesFromHex(_ hex: String) -> [UInt8]? {
    let digits = Array(hex.utf8)
    guard digits.count % 2 == 0 else { return nil }
    var bytes: [UInt8] = []
    for index in stride(from: 0, to: digits.count, by: 2) {
        guard let byte = UInt8(String(decoding: digits[index...index + 1], as: UTF8.self), radix: 16) else { return nil }
        bytes.append(byte)
    }
    return bytes
}
