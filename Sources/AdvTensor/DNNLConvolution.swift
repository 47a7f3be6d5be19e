import CDNNL
import Foundation

/// Which kernels `Conv2d` and `ConvTranspose2d` run.
public enum ConvolutionBackend: String, Sendable, CaseIterable {
    /// im2col / col2im + `gemm`: the plain path that the tests keep as the reference.
    case reference
    /// oneDNN's own convolution primitives (`DNNLConvolution`).
    case dnnl

    /// `ADVLAB_CONV=reference` selects the im2col path for the whole process; unset or any other
    /// value selects oneDNN.
    public static let `default`: ConvolutionBackend =
        ProcessInfo.processInfo.environment["ADVLAB_CONV"] == "reference" ? .reference : .dnnl
}

/// One 2-D convolution problem as oneDNN sees it: `input [N, C, H, W]` (C, H, W from
/// `geometry`), `weight [OC, C, KH, KW]`, `output [N, OC, OH, OW]` with `geometry`'s stride and
/// symmetric zero padding, cross-correlation as in PyTorch. All buffers are plain NCHW / OIHW.
public struct ConvolutionProblem: Hashable, Sendable {
    public var batch: Int
    public var outputChannels: Int
    public var channels: Int, height: Int, width: Int
    public var kernelHeight: Int, kernelWidth: Int
    public var stride: Int, padding: Int

    public init(batch: Int, outputChannels: Int, geometry g: ConvGeometry) {
        precondition(
            batch > 0 && outputChannels > 0 && g.channels > 0, "empty convolution: batch \(batch), \(g.channels)→\(outputChannels) channels"
        )
        precondition(g.stride > 0 && g.padding >= 0 && g.outputHeight > 0 && g.outputWidth > 0, "convolution geometry has no output: \(g)")
        self.batch = batch
        self.outputChannels = outputChannels
        channels = g.channels
        height = g.height
        width = g.width
        kernelHeight = g.kernelHeight
        kernelWidth = g.kernelWidth
        stride = g.stride
        padding = g.padding
    }

    public var geometry: ConvGeometry {
        ConvGeometry(
            channels: channels, height: height, width: width, kernelHeight: kernelHeight,
            kernelWidth: kernelWidth, stride: stride, padding: padding)
    }

    var inputDimensions: [Int] { [batch, channels, height, width] }
    var weightDimensions: [Int] { [outputChannels, channels, kernelHeight, kernelWidth] }
    var outputDimensions: [Int] { [batch, outputChannels, geometry.outputHeight, geometry.outputWidth] }
}

/// 2-D convolutions on oneDNN's convolution primitives (forward, backward-data,
/// backward-weights), the fast path beside the im2col + GEMM reference in `Im2col.swift`.
///
/// Primitives are built once per `ConvolutionProblem` and kind, then cached; each call wraps the
/// caller's plain buffers without copying them. Where oneDNN's fastest kernel wants blocked
/// layouts, the cached plan reorders into and out of its own buffers. Calls may come from any
/// thread; calls on the same problem and kind are serialised, except from different lanes of
/// `Parallel.forEachLane`, which have plans of their own. `ADVLAB_DNNL_LAYOUT=plain` keeps
/// every primitive on plain layouts (a diagnostic for comparing kernels).
///
/// A transposed convolution is the adjoint of a convolution, so `ConvTranspose2d` runs its
/// forward pass as `backwardData` and its input gradient as `forward` on the same weights
/// (its `[C_in, C_out, KH, KW]` weights are the `[OC, C, KH, KW]` weights of the adjoint
/// convolution).
public enum DNNLConvolution {
    /// `output = input ⊛ weight + bias` (bias optional). input: [N, C, H, W], weight: [OC, C, KH, KW],
    /// bias: [OC] -> output: [N, OC, OH, OW] (overwritten).
    public static func forward(
        _ problem: ConvolutionProblem, input: UnsafePointer<Float>, weight: UnsafePointer<Float>,
        bias: UnsafePointer<Float>?, output: UnsafeMutablePointer<Float>
    ) {
        let plan = DNNLConvolutionCache.shared.plan(.init(problem: problem, kind: bias == nil ? .forward : .forwardWithBias))
        var pointers: [Int32: UnsafeMutableRawPointer] = [
            dnnlArgumentSource: UnsafeMutableRawPointer(mutating: input),
            dnnlArgumentWeights: UnsafeMutableRawPointer(mutating: weight),
            dnnlArgumentDestination: UnsafeMutableRawPointer(output),
        ]
        if let bias { pointers[dnnlArgumentBias] = UnsafeMutableRawPointer(mutating: bias) }
        plan.execute(pointers)
    }

