// libFuzzer target for the safetensors reader (`AdvNN/Safetensors.swift`) and the checks that
// fit a file to a model (`AdvNN/Checkpoint.swift`): every input is decoded; a decoded file is
// checked for consistency and loaded into a small model state. Each step must succeed or throw
// a one-line `CheckpointError`; anything else (a crash, a sanitizer report, another error
// type) is a finding. See Scripts/fuzz.
import AdvNN
import AdvTensor
import Foundation
import FuzzSupport

let path = "fuzz.safetensors"

/// What the fuzzer loads decoded files into: the names and shapes of the seeds' tensors.
func modelState() -> [(String, Parameter)] {
    [("layer.weight", Parameter(Tensor.zeros([2, 3]))), ("layer.bias", Parameter(Tensor.zeros([2])))]
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSafetensors(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let isCheckpointError: (any Error) -> Bool = { ($0 as? CheckpointError)?.path == path }
    var decoded: SafetensorsFile?
    FuzzMain.expectTypedError("decode", isExpected: isCheckpointError) {
        decoded = try Safetensors.decode(UnsafeRawBufferPointer(start: data, count: size), path: path)
    }
    guard let file = decoded else { return 0 }

    // A decoded file must be self-consistent: every name once, every element present.
    guard Set(file.names).count == file.names.count,
          file.names.count == file.tensors.count + file.integerTensors.count else {
        FuzzMain.finding("decode: names \(file.names) do not match the tensors")
    }
    for (name, tensor) in file.tensors where tensor.count != tensor.shape.reduce(1, *) {
        FuzzMain.finding("decode: tensor \(name) has \(tensor.count) elements for shape \(tensor.shape)")
    }
    for (name, integers) in file.integerTensors where integers.words.count != integers.shape.reduce(1, *) {
        FuzzMain.finding("decode: integer tensor \(name) has \(integers.words.count) elements for shape \(integers.shape)")
    }
    for name in file.names {
        FuzzMain.expectTypedError("tensor \(name)", isExpected: isCheckpointError) { _ = try file.tensor(name, expectedShape: [2, 3]) }
        FuzzMain.expectTypedError("integer tensor \(name)", isExpected: isCheckpointError) { _ = try file.integerTensor(name, expectedCount: 4) }
    }

    // Loading into a model either takes every tensor or changes nothing.
    let state = modelState()
    var loaded = false
    FuzzMain.expectTypedError("load", isExpected: isCheckpointError) {
        try Checkpoint.load(file, into: state, expectedKind: "fuzz")
        loaded = true
    }
    if !loaded, state.contains(where: { $0.1.value.scalars.contains { $0 != 0 } }) {
        FuzzMain.finding("load: a failed load changed the model")
    }
    return 0
}

// MARK: Seeds

/// Valid and near-valid files written by the lab's own writer: libFuzzer mutates from these.
func seeds() throws -> [(name: String, bytes: [UInt8])] {
    let weight = Tensor(shape: [2, 3], scalars: [0.5, -1, 2, 0.25, 3, -0.125])
    let bias = Tensor(shape: [2], scalars: [1, -1])
    let metadata = ["kind": "fuzz", "epoch": "1"]
    let model = try Safetensors.encode(tensors: [("layer.weight", weight), ("layer.bias", bias)], metadata: metadata)
    let withState = try Safetensors.encode(
        tensors: [("layer.weight", weight), ("layer.bias", bias), ("optimizer.m", Tensor(shape: [0, 3], scalars: []))],
        integerTensors: [("rng_state", IntegerTensor(unsigned: [1, 2, 3, UInt64.max])), ("epoch", IntegerTensor(signed: [-3]))],
        metadata: metadata)
    // Every other dtype the reader converts, by hand (the writer stores F32, U64 and I64 only):
    // (name, dtype, shape, little-endian bytes), laid out in this order.
    let handWritten: [(String, String, [Int], [UInt8])] = [
        ("a", "F64", [1], [0, 0, 0, 0, 0, 0, 0xF0, 0x3F]),
        ("b", "F16", [2], [0x00, 0x3C, 0x00, 0x7C]),
        ("c", "BF16", [], [0x80, 0x3F]),
        ("d", "I8", [2], [0xFF, 0x01]),
        ("e", "U16", [1], [0xFF, 0xFF]),
        ("f", "I32", [1, 1], [0xFE, 0xFF, 0xFF, 0xFF]),
        ("g", "BOOL", [3], [0, 1, 1]),
    ]
    var entries: [String] = []
    var data: [UInt8] = []
    for (name, dtype, shape, bytes) in handWritten {
        let shapeText = shape.map(String.init).joined(separator: ",")
        entries.append("\"\(name)\":{\"dtype\":\"\(dtype)\",\"shape\":[\(shapeText)],\"data_offsets\":[\(data.count),\(data.count + bytes.count)]}")
        data += bytes
    }
    let mixed = Array(("{" + entries.joined(separator: ",") + "}").utf8)
    return [
        ("model.safetensors", model),
        ("with-state.safetensors", withState),
        ("empty.safetensors", try Safetensors.encode(tensors: [], metadata: [:])),
        ("dtypes.safetensors", littleEndian64(mixed.count) + mixed + data),
        ("wrong-kind.safetensors", try Safetensors.encode(tensors: [("layer.weight", weight)], metadata: ["kind": "acgan"])),
        ("truncated.safetensors", Array(model.dropLast(5))),
    ]
}

func littleEndian64(_ value: Int) -> [UInt8] { (0..<8).map { UInt8(truncatingIfNeeded: UInt64(value) >> (8 * UInt64($0))) } }

exit(FuzzMain.run(callback: { fuzzSafetensors($0, $1) }, seeds: seeds))
