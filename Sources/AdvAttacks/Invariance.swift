import AdvTensor

/// Invariance (label-changing) examples after Tramèr, Behrmann, Carlini, Papernot & Jacobsen,
/// "Fundamental Tradeoffs between Invariance and Sensitivity to Adversarial Perturbations"
/// (ICML 2020): every pixel of x moves toward a target image x̂ of another class (there, the
/// nearest training image of another class, possibly shifted) as far as the L∞ budget allows,
///
///     x' = clip(x + clip(x̂ − x, −ε, ε), 0, 1).
///
/// A model that keeps x's label on x' is *invariant* to a change that may well have changed the
/// true class; the paper's human study relabelled 21 % (ε 0.3) and 37 % (ε 0.4) of its examples.
/// (The paper also aligns x̂ and keeps only some pixels; this is the plain per-pixel move.)
/// images01, targets01: [N, 1, 28, 28] in [0, 1] -> [N, 1, 28, 28], ‖x' − x‖∞ ≤ ε
public func invarianceImages(images01: Tensor, targets01: Tensor, eps: Float) -> Tensor {
    precondition(images01.shape == targets01.shape, "invariance: \(images01.shape) vs \(targets01.shape)")
    precondition(eps >= 0, "invariance: ε \(eps) < 0")
    return images01.zipMap(targets01) { x, target in min(max(x + min(max(target - x, -eps), eps), 0), 1) }
}

/// One image shifted by (dx, dy) pixels (positive: right, down), zero-filled where it enters.
/// images: [N, C, H, W] -> [N, C, H, W]
public func shiftedImages(_ images: Tensor, dx: Int, dy: Int) -> Tensor {
    precondition(images.rank == 4, "shiftedImages: expected [N, C, H, W], got \(images.shape)")
    if dx == 0 && dy == 0 { return images }
    let h = images.shape[2]
    let w = images.shape[3]
    let planes = images.shape[0] * images.shape[1]
    return Tensor(shape: images.shape) { out in
        images.scalars.withUnsafeBufferPointer { source in
            for plane in 0..<planes {
                let base = plane * h * w
                for y in max(0, dy)..<min(h, h + dy) {
                    let sourceRow = base + (y - dy) * w
                    let row = base + y * w
                    for x in max(0, dx)..<min(w, w + dx) { out[row + x] = source[sourceRow + x - dx] }
                }
            }
        }
    }
}

/// The shifts of `shiftedImages` within ±`maxShift` pixels in each direction, (0, 0) first.
public func shiftGrid(maxShift: Int) -> [(dx: Int, dy: Int)] {
    precondition(maxShift >= 0, "shiftGrid: maxShift \(maxShift) < 0")
    var shifts: [(dx: Int, dy: Int)] = [(0, 0)]
    for dy in -maxShift...maxShift { for dx in -maxShift...maxShift where dx != 0 || dy != 0 { shifts.append((dx, dy)) } }
    return shifts
}