    /// The input gradient, the adjoint of `forward` without bias:
    /// outputGradient: [N, OC, OH, OW], weight: [OC, C, KH, KW] -> inputGradient: [N, C, H, W] (overwritten).
    public static func backwardData(
        _ problem: ConvolutionProblem, outputGradient: UnsafePointer<Float>,
        weight: UnsafePointer<Float>, inputGradient: UnsafeMutablePointer<Float>
    ) {
        let plan = DNNLConvolutionCache.shared.plan(.init(problem: problem, kind: .backwardData))
        plan.execute([
            dnnlArgumentDifferenceDestination: UnsafeMutableRawPointer(mutating: outputGradient),
            dnnlArgumentWeights: UnsafeMutableRawPointer(mutating: weight),
            dnnlArgumentDifferenceSource: UnsafeMutableRawPointer(inputGradient),
        ])
    }

    /// Parameter gradients, **added** into the accumulators as pullbacks do:
    /// input: [N, C, H, W], outputGradient: [N, OC, OH, OW] -> weightGradient [OC, C, KH, KW] +=,
    /// biasGradient [OC] += (the sums of `outputGradient` per channel; skipped when nil).
    public static func backwardWeights(
        _ problem: ConvolutionProblem, input: UnsafePointer<Float>,
        outputGradient: UnsafePointer<Float>,
        weightGradient: UnsafeMutablePointer<Float>, biasGradient: UnsafeMutablePointer<Float>?
    ) {
        if problem.channels == 1 && !DNNLConvolutionPlan.forcesPlainLayouts {
            singleChannelBackwardWeights(
                problem, input: input, outputGradient: outputGradient,
                weightGradient: weightGradient, biasGradient: biasGradient)
            return
        }
        let plan = DNNLConvolutionCache.shared.plan(
            .init(problem: problem, kind: biasGradient == nil ? .backwardWeights : .backwardWeightsWithBias))
        var pointers: [Int32: UnsafeMutableRawPointer] = [
            dnnlArgumentSource: UnsafeMutableRawPointer(mutating: input),
            dnnlArgumentDifferenceDestination: UnsafeMutableRawPointer(mutating: outputGradient),
            dnnlArgumentDifferenceWeights: UnsafeMutableRawPointer(weightGradient),
        ]
        if let biasGradient { pointers[dnnlArgumentDifferenceBias] = UnsafeMutableRawPointer(biasGradient) }
        plan.execute(pointers)
    }

    /// `backwardWeights` for one input channel (the first layers: images in, or a transposed
    /// convolution's single output channel) as im2col + one GEMM over the whole batch,
    /// `∂W[OC, KH·KW] += ∂Y[OC, N·OH·OW] · columnsᵀ`. oneDNN 2.6 has no direct kernel for it on
    /// AVX2 that beats its per-image `gemm:jit` fallback (its blocked kernel pads the channel to
    /// 8 and ran slower still), and that fallback ran the MNIST CNN's first convolution at batch
    /// 128 at about a twentieth of GEMM speed on 2 cores (18 ms; 0.6 s when another job held a
    /// core). Here the batch is one long reduction that the GEMM splits across the cores.
    /// `ADVLAB_DNNL_LAYOUT=plain` (the diagnostic that shows oneDNN's own kernels) turns it off.
    /// input: [N, 1, H, W], outputGradient: [N, OC, OH, OW] -> weightGradient [OC, 1, KH, KW] +=,
    /// biasGradient [OC] += (skipped when nil).
    static func singleChannelBackwardWeights(
        _ problem: ConvolutionProblem, input: UnsafePointer<Float>,
        outputGradient: UnsafePointer<Float>,
        weightGradient: UnsafeMutablePointer<Float>, biasGradient: UnsafeMutablePointer<Float>?
    ) {
        precondition(problem.channels == 1, "singleChannelBackwardWeights needs one input channel, got \(problem.channels)")
        let g = problem.geometry
        let n = problem.batch
        let oc = problem.outputChannels
        let positions = g.outputHeight * g.outputWidth
        let columnCount = n * positions
        let columns = UnsafeMutablePointer<Float>.allocate(capacity: g.patchSize * columnCount)
        let transposed = UnsafeMutablePointer<Float>.allocate(capacity: oc * columnCount)  // ∂Y as [OC, N·P]
        defer {
            columns.deallocate()
            transposed.deallocate()
        }
        im2col(input, batch: n, geometry: g, columns: columns)
        swapLeadingAxes(outputGradient, n, oc, positions, into: transposed)
        gemm(
            transposeA: false, transposeB: true, m: oc, n: g.patchSize, k: columnCount,
            a: transposed, lda: columnCount, b: columns, ldb: columnCount, beta: 1, c: weightGradient, ldc: g.patchSize)
        if let biasGradient {
            Parallel.forEachChunk(oc, minimumChunk: max(1, 65_536 / max(1, columnCount))) { channels in
                for channel in channels {
                    let row = transposed + channel * columnCount
                    var total: Float = 0
                    for i in 0..<columnCount { total += row[i] }
                    biasGradient[channel] += total
                }
            }
        }
    }

