import AdvTensor
import XCTest

/// Asserts `|actual − expected| ≤ atol + rtol·|expected|` elementwise and, on failure, prints
/// the shape and the first few mismatches (index, actual, expected) rather than the whole tensor.
public func assertClose(
    _ actual: Tensor, _ expected: Tensor, rtol: Float = 1e-5, atol: Float = 1e-6,
    _ message: @autoclosure () -> String = "", file: StaticString = #filePath, line: UInt = #line
) {
    guard actual.shape == expected.shape else {
        XCTFail("shape \(actual.shape) != \(expected.shape) \(message())", file: file, line: line)
        return
    }
    assertClose(actual.scalars, expected.scalars, rtol: rtol, atol: atol, message(), file: file, line: line)
}

/// Array form of `assertClose` for tensors.
public func assertClose(
    _ actual: [Float], _ expected: [Float], rtol: Float = 1e-5, atol: Float = 1e-6,
    _ message: @autoclosure () -> String = "", file: StaticString = #filePath, line: UInt = #line
) {
    guard actual.count == expected.count else {
        XCTFail("count \(actual.count) != \(expected.count) \(message())", file: file, line: line)
        return
    }
    var mismatches: [String] = []
    var worst: Float = 0
    for i in actual.indices {
        let diff = abs(actual[i] - expected[i])
        let allowed = atol + rtol * abs(expected[i])
        if !(diff <= allowed) {
            worst = max(worst, diff)
            if mismatches.count < 5 { mismatches.append("[\(i)] \(actual[i]) vs \(expected[i])") }
        }
    }
    if !mismatches.isEmpty {
        XCTFail(
            "\(mismatches.count)+ mismatches (worst |diff| \(worst), rtol \(rtol), atol \(atol)): "
                + mismatches.joined(separator: ", ") + " \(message())", file: file, line: line)
    }
}
