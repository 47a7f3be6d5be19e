import Foundation
import XCTest

@testable import AdvTensor

/// `Parallel.forEachLane`: every index once, each on a lane that runs single-threaded (the lab's
/// loops inline, OpenMP at one thread, convolution plans of its own), and the calling thread's
/// state as it was afterwards.
final class ParallelLaneTests: XCTestCase {
    func testEveryIndexRunsOnceInALane() {
        for (count, lanes) in [(0, 2), (1, 2), (7, 1), (7, 2), (13, 4), (3, 8)] {
            var visits = [Int](repeating: 0, count: count)
            var lanesSeen = [Int](repeating: -1, count: count)
            visits.withUnsafeMutableBufferPointer { v in
                lanesSeen.withUnsafeMutableBufferPointer { l in
                    Parallel.forEachLane(count, lanes: lanes) { i in
                        v[i] += 1
                        l[i] = Parallel.currentLane
                    }
                }
            }
            XCTAssertEqual(visits, [Int](repeating: 1, count: count), "count \(count), lanes \(lanes)")
            let workers = min(lanes, count)
            for lane in lanesSeen {
                // One worker runs inline on the calling thread (lane 0); several get lanes 1…workers.
                if workers <= 1 { XCTAssertEqual(lane, 0) } else { XCTAssertTrue((1...workers).contains(lane), "lane \(lane)") }
            }
        }
        XCTAssertEqual(Parallel.currentLane, 0, "the calling thread is no lane afterwards")
    }

    func testALaneIsSingleThreaded() {
        let outside = OpenMP.maxThreads()
        XCTAssertGreaterThan(outside, 0, "libgomp's omp_get_max_threads was not found: lanes would run oneDNN on every core each")
        var inside = [Int](repeating: -1, count: 6)
        var chunks = [Int](repeating: 0, count: 6)
        var nested = [Int](repeating: -1, count: 6)
        inside.withUnsafeMutableBufferPointer { t in
            chunks.withUnsafeMutableBufferPointer { c in
                nested.withUnsafeMutableBufferPointer { n in
                    Parallel.forEachLane(6, lanes: 2) { i in
                        t[i] = OpenMP.maxThreads()
                        Parallel.forEachChunk(1 << 20, minimumChunk: 1) { _ in c[i] += 1 }
                        let lane = Parallel.currentLane
                        Parallel.forEachLane(3, lanes: 2) { _ in if Parallel.currentLane != lane { n[i] = Parallel.currentLane } }
                        if n[i] == -1 { n[i] = lane }
                    }
                }
            }
        }
        XCTAssertEqual(inside, [Int](repeating: 1, count: 6), "OpenMP threads inside a lane")
        XCTAssertEqual(chunks, [Int](repeating: 1, count: 6), "forEachChunk splits nothing inside a lane")
        XCTAssertTrue(nested.allSatisfy { (1...2).contains($0) }, "a lane inside a lane runs on the same lane: \(nested)")
        XCTAssertEqual(OpenMP.maxThreads(), outside, "the calling thread's OpenMP threads are restored")
    }

    func testLanesKeyTheirOwnConvolutionPlans() {
        let problem = ConvolutionProblem(
            batch: 2, outputChannels: 8, geometry: ConvGeometry(channels: 8, height: 5, width: 5, kernelHeight: 3, kernelWidth: 3))
        XCTAssertEqual(DNNLConvolutionKey(problem: problem, kind: .forward).lane, 0)
        var keyLanes = [(key: Int, lane: Int)](repeating: (0, 0), count: 4)
        keyLanes.withUnsafeMutableBufferPointer { k in
            Parallel.forEachLane(4, lanes: 2) { i in
                k[i] = (DNNLConvolutionKey(problem: problem, kind: .forward).lane, Parallel.currentLane)
            }
        }
        for (key, lane) in keyLanes {
            XCTAssertNotEqual(lane, 0)
            XCTAssertEqual(key, lane, "a key made in a lane names that lane")
        }
    }
}