    /// oneDNN's name for the kernel each kind of primitive uses on this CPU for `problem`
    /// (e.g. `jit:avx2`, `gemm:jit`, `ref:any`), keyed `forward`, `backwardData`, `backwardWeights`.
    public static func implementationNames(_ problem: ConvolutionProblem) -> [String: String] {
        var names: [String: String] = [:]
        for kind in [DNNLConvolutionKey.Kind.forwardWithBias, .backwardData, .backwardWeightsWithBias] {
            names[kind.familyName] = DNNLConvolutionCache.shared.plan(.init(problem: problem, kind: kind)).implementationName
        }
        if problem.channels == 1 && !DNNLConvolutionPlan.forcesPlainLayouts {
            names["backwardWeights"] = "im2col+sgemm (singleChannelBackwardWeights)"
        }
        return names
    }
}

/// `DNNL_MEMORY_ALLOCATE`: asks `dnnl_memory_create` to allocate the buffer itself.
let dnnlMemoryAllocate = UnsafeMutableRawPointer(bitPattern: -1)

// Execution-argument indices of <dnnl_types.h> (DNNL_ARG_*), spelt out because the C macros that
// alias other macros do not all reach Swift.
let dnnlArgumentSource: Int32 = 1  // DNNL_ARG_SRC
let dnnlArgumentDestination: Int32 = 17  // DNNL_ARG_DST
let dnnlArgumentWeights: Int32 = 33  // DNNL_ARG_WEIGHTS
let dnnlArgumentBias: Int32 = 41  // DNNL_ARG_BIAS
let dnnlArgumentDifferenceSource: Int32 = 129  // DNNL_ARG_DIFF_SRC
let dnnlArgumentDifferenceDestination: Int32 = 145  // DNNL_ARG_DIFF_DST
let dnnlArgumentDifferenceWeights: Int32 = 161  // DNNL_ARG_DIFF_WEIGHTS
let dnnlArgumentDifferenceBias: Int32 = 169  // DNNL_ARG_DIFF_BIAS
let dnnlArgumentScratchpad: Int32 = 80  // DNNL_ARG_SCRATCHPAD

/// A cached primitive is identified by its problem, what it computes and the lane that runs it
/// (`Parallel.forEachLane`; 0 outside lanes): a plan runs one call at a time, so lanes working
/// side by side need their own, and a lane's plans are built with oneDNN on one thread.
struct DNNLConvolutionKey: Hashable {
    enum Kind: Hashable {
        case forward, forwardWithBias, backwardData, backwardWeights, backwardWeightsWithBias
        var familyName: String {
            switch self {
            case .forward, .forwardWithBias: "forward"
            case .backwardData: "backwardData"
            case .backwardWeights, .backwardWeightsWithBias: "backwardWeights"
            }
        }
    }
    var problem: ConvolutionProblem
    var kind: Kind
    var lane = Parallel.currentLane
}

/// Stops on a oneDNN error. Arguments are fixed by `ConvolutionProblem`'s checks, so a failure
/// here is an engine bug or an out-of-memory condition, not an input error.
@inline(__always)
func dnnlCheck(_ status: dnnl_status_t, _ what: @autoclosure () -> String) {
    precondition(status == dnnl_success, "oneDNN \(what()) failed with status \(status.rawValue)")
}

