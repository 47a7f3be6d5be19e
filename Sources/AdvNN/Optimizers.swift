import AdvTensor
import Foundation

/// An optimizer updates named parameters from their accumulated gradients and can save and
/// restore its state (moments, step count) so a resumed run continues exactly.
public protocol Optimizer: AnyObject {
    /// Applies one update from the current gradients (it does not clear them).
    func step()
    /// Optimizer state as named tensors (prefixed by the parameter names) for checkpoints.
    var namedState: [(String, Tensor)] { get }
    /// Restores `namedState`; throws when a tensor is missing or has the wrong shape.
    func loadState(_ tensors: [String: Tensor]) throws
    var learningRate: Float { get set }
}

/// An optimizer checkpoint that does not match the model.
public struct OptimizerStateError: Error, CustomStringConvertible {
    public let description: String
}

/// Adam (Kingma & Ba 2015) with bias correction; `weightDecay` is the L2 term added to the
/// gradient (as PyTorch's `Adam(weight_decay:)`).
public final class Adam: Optimizer {
    public let parameters: [(String, Parameter)]
    public var learningRate: Float
    public let beta1: Float, beta2: Float, epsilon: Float, weightDecay: Float
    public private(set) var stepCount: Int = 0
    private var firstMoments: [Tensor]
    private var secondMoments: [Tensor]

    public init(
        _ parameters: [(String, Parameter)], learningRate: Float = 1e-3, beta1: Float = 0.9,
        beta2: Float = 0.999, epsilon: Float = 1e-8, weightDecay: Float = 0
    ) {
        self.parameters = parameters
        self.learningRate = learningRate
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.weightDecay = weightDecay
        firstMoments = parameters.map { Tensor.zeros(like: $0.1.value) }
        secondMoments = parameters.map { Tensor.zeros(like: $0.1.value) }
    }

