import AdvTensor
import Foundation

/// Structural similarity (Wang, Bovik, Sheikh & Simoncelli 2004, "Image Quality Assessment:
/// From Error Visibility to Structural Similarity") with the paper's settings: an 11×11
/// Gaussian window (σ = 1.5), K1 = 0.01, K2 = 0.03, data range 1, population (not sample)
/// covariances, averaged over the positions where the whole window lies inside the image.
/// This is what `skimage.metrics.structural_similarity(x, y, data_range=1,
/// gaussian_weights=True, sigma=1.5, use_sample_covariance=False)` computes.
public enum SSIM {
    public static let radius = 5
    public static let sigma = 1.5

    /// Normalised 1-D Gaussian weights, 2·radius + 1 of them (the window is their outer product).
    public static let weights: [Double] = {
        let raw = (-radius...radius).map { exp(-Double($0 * $0) / (2 * sigma * sigma)) }
        let total = raw.reduce(0, +)
        return raw.map { $0 / total }
    }()

    /// Mean SSIM of one pair of images. x, y: height·width values in [0, 1], row-major.
    public static func similarity(_ x: UnsafeBufferPointer<Float>, _ y: UnsafeBufferPointer<Float>, height: Int, width: Int) -> Double {
        precondition(x.count == height * width && y.count == height * width, "SSIM: both images need height·width values")
        let window = 2 * radius + 1
        precondition(height >= window && width >= window, "SSIM: images must be at least \(window)×\(window)")
        let c1 = 0.01 * 0.01
        let c2 = 0.03 * 0.03
        // Separable filtering: first along rows (valid positions only), then along columns.
        let outWidth = width - window + 1
        let outHeight = height - window + 1
        var rows = [[Double]](repeating: [Double](repeating: 0, count: outWidth * height), count: 5)
        for r in 0..<height {
            for c in 0..<outWidth {
                var sums = (0.0, 0.0, 0.0, 0.0, 0.0)
                for k in 0..<window {
                    let a = Double(x[r * width + c + k])
                    let b = Double(y[r * width + c + k])
                    let w = weights[k]
                    sums.0 += w * a
                    sums.1 += w * b
                    sums.2 += w * a * a
                    sums.3 += w * b * b
                    sums.4 += w * a * b
                }
                let i = r * outWidth + c
                rows[0][i] = sums.0
                rows[1][i] = sums.1
                rows[2][i] = sums.2
                rows[3][i] = sums.3
                rows[4][i] = sums.4
            }
        }
        var total = 0.0
        for r in 0..<outHeight {
            for c in 0..<outWidth {
                var m = [Double](repeating: 0, count: 5)
                for k in 0..<window {
                    let w = weights[k]
                    let i = (r + k) * outWidth + c
                    for channel in 0..<5 { m[channel] += w * rows[channel][i] }
                }
                let muX = m[0]
                let muY = m[1]
                let varX = m[2] - muX * muX
                let varY = m[3] - muY * muY
                let covXY = m[4] - muX * muY
                total += ((2 * muX * muY + c1) * (2 * covXY + c2)) / ((muX * muX + muY * muY + c1) * (varX + varY + c2))
            }
        }
        return total / Double(outHeight * outWidth)
    }

    /// Mean SSIM of each pair of rows. x, y: [N, 1, H, W] -> N values
    public static func similarities(_ x: Tensor, _ y: Tensor) -> [Double] {
        precondition(x.shape == y.shape && x.shape.count == 4 && x.shape[1] == 1, "SSIM: two [N, 1, H, W] tensors of one shape")
        let n = x.shape[0]
        let height = x.shape[2]
        let width = x.shape[3]
        let f = height * width
        var result = [Double](repeating: 0, count: n)
        x.scalars.withUnsafeBufferPointer { xs in
            y.scalars.withUnsafeBufferPointer { ys in
                result.withUnsafeMutableBufferPointer { out in
                    let base = out.baseAddress!
                    Parallel.forEachChunk(n, minimumChunk: 64) { range in
                        for i in range {
                            base[i] = similarity(
                                UnsafeBufferPointer(rebasing: xs[(i * f)..<((i + 1) * f)]),
                                UnsafeBufferPointer(rebasing: ys[(i * f)..<((i + 1) * f)]), height: height, width: width)
                        }
                    }
                }
            }
        }
        return result
    }
}