/// The CPU engine and the primitive plans built so far.
final class DNNLConvolutionCache: @unchecked Sendable {
    static let shared = DNNLConvolutionCache()

    let engine: dnnl_engine_t
    private var plans: [DNNLConvolutionKey: DNNLConvolutionPlan] = [:]
    private var cachedBytes = 0
    private let lock = NSLock()
    /// Plans keep their blocked copies and scratchpads between calls. Problems seen at many
    /// batch sizes (evaluation, ragged last batches) would grow that without bound, so past this
    /// many plans or bytes the cache starts over (plans still running stay alive until they return).
    private let capacity = 64
    private let byteCapacity = 512 << 20

    private init() {
        var engine: dnnl_engine_t?
        dnnlCheck(dnnl_engine_create(&engine, dnnl_cpu, 0), "engine creation")
        self.engine = engine.unsafelyUnwrapped  // non-nil after a successful status
    }

    func plan(_ key: DNNLConvolutionKey) -> DNNLConvolutionPlan {
        lock.lock()
        defer { lock.unlock() }
        if let plan = plans[key] { return plan }
        let plan = DNNLConvolutionPlan(key, engine: engine)
        if plans.count >= capacity || cachedBytes + plan.bytes > byteCapacity {
            plans.removeAll()
            cachedBytes = 0
        }
        plans[key] = plan
        cachedBytes += plan.bytes
        return plan
    }
}

/// One convolution primitive with its own stream and scratchpad, the memory objects that wrap
/// the caller's buffers and, for arguments whose layout the kernel chose differently from plain
/// NCHW / OIHW, an internal buffer and the reorder to or from it.
///
/// The scratchpad is the plan's own (`dnnl_scratchpad_mode_user`): oneDNN's shared library
/// scratchpad would tie each primitive to the thread that created it. A lock keeps one
/// execution at a time per plan.
final class DNNLConvolutionPlan {
    /// `ADVLAB_DNNL_LAYOUT=plain` forces plain layouts everywhere (for measurements).
    static let forcesPlainLayouts = ProcessInfo.processInfo.environment["ADVLAB_DNNL_LAYOUT"] == "plain"

    /// Whether oneDNN may pick blocked layouts (`dnnl_format_tag_any`, reordering around the
    /// kernel) rather than work on the plain buffers. Its direct kernels block channels by 8
    /// (AVX2) or 16 (AVX-512): with 32…128 channels on both sides they run near GEMM speed and
    /// the reorders cost little. A forward pass with few input channels has a kernel that reads
    /// them plain, but the backward passes pad a single input channel to a whole block and ran
    /// 4–5× slower than oneDNN's im2col-GEMM kernel on plain buffers (measured for the MNIST
    /// CNN's and the AC-GAN's first convolutions on an AVX2 machine).
    static func usesBlockedLayouts(_ key: DNNLConvolutionKey) -> Bool {
        if forcesPlainLayouts || key.problem.outputChannels % 8 != 0 { return false }
        switch key.kind {
        case .forward, .forwardWithBias: return true
        case .backwardData, .backwardWeights, .backwardWeightsWithBias: return key.problem.channels % 8 == 0
        }
    }

    /// One argument of the primitive as the caller passes it (`DNNL_ARG_*` index).
    private struct Argument {
        var index: Int32
        var user: dnnl_memory_t  // wraps the caller's plain buffer
        var kernel: dnnl_memory_t  // what the primitive reads or writes (== user when layouts agree)
        var reorder: Step?  // user → kernel for inputs, kernel → user for outputs
        var isOutput: Bool
        /// For gradients, which are added into the caller's buffer: the fresh result before it is added.
        var accumulator: UnsafeMutableBufferPointer<Float>?
    }

    /// A primitive and the scratchpad it runs with (nil when it needs none).
    private struct Step {
        var primitive: dnnl_primitive_t
        var scratchpad: dnnl_memory_t?
    }

    let implementationName: String
    /// Bytes this plan keeps allocated between calls (internal buffers and scratchpads).
    private(set) var bytes = 0
    private let stream: dnnl_stream_t
    private var convolution: Step
    private var arguments: [Argument] = []
    private var memories: [dnnl_memory_t] = []
    private let lock = NSLock()

