import Foundation

/// The one seeded generator of the lab: xoshiro256** (Blackman & Vigna 2018), seeded through
/// SplitMix64 so that nearby seeds give unrelated streams. Its state is four words, saved in
/// checkpoints so a resumed run draws exactly the numbers an uninterrupted one would.
public struct SeededGenerator: RandomNumberGenerator, Sendable, Equatable {
    public private(set) var state: (UInt64, UInt64, UInt64, UInt64)

    public init(seed: UInt64) {
        var splitmix = seed
        func next() -> UInt64 {
            splitmix &+= 0x9E37_79B9_7F4A_7C15
            var z = splitmix
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        state = (next(), next(), next(), next())
    }

    /// Restores a generator from `stateWords` (as returned by `stateWords`).
    public init?(stateWords: [UInt64]) {
        guard stateWords.count == 4, stateWords.contains(where: { $0 != 0 }) else { return nil }
        state = (stateWords[0], stateWords[1], stateWords[2], stateWords[3])
    }

    public var stateWords: [UInt64] { [state.0, state.1, state.2, state.3] }

    public mutating func next() -> UInt64 {
        let result = rotl(state.1 &* 5, 7) &* 9
        let t = state.1 << 17
        state.2 ^= state.0
        state.3 ^= state.1
        state.1 ^= state.2
        state.0 ^= state.3
        state.2 ^= t
        state.3 = rotl(state.3, 45)
        return result
    }

    private func rotl(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }

    public static func == (a: SeededGenerator, b: SeededGenerator) -> Bool { a.stateWords == b.stateWords }
}

extension RandomNumberGenerator {
    /// Uniform in [0, 1) with 24 random bits.
    public mutating func nextUniform() -> Float { Float(next() >> 40) * (1.0 / 16_777_216.0) }

    /// Standard normal by Box–Muller (one value per call; simple and exactly reproducible).
    public mutating func nextNormal() -> Float {
        let u1 = max(Double(next() >> 11) * (1.0 / 9_007_199_254_740_992.0), 1e-300)
        let u2 = Double(next() >> 11) * (1.0 / 9_007_199_254_740_992.0)
        return Float((-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2))
    }
}

extension Tensor {
    /// Independent N(mean, std²) entries.
    public static func randomNormal(
        _ shape: [Int], mean: Float = 0, std: Float = 1,
        using rng: inout some RandomNumberGenerator
    ) -> Tensor {
        Tensor(shape: shape) { out in for i in out.indices { out[i] = mean + std * rng.nextNormal() } }
    }

    /// Independent U[low, high) entries.
    public static func randomUniform(
        _ shape: [Int], low: Float = 0, high: Float = 1,
        using rng: inout some RandomNumberGenerator
    ) -> Tensor {
        Tensor(shape: shape) { out in for i in out.indices { out[i] = low + (high - low) * rng.nextUniform() } }
    }
}

extension Array {
    /// Fisher–Yates shuffle driven by the lab's generator (the standard library's algorithm is
    /// not specified to be stable across releases, so reproducible runs use this one).
    public mutating func seededShuffle(using rng: inout some RandomNumberGenerator) {
        guard count > 1 else { return }
        for i in stride(from: count - 1, to: 0, by: -1) {
            let j = Int(rng.next() % UInt64(i + 1))
            swapAt(i, j)
        }
    }
}
