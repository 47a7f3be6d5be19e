import AdvData
import XCTest

final class SHA256Tests: XCTestCase {
    func testKnownVectors() throws {
        // FIPS 180-2 examples.
        XCTAssertEqual(try SHA256.hexDigest([UInt8]()), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        XCTAssertEqual(try SHA256.hexDigest("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        XCTAssertEqual(
            try SHA256.hexDigest("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
    }

    func testMillionAs() throws {
        XCTAssertEqual(
            try SHA256.hexDigest([UInt8](repeating: UInt8(ascii: "a"), count: 1_000_000)),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    func testMNISTDatasetHashIsTheDigestOfTheFourPublishedDigests() throws {
        let order = ["train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"]
        let concatenated = try order.map { name -> String in
            try XCTUnwrap(MNIST.expectedSHA256[name], name)
        }.joined()
        XCTAssertEqual(MNIST.expectedSHA256.count, 4)
        XCTAssertEqual(try SHA256.hexDigest(concatenated), MNIST.datasetHash)
    }
}