    init(_ key: DNNLConvolutionKey, engine: dnnl_engine_t) {
        let p = key.problem
        var stream: dnnl_stream_t?
        dnnlCheck(dnnl_stream_create(&stream, engine, dnnl_stream_default_flags.rawValue), "stream creation")
        self.stream = stream.unsafelyUnwrapped
        var attributes: dnnl_primitive_attr_t?
        dnnlCheck(dnnl_primitive_attr_create(&attributes), "attribute creation")
        defer { dnnl_primitive_attr_destroy(attributes) }
        dnnlCheck(dnnl_primitive_attr_set_scratchpad_mode(attributes, dnnl_scratchpad_mode_user), "scratchpad mode")

        let blocked = Self.usesBlockedLayouts(key)
        let layoutTag = blocked ? dnnl_format_tag_any : dnnl_nchw
        let weightTag = blocked ? dnnl_format_tag_any : dnnl_oihw
        var inputDesc = memoryDescriptor(p.inputDimensions, layoutTag)
        var weightDesc = memoryDescriptor(p.weightDimensions, weightTag)
        var outputDesc = memoryDescriptor(p.outputDimensions, layoutTag)
        // The C functions take a null bias descriptor for "no bias".
        let biasDesc = UnsafeMutablePointer<dnnl_memory_desc_t>.allocate(capacity: 1)
        biasDesc.initialize(to: memoryDescriptor([p.outputChannels], dnnl_x))
        defer { biasDesc.deallocate() }
        let strides: [Int64] = [Int64(p.stride), Int64(p.stride)]
        // Symmetric padding: oneDNN checks (in + left + right − kernel) / stride + 1 == out with
        // integer division, the same rounding as `ConvGeometry`.
        let padding: [Int64] = [Int64(p.padding), Int64(p.padding)]
        let withBias = key.kind == .forwardWithBias || key.kind == .backwardWeightsWithBias
        let isForward = key.kind == .forward || key.kind == .forwardWithBias

        // The forward descriptor: the primitive itself or the hint the backward ones need.
        var forwardDesc = dnnl_convolution_desc_t()
        dnnlCheck(
            dnnl_convolution_forward_desc_init(
                &forwardDesc, isForward ? dnnl_forward_inference : dnnl_forward_training,
                dnnl_convolution_direct, &inputDesc, &weightDesc, withBias ? biasDesc : nil,
                &outputDesc, strides, padding, padding), "convolution forward descriptor for \(p)")
        var forwardPD: dnnl_primitive_desc_t?
        dnnlCheck(
            dnnl_primitive_desc_create(&forwardPD, &forwardDesc, isForward ? attributes : nil, engine, nil),
            "convolution forward primitive descriptor for \(p)")
        defer { dnnl_primitive_desc_destroy(forwardPD) }

        typealias Spec = (index: Int32, query: dnnl_query_t, dimensions: [Int], tag: dnnl_format_tag_t, isOutput: Bool, accumulates: Bool)
        var specs: [Spec]
        var backwardPD: dnnl_primitive_desc_t?
        defer { if backwardPD != nil { dnnl_primitive_desc_destroy(backwardPD) } }
        switch key.kind {
        case .forward, .forwardWithBias:
            specs = [
                (dnnlArgumentSource, dnnl_query_src_md, p.inputDimensions, dnnl_nchw, false, false),
                (dnnlArgumentWeights, dnnl_query_weights_md, p.weightDimensions, dnnl_oihw, false, false),
                (dnnlArgumentDestination, dnnl_query_dst_md, p.outputDimensions, dnnl_nchw, true, false),
            ]
            if withBias { specs.append((dnnlArgumentBias, dnnl_query_weights_md, [p.outputChannels], dnnl_x, false, false)) }
        case .backwardData:
            var desc = dnnl_convolution_desc_t()
            dnnlCheck(
                dnnl_convolution_backward_data_desc_init(
                    &desc, dnnl_convolution_direct, &inputDesc, &weightDesc, &outputDesc,
                    strides, padding, padding), "convolution backward-data descriptor for \(p)")
            dnnlCheck(
                dnnl_primitive_desc_create(&backwardPD, &desc, attributes, engine, forwardPD),
                "convolution backward-data primitive descriptor for \(p)")
            specs = [
                (dnnlArgumentDifferenceDestination, dnnl_query_diff_dst_md, p.outputDimensions, dnnl_nchw, false, false),
                (dnnlArgumentWeights, dnnl_query_weights_md, p.weightDimensions, dnnl_oihw, false, false),
                (dnnlArgumentDifferenceSource, dnnl_query_diff_src_md, p.inputDimensions, dnnl_nchw, true, false),
            ]
        case .backwardWeights, .backwardWeightsWithBias:
            var desc = dnnl_convolution_desc_t()
            dnnlCheck(
                dnnl_convolution_backward_weights_desc_init(
                    &desc, dnnl_convolution_direct, &inputDesc, &weightDesc, withBias ? biasDesc : nil,
                    &outputDesc, strides, padding, padding), "convolution backward-weights descriptor for \(p)")
            dnnlCheck(
                dnnl_primitive_desc_create(&backwardPD, &desc, attributes, engine, forwardPD),
                "convolution backward-weights primitive descriptor for \(p)")
            specs = [
                (dnnlArgumentSource, dnnl_query_src_md, p.inputDimensions, dnnl_nchw, false, false),
                (dnnlArgumentDifferenceDestination, dnnl_query_diff_dst_md, p.outputDimensions, dnnl_nchw, false, false),
                (dnnlArgumentDifferenceWeights, dnnl_query_diff_weights_md, p.weightDimensions, dnnl_oihw, true, true),
            ]
            if withBias { specs.append((dnnlArgumentDifferenceBias, dnnl_query_diff_weights_md, [p.outputChannels], dnnl_x, true, true)) }
        }
        let primitiveDesc = (backwardPD ?? forwardPD).unsafelyUnwrapped

        var name: UnsafePointer<CChar>?
        dnnlCheck(dnnl_primitive_desc_query(primitiveDesc, dnnl_query_impl_info_str, 0, &name), "implementation query")
        implementationName = name.map { String(cString: $0) } ?? "unknown"

        var memories: [dnnl_memory_t] = []
        var bytes = 0
        /// A memory object of `desc`, owned by the plan; `allocate` gives it its own buffer.
        func memory(_ desc: UnsafePointer<dnnl_memory_desc_t>, allocate: Bool) -> dnnl_memory_t {
            var memory: dnnl_memory_t?
            dnnlCheck(dnnl_memory_create(&memory, desc, engine, allocate ? dnnlMemoryAllocate : nil), "memory creation for \(p)")
            memories.append(memory.unsafelyUnwrapped)
            if allocate { bytes += dnnl_memory_desc_get_size(desc) }
            return memory.unsafelyUnwrapped
        }
        /// The primitive of `desc` with a scratchpad of the size it asks for.
        func step(_ desc: dnnl_primitive_desc_t) -> Step {
            var primitive: dnnl_primitive_t?
            dnnlCheck(dnnl_primitive_create(&primitive, desc), "primitive creation for \(p)")
            var scratchpad: dnnl_memory_t?
            if let scratchpadDesc = dnnl_primitive_desc_query_md(desc, dnnl_query_scratchpad_md, 0),
                dnnl_memory_desc_get_size(scratchpadDesc) > 0
            {
                scratchpad = memory(scratchpadDesc, allocate: true)
            }
            return Step(primitive: primitive.unsafelyUnwrapped, scratchpad: scratchpad)
        }

        convolution = step(primitiveDesc)
        for spec in specs {
            var userDesc = memoryDescriptor(spec.dimensions, spec.tag)
            // The bias is the second weights-like argument of its primitive.
            let queryIndex: Int32 = (spec.index == dnnlArgumentBias || spec.index == dnnlArgumentDifferenceBias) ? 1 : 0
            guard let kernelDescPointer = dnnl_primitive_desc_query_md(primitiveDesc, spec.query, queryIndex) else {
                preconditionFailure("oneDNN returned no memory descriptor for argument \(spec.index) of \(p)")
            }
            var kernelDesc = kernelDescPointer.pointee
            let user = memory(&userDesc, allocate: false)
            var argument = Argument(index: spec.index, user: user, kernel: user, reorder: nil, isOutput: spec.isOutput, accumulator: nil)
            if dnnl_memory_desc_equal(&userDesc, &kernelDesc) == 0 {
                argument.kernel = memory(&kernelDesc, allocate: true)
                var reorderPD: dnnl_primitive_desc_t?
                if spec.isOutput {
                    dnnlCheck(
                        dnnl_reorder_primitive_desc_create(&reorderPD, &kernelDesc, engine, &userDesc, engine, attributes),
                        "reorder for \(p)")
                } else {
                    dnnlCheck(
                        dnnl_reorder_primitive_desc_create(&reorderPD, &userDesc, engine, &kernelDesc, engine, attributes),
                        "reorder for \(p)")
                }
                argument.reorder = step(reorderPD.unsafelyUnwrapped)
                dnnl_primitive_desc_destroy(reorderPD)
            }
            if spec.accumulates {
                let count = spec.dimensions.reduce(1, *)
                let buffer = UnsafeMutableBufferPointer<Float>.allocate(capacity: count)
                buffer.initialize(repeating: 0)
                argument.accumulator = buffer
                bytes += count * MemoryLayout<Float>.stride
            }
            arguments.append(argument)
        }
        self.memories = memories
        self.bytes = bytes
    }

