import AdvData
import AdvModels
import AdvNN
import AdvTensor

/// How good an AC-GAN's samples are, measured with independent models.
public struct SampleQuality: Codable, Sendable {
    /// Share of generated images that the natural classifier puts in the class they were generated for.
    public var agreement: Double
    public var per_class_agreement: [Double]
    /// The auxiliary head's accuracy on the real test set.
    public var aux_test_accuracy: Double
    /// Fréchet distance between the classifier's penultimate features of generated and test images.
    public var fcd: Double
    public var count: Int
    public var seed: UInt64
}

/// Generates `count` images (classes cycling 0…9, so every class gets count/10), from latent
/// vectors drawn with `seed`, in evaluation mode. -> images01 [count, 1, 28, 28], classes
public func generateSamples(
    _ generator: any ConditionalGenerator, count: Int, seed: UInt64, classes requested: [Int]? = nil,
    batchSize: Int = 500
) -> (images: Tensor, classes: [Int]) {
    var rng = SeededGenerator(seed: seed)
    let classes = requested ?? (0..<count).map { $0 % generator.classCount }
    let parts = batchRanges(count: count, size: batchSize).map { range in
        generator.generate(Tensor.randomNormal([range.count, generator.latentSize], using: &rng), classes: Array(classes[range]))
    }
    return (Tensor.concatenate(parts), classes)
}

/// Agreement (overall and per class), auxiliary test accuracy and FCD of an AC-GAN.
/// `classifier` is the natural classifier; its penultimate features define the FCD.
public func measureSampleQuality(
    generator: any ConditionalGenerator, discriminator: any ConditionalDiscriminator,
    classifier: ImageClassifier, test: Dataset, count: Int, seed: UInt64
) throws -> SampleQuality {
    let (images, classes) = generateSamples(generator, count: count, seed: seed)
    let predictions = classifier.predict(images)
    var agreeing = [Int](repeating: 0, count: 10)
    var total = [Int](repeating: 0, count: 10)
    for (p, c) in zip(predictions, classes) {
        total[c] += 1
        if p == c { agreeing[c] += 1 }
    }
    let auxiliary = AuxiliaryClassifier(discriminator)
    let auxPredictions = auxiliary.predict(test.images)
    let auxAccuracy = Double(zip(auxPredictions, test.labels).filter { $0 == $1 }.count) / Double(max(1, test.count))
    let generatedStatistics = GaussianStatistics(features: classifier.batchedFeatures(images))
    let testStatistics = GaussianStatistics(features: classifier.batchedFeatures(test.images))
    let fcd = try frechetDistance(generatedStatistics, testStatistics)
    return SampleQuality(
        agreement: Double(agreeing.reduce(0, +)) / Double(max(1, count)),
        per_class_agreement: zip(agreeing, total).map { $1 == 0 ? 0 : Double($0) / Double($1) },
        aux_test_accuracy: auxAccuracy, fcd: fcd, count: count, seed: seed)
}

/// Error of `classifier` on plain AC-GAN samples (no search), per requested class.
public struct PlainSampleError: Codable, Sendable {
    public var error_rate: Double
    public var per_class_error_rate: [Double]
    public var per_class: Int
    public var seed: UInt64
}

/// generator: ACGAN, perClass samples of each class drawn with `seed`.
public func plainSampleError(_ generator: any ConditionalGenerator, classifier: ImageClassifier, perClass: Int, seed: UInt64)
    -> PlainSampleError
{
    let (images, classes) = generateSamples(generator, count: perClass * 10, seed: seed)
    let predictions = classifier.predict(images)
    var wrong = [Int](repeating: 0, count: 10)
    for (p, c) in zip(predictions, classes) where p != c { wrong[c] += 1 }
    return PlainSampleError(
        error_rate: Double(wrong.reduce(0, +)) / Double(perClass * 10),
        per_class_error_rate: wrong.map { Double($0) / Double(perClass) }, per_class: perClass, seed: seed)
}
