// libFuzzer target for the ONNX importer (`AdvONNX`): every input is decoded as an ONNX model
// (swift-protobuf) and imported into the lab's layers. Each step must succeed or throw a
// one-line `ONNXError` naming the file; a model that imports must then run: logits [1, 10] and an
// input gradient [1, 1, 28, 28] for a zero image, without tripping a layer's precondition (the
// importer checks every shape so that the layers never see one they reject). Anything else (a
// crash, a sanitizer report, another error type) is a finding. See Scripts/fuzz.
import AdvNN
import AdvONNX
import AdvTensor
import Foundation
import FuzzSupport

let path = "fuzz.onnx"

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzONNX(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = data.map { Data(bytes: $0, count: size) } ?? Data()
    var imported: ONNXClassifier?
    FuzzMain.expectTypedError("import", isExpected: { ($0 as? ONNXError)?.path == path }) {
        imported = try ONNXClassifier(bytes: bytes, path: path)
    }
    guard let model = imported else { return 0 }
    let (logits, pullback) = model.logits(Tensor.zeros([1, 1, 28, 28]), mode: .eval)
    guard logits.shape == [1, 10] else { FuzzMain.finding("run: logits have shape \(logits.shape), expected [1, 10]") }
    let gradient = pullback(Tensor(repeating: 1, shape: [1, 10]))
    guard gradient.shape == [1, 1, 28, 28] else { FuzzMain.finding("run: input gradient has shape \(gradient.shape)") }
    return 0
}

exit(FuzzMain.run(callback: { fuzzONNX($0, $1) }, seeds: { ONNXSamples.files() }))