    deinit {
        for argument in arguments {
            if let reorder = argument.reorder { dnnl_primitive_destroy(reorder.primitive) }
            argument.accumulator?.deallocate()
        }
        dnnl_primitive_destroy(convolution.primitive)
        for memory in memories { dnnl_memory_destroy(memory) }
        dnnl_stream_destroy(stream)
    }

    /// Runs the primitive on the caller's buffers, keyed by `DNNL_ARG_*` index; every argument
    /// of the plan must be there.
    func execute(_ pointers: [Int32: UnsafeMutableRawPointer]) {
        lock.lock()
        defer { lock.unlock() }
        var convolutionArguments: [dnnl_exec_arg_t] = []
        for argument in arguments {
            guard let pointer = pointers[argument.index] else { preconditionFailure("DNNLConvolution: missing argument \(argument.index)") }
            // Accumulated outputs land in the plan's own buffer first, then get added.
            let target = argument.accumulator.map { UnsafeMutableRawPointer($0.baseAddress.unsafelyUnwrapped) } ?? pointer
            dnnlCheck(dnnl_memory_set_data_handle(argument.user, target), "setting a buffer")
            if let reorder = argument.reorder, !argument.isOutput { run(reorder, from: argument.user, to: argument.kernel) }
            convolutionArguments.append(dnnl_exec_arg_t(arg: argument.index, memory: argument.kernel))
        }
        run(convolution, convolutionArguments)
        for argument in arguments where argument.isOutput {
            if let reorder = argument.reorder { run(reorder, from: argument.kernel, to: argument.user) }
        }
        dnnlCheck(dnnl_stream_wait(stream), "stream wait")
        for argument in arguments {
            guard let fresh = argument.accumulator, let pointer = pointers[argument.index] else { continue }
            let destination = pointer.assumingMemoryBound(to: Float.self)
            for i in fresh.indices { destination[i] += fresh[i] }
        }
    }

    private func run(_ reorder: Step, from source: dnnl_memory_t, to destination: dnnl_memory_t) {
        run(
            reorder,
            [
                dnnl_exec_arg_t(arg: dnnlArgumentSource, memory: source),
                dnnl_exec_arg_t(arg: dnnlArgumentDestination, memory: destination),
            ])
    }

    private func run(_ step: Step, _ arguments: [dnnl_exec_arg_t]) {
        var arguments = arguments
        if let scratchpad = step.scratchpad { arguments.append(dnnl_exec_arg_t(arg: dnnlArgumentScratchpad, memory: scratchpad)) }
        dnnlCheck(dnnl_primitive_execute(step.primitive, stream, Int32(arguments.count), arguments), "primitive execution")
    }
}

/// A plain (or `any`) Float32 memory descriptor.
private func memoryDescriptor(_ dimensions: [Int], _ tag: dnnl_format_tag_t) -> dnnl_memory_desc_t {
    var desc = dnnl_memory_desc_t()
    let dims = dimensions.map { Int64($0) }
    dnnlCheck(dnnl_memory_desc_init_by_tag(&desc, Int32(dims.count), dims, dnnl_f32, tag), "memory descriptor \(dimensions)")
    return desc
}