    public func step() {
        stepCount += 1
        let correction1 = 1 - powf(beta1, Float(stepCount))
        let correction2 = 1 - powf(beta2, Float(stepCount))
        let stepSize = learningRate / correction1
        let (b1, b2, eps, decay) = (beta1, beta2, epsilon, weightDecay)
        for (index, (_, parameter)) in parameters.enumerated() {
            let n = parameter.value.count
            parameter.value.scalars.withUnsafeMutableBufferPointer { w in
                parameter.gradient.scalars.withUnsafeBufferPointer { g in
                    firstMoments[index].scalars.withUnsafeMutableBufferPointer { m in
                        secondMoments[index].scalars.withUnsafeMutableBufferPointer { v in
                            let wb = w.baseAddress!
                            let gb = g.baseAddress!
                            let mb = m.baseAddress!
                            let vb = v.baseAddress!
                            Parallel.forEachChunk(n, minimumChunk: 65_536) { range in
                                // Eight lanes at a time (the four buffers may alias as far as the
                                // compiler knows, so it does not vectorise the scalar loop itself);
                                // the same operations in the same order, so the result is identical.
                                var i = range.lowerBound
                                while i + 8 <= range.upperBound {
                                    let weight = UnsafeRawPointer(wb + i).loadUnaligned(as: SIMD8<Float>.self)
                                    let grad = UnsafeRawPointer(gb + i).loadUnaligned(as: SIMD8<Float>.self) + decay * weight
                                    let m = b1 * UnsafeRawPointer(mb + i).loadUnaligned(as: SIMD8<Float>.self) + (1 - b1) * grad
                                    let v = b2 * UnsafeRawPointer(vb + i).loadUnaligned(as: SIMD8<Float>.self) + (1 - b2) * grad * grad
                                    UnsafeMutableRawPointer(mb + i).storeBytes(of: m, as: SIMD8<Float>.self)
                                    UnsafeMutableRawPointer(vb + i).storeBytes(of: v, as: SIMD8<Float>.self)
                                    let updated = weight - stepSize * m / ((v / correction2).squareRoot() + eps)
                                    UnsafeMutableRawPointer(wb + i).storeBytes(of: updated, as: SIMD8<Float>.self)
                                    i += 8
                                }
                                while i < range.upperBound {
                                    let grad = gb[i] + decay * wb[i]
                                    mb[i] = b1 * mb[i] + (1 - b1) * grad
                                    vb[i] = b2 * vb[i] + (1 - b2) * grad * grad
                                    wb[i] -= stepSize * mb[i] / ((vb[i] / correction2).squareRoot() + eps)
                                    i += 1
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    public var namedState: [(String, Tensor)] {
        var state: [(String, Tensor)] = [("step", Tensor(shape: [1], scalars: [Float(stepCount)]))]
        for (index, (name, _)) in parameters.enumerated() {
            state.append(("exp_avg." + name, firstMoments[index]))
            state.append(("exp_avg_sq." + name, secondMoments[index]))
        }
        return state
    }

    public func loadState(_ tensors: [String: Tensor]) throws {
        guard let step = tensors["step"]?.scalars.first, step >= 0 else {
            throw OptimizerStateError(description: "optimizer state: missing step")
        }
        var first = firstMoments
        var second = secondMoments
        for (index, (name, parameter)) in parameters.enumerated() {
            guard let m = tensors["exp_avg." + name], let v = tensors["exp_avg_sq." + name] else {
                throw OptimizerStateError(description: "optimizer state: missing moments for \(name)")
            }
            guard m.shape == parameter.value.shape, v.shape == parameter.value.shape else {
                throw OptimizerStateError(
                    description: "optimizer state: moments for \(name) have shape \(m.shape), expected \(parameter.value.shape)")
            }
            first[index] = m
            second[index] = v
        }
        firstMoments = first
        secondMoments = second
        stepCount = Int(step)
    }
}

/// Stochastic gradient descent with (optionally Nesterov) momentum and L2 weight decay, as
/// PyTorch's `SGD`.
public final class SGD: Optimizer {
    public let parameters: [(String, Parameter)]
    public var learningRate: Float
    public let momentum: Float, weightDecay: Float, nesterov: Bool
    private var velocities: [Tensor]

    public init(
        _ parameters: [(String, Parameter)], learningRate: Float, momentum: Float = 0.9,
        weightDecay: Float = 0, nesterov: Bool = false
    ) {
        self.parameters = parameters
        self.learningRate = learningRate
        self.momentum = momentum
        self.weightDecay = weightDecay
        self.nesterov = nesterov
        velocities = parameters.map { Tensor.zeros(like: $0.1.value) }
    }

    public func step() {
        let (lr, mu, decay, nesterov) = (learningRate, momentum, weightDecay, self.nesterov)
        for (index, (_, parameter)) in parameters.enumerated() {
            parameter.value.scalars.withUnsafeMutableBufferPointer { w in
                parameter.gradient.scalars.withUnsafeBufferPointer { g in
                    velocities[index].scalars.withUnsafeMutableBufferPointer { v in
                        for i in w.indices {
                            let grad = g[i] + decay * w[i]
                            v[i] = mu * v[i] + grad
                            w[i] -= lr * (nesterov ? grad + mu * v[i] : v[i])
                        }
                    }
                }
            }
        }
    }

    public var namedState: [(String, Tensor)] {
        parameters.enumerated().map { index, item in ("momentum_buffer." + item.0, velocities[index]) }
    }

    public func loadState(_ tensors: [String: Tensor]) throws {
        var restored = velocities
        for (index, (name, parameter)) in parameters.enumerated() {
            guard let v = tensors["momentum_buffer." + name] else {
                throw OptimizerStateError(description: "optimizer state: missing momentum for \(name)")
            }
            guard v.shape == parameter.value.shape else {
                throw OptimizerStateError(
                    description: "optimizer state: momentum for \(name) has shape \(v.shape), expected \(parameter.value.shape)")
            }
            restored[index] = v
        }
        velocities = restored
    }
}

/// Adam for a batch of independent problems that stop one by one, as the latent search's
/// examples do (one z, and τ, per example): every tensor is [N, …] with one row per problem,
/// the rows share one step count, and a step updates the values and moments of the rows it is
/// given only, so a finished row keeps its value. `Adam` does not fit there: it updates every
/// element of its parameters, so the moments would keep moving a finished row. The update is
/// Adam's, written lr·(m/c1)/(√(v/c2)+ε) (per element the same as `Adam` up to rounding).
public struct RowAdam: Sendable {
    public var learningRate: Float
    public let beta1: Float, beta2: Float, epsilon: Float
    public private(set) var stepCount = 0
    private var firstMoments: [Tensor]
    private var secondMoments: [Tensor]

    /// Moments of zero for tensors shaped like `values`.
    public init(like values: [Tensor], learningRate: Float, beta1: Float = 0.9, beta2: Float = 0.999, epsilon: Float = 1e-8) {
        self.learningRate = learningRate
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        firstMoments = values.map { Tensor.zeros(like: $0) }
        secondMoments = values.map { Tensor.zeros(like: $0) }
    }

    /// One step: row `rows[i].value` of each of `values` moves along row `rows[i].gradient` of the
    /// matching gradient; the other rows are left alone. values[k]: [N, F], gradients[k]: [B, F]
    public mutating func step(_ values: inout [Tensor], gradients: [Tensor], rows: [(gradient: Int, value: Int)]) {
        precondition(
            values.count == firstMoments.count && gradients.count == values.count,
            "RowAdam: \(values.count) tensors, "
                + "\(gradients.count) gradients, \(firstMoments.count) moments")
        stepCount += 1
        let c1 = 1 - powf(beta1, Float(stepCount))
        let c2 = 1 - powf(beta2, Float(stepCount))
        for k in values.indices {
            let width = values[k].featureCount
            precondition(gradients[k].featureCount == width && firstMoments[k].shape == values[k].shape, "RowAdam: shape mismatch")
            for (gradientRow, row) in rows {
                for j in 0..<width {
                    let i = row * width + j
                    let g = gradients[k].scalars[gradientRow * width + j]
                    firstMoments[k].scalars[i] = beta1 * firstMoments[k].scalars[i] + (1 - beta1) * g
                    secondMoments[k].scalars[i] = beta2 * secondMoments[k].scalars[i] + (1 - beta2) * g * g
                    values[k].scalars[i] -=
                        learningRate * (firstMoments[k].scalars[i] / c1)
                        / ((secondMoments[k].scalars[i] / c2).squareRoot() + epsilon)
                }
            }
        }
    }
}
