import AdvTensor

/// A trainable tensor and the gradient accumulated into it by pullbacks.
///
/// Parameters are reference types so that a pullback closure can add into `gradient` without
/// threading a gradient store through every call; the optimizer reads and clears them.
public final class Parameter {
    public var value: Tensor
    public var gradient: Tensor

    public init(_ value: Tensor) {
        self.value = value
        self.gradient = Tensor.zeros(like: value)
    }

    public func zeroGradient() {
        gradient.scalars.withUnsafeMutableBufferPointer { $0.update(repeating: 0) }
    }
}

/// How a forward pass behaves: training mode uses batch statistics and dropout; evaluation mode
/// uses running statistics. `parameterGradients` off skips the weight-gradient products, which
/// attacks (that only need ∂loss/∂input) do not use. `inputGradient` off lets the layers that
/// own a product for ∂input (`Conv2d`, `ConvTranspose2d`, `Linear`) skip it, for a training step
/// that discards the gradient of its images: their pullback then returns an empty tensor
/// (shape `[0]`). A model passes such a mode to its first layer only and
/// `mode.needingInputGradient` to every later one, whose ∂input the layers before it consume.
public struct ForwardMode: Sendable, Equatable {
    public var training: Bool
    public var parameterGradients: Bool
    public var inputGradient: Bool
    /// Training mode only: the running statistics of every BatchNorm become the plain mean of
    /// the batch statistics seen so far, this pass being the n-th (n = 1 replaces them), instead
    /// of a momentum average. Passes 1…K then leave the mean over K batches: the "standing
    /// statistics" of a network whose weights did not produce the running ones (an averaged
    /// generator, Brock et al. 2019).
    public var cumulativeStatisticsPass: Int?

    public init(training: Bool, parameterGradients: Bool, inputGradient: Bool = true, cumulativeStatisticsPass: Int? = nil) {
        precondition(cumulativeStatisticsPass.map { $0 >= 1 } ?? true, "cumulativeStatisticsPass counts from 1")
        self.training = training
        self.parameterGradients = parameterGradients
        self.inputGradient = inputGradient
        self.cumulativeStatisticsPass = cumulativeStatisticsPass
    }

    /// Training step: batch statistics, dropout on, parameter gradients accumulated.
    public static let train = ForwardMode(training: true, parameterGradients: true)
    /// A training step whose caller discards ∂images (a classifier's or discriminator's update):
    /// as `.train`, without the first layer's input-gradient product.
    public static let trainParametersOnly = ForwardMode(training: true, parameterGradients: true, inputGradient: false)
    /// Inference and attacks: running statistics, no dropout, input gradients only.
    public static let eval = ForwardMode(training: false, parameterGradients: false)

    /// The same mode with the input gradient on: what a model hands its layers after the first.
    public var needingInputGradient: ForwardMode {
        var mode = self
        mode.inputGradient = true
        return mode
    }
}

/// What a pullback returns for ∂input when its mode's `inputGradient` is off.
let skippedInputGradient = Tensor(shape: [0], scalars: [])

/// Maps ∂loss/∂output to ∂loss/∂input, adding parameter gradients into the layer's `Parameter`s.
public typealias Pullback = (Tensor) -> Tensor

/// Anything that owns named parameters and buffers (running statistics): layers and models.
/// Names are dotted paths (`conv1.weight`), the keys of the safetensors checkpoint.
public protocol ParameterContainer {
    /// Trainable parameters with their names, in a fixed order.
    var namedParameters: [(String, Parameter)] { get }
    /// Non-trainable state saved in checkpoints (BatchNorm running mean/variance).
    var namedBuffers: [(String, Parameter)] { get }
}

extension ParameterContainer {
    public var namedBuffers: [(String, Parameter)] { [] }
    public var parameters: [Parameter] { namedParameters.map(\.1) }

    /// Parameters then buffers, each name prefixed by `prefix.`.
    public func namedState(prefix: String = "") -> [(String, Parameter)] {
        let p = prefix.isEmpty ? "" : prefix + "."
        return (namedParameters + namedBuffers).map { (p + $0.0, $0.1) }
    }

    public func zeroGradients() { for p in parameters { p.zeroGradient() } }

    /// Number of trainable scalars.
    public var parameterCount: Int { parameters.reduce(0) { $0 + $1.value.count } }
}

/// Prefixes the names of a sub-container's parameters (`prefix.name`).
public func prefixed(_ prefix: String, _ items: [(String, Parameter)]) -> [(String, Parameter)] {
    items.map { (prefix + "." + $0.0, $0.1) }
}
