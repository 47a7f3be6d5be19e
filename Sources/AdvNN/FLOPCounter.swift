import AdvTensor

/// The product work (2 FLOPs per multiply-add) of the layers that own one — `Linear`, `Conv2d`,
/// `ConvTranspose2d` — counted while `FLOPCounter.counting` runs its body: each forward pass adds
/// its product, and each pullback its weight-gradient product (when the mode asks for parameter
/// gradients) and its input-gradient product (when it asks for the input gradient). The bench
/// takes a workload's FLOPs from one counted run of it, so they follow the architectures as they
/// change, and count exactly the products that ran.
///
/// Counting is for one thread at a time (the bench); while nothing counts, a layer's only cost
/// is reading `isCounting`.
public enum FLOPCounter {
    nonisolated(unsafe) private static var total = 0.0
    nonisolated(unsafe) public private(set) static var isCounting = false

    /// The FLOPs of the products that `body` runs (including the pullbacks it calls).
    public static func counting(_ body: () throws -> Void) rethrows -> Double {
        precondition(!isCounting, "FLOPCounter.counting does not nest")
        total = 0
        isCounting = true
        defer { isCounting = false }
        try body()
        return total
    }

    /// A layer's forward result, counted: `forward` FLOPs now, and as many again for each of the
    /// weight-gradient and input-gradient products its pullback computes.
    static func counted(_ result: (Tensor, Pullback), forward: Double, mode: ForwardMode) -> (Tensor, Pullback) {
        guard isCounting else { return result }
        total += forward
        let (y, back) = result
        let products = Double((mode.parameterGradients ? 1 : 0) + (mode.inputGradient ? 1 : 0))
        return (
            y,
            { dy in
                if isCounting { total += forward * products }
                return back(dy)
            }
        )
    }
}
