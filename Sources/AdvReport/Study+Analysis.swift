import AdvAnalysis
import AdvAttacks
import AdvImaging
import AdvModels
import AdvTensor
import Foundation

extension Study {
    /// The post's combination image x0 + ε·sign(x1) for every ordered class pair: which class
    /// do the models and the embedding's k-NN see, and what do the proxies of (1) say?
    func measureCombination(_ conditionTwo: ConditionTwoData) -> Measured<[CombinationSetting]> {
        var rng = SeededGenerator(seed: seed &+ 307)
        var byClass = test.indicesByClass()
        for digit in 0..<classCount { byClass[digit].seededShuffle(using: &rng) }
        var sourceIndices: [Int] = []
        var otherIndices: [Int] = []
        for a in 0..<classCount {
            for b in 0..<classCount where b != a {
                for k in 0..<settings.combination_per_pair {
                    sourceIndices.append(byClass[a][(b * settings.combination_per_pair + k) % byClass[a].count])
                    otherIndices.append(byClass[b][(a * settings.combination_per_pair + k) % byClass[b].count])
                }
            }
        }
        let x0 = test.images.gather(sourceIndices)
        let x1 = test.images.gather(otherIndices)
        let sourceLabels = sourceIndices.map { test.labels[$0] }
        let otherLabels = otherIndices.map { test.labels[$0] }
        let eps = settings.combination_eps
        let combined = combinationImages(sources: x0, others: x1, eps: Float(eps))
        var stillSource: [String: Double] = [:]
        var becameOther: [String: Double] = [:]
        var predictions: [String: [Int]] = [:]
        for (name, model) in classifiers {
            let predicted = model.predict(combined)
            predictions[name] = predicted
            stillSource[name] = share(predicted, sourceLabels)
            becameOther[name] = share(predicted, otherLabels)
        }
        let knnLabels = knn.predict(combined, ks: [5])[5] ?? []
        let offer = JudgeOffer(
            setting: JudgeSettings.combination(eps: eps), kind: "perturbation", images: combined,
            candidates: Array(sourceIndices.indices),
            intended: sourceLabels, other: otherLabels, detail: { "test images \(sourceIndices[$0]) and \(otherIndices[$0])" },
            knnKeepsIntended: share(knnLabels, sourceLabels))
        let natural = predictions["natural"] ?? []
        let conditionOne = self.conditionOne(
            clean: x0, adversarial: combined, labels: sourceLabels,
            success: zip(natural, sourceLabels).map { $0 != $1 }, reference: models.robust)
        let figure = combinationFigure(
            x0: x0, x1: x1, combined: combined, sourceLabels: sourceLabels, predictions: predictions,
            knnLabels: knnLabels)
        let setting = CombinationSetting(
            eps: eps, count: sourceIndices.count, still_source: stillSource, became_other: becameOther,
            knn_still_source: share(knnLabels, sourceLabels), knn_became_other: share(knnLabels, otherLabels),
            condition_one: conditionOne, condition_two: conditionTwo.verdict(norm: "linf", eps: eps, model: "natural"))
        return Measured([setting], figures: [.png(figure.render(), name: "combination")], offers: [offer])
    }

    /// Tramèr et al.'s label-changing examples: each test image moves toward its nearest
    /// training image of another class within L∞ ε; does the embedding's k-NN see the other
    /// class, and do the models stay with the original one?
    func measureInvariance() -> Measured<[InvarianceReport]> {
        let count = min(settings.attack_images, test.count)
        let images = test.images.slice(0..<count)
        let labels = Array(test.labels[0..<count])
        let targets = InvarianceTargets(images01: images, labels: labels, memory01: train.images, memoryLabels: train.labels, maxShift: 0)
        let judges = InvarianceJudges(model: models.natural, knn: knn, k: 5, reference: models.robust, clean: images)
        // From the data set's headline L∞ ε up (MNIST: 0.3 and 0.4).
        var offers: [JudgeOffer] = []
        let reports = settings.linf_grid.filter { $0 >= dataset.headline_linf_eps - 1e-9 }.map { eps in
            let (outcome, records) = invarianceExamples(images01: images, labels: labels, targets: targets, eps: Float(eps), judges: judges)
            let report = InvarianceReport(records: records, eps: Float(eps), maxShift: 0, knnK: 5)
            offers.append(invarianceOffer(report, records: records, images: outcome.adversarialImages))
            log(
                String(
                    format: "invariance ε %g: k-NN changed to the other class %.3f, natural still source %.3f, robust still source %.3f",
                    eps, report.overall.knn_changed_to_target, report.overall.model_still_source,
                    report.overall.reference_still_source ?? .nan))
            return report
        }
        return Measured(reports, offers: offers)
    }

    func share(_ predicted: [Int], _ labels: [Int]) -> Double {
        labels.isEmpty ? 0 : Double(zip(predicted, labels).filter { $0 == $1 }.count) / Double(labels.count)
    }

    /// One row per source class: x0 | sign(x1) | combination, labelled with both models' and
    /// the k-NN's predictions.
    func combinationFigure(
        x0: Tensor, x1: Tensor, combined: Tensor, sourceLabels: [Int], predictions: [String: [Int]],
        knnLabels: [Int]
    ) -> ImageGrid {
        let rows = (0..<classCount).compactMap { digit in sourceLabels.firstIndex(of: digit) }
        var grid = ImageGrid(rows: rows.count, columns: 3, tileWidth: x0.shape[3], tileHeight: x0.shape[2], scale: 3, padding: 6)
        grid.title = String(format: "the post's combination x0 + %.2f·sign(x1) (seed %llu)", settings.combination_eps, seed)
        grid.columnHeader(column: 0, text: "x0")
        grid.columnHeader(column: 1, text: "sign(x1)")
        grid.columnHeader(column: 2, text: "combination")
        let signs = x1.sign()
        for (row, index) in rows.enumerated() {
            grid.set(row: row, column: 0, bitmap: Bitmap(image01: x0.slice(index..<(index + 1))))
            grid.set(row: row, column: 1, bitmap: Bitmap(image01: signs.slice(index..<(index + 1))))
            grid.set(row: row, column: 2, bitmap: Bitmap(image01: combined.slice(index..<(index + 1))))
            grid.label(row: row, column: 0, text: dataset.className(sourceLabels[index]))
            let natural = predictions["natural"]?[index] ?? -1
            let robust = predictions["robust"]?[index] ?? -1
            grid.label(
                row: row, column: 2, text: "nat \(natural) rob \(robust) knn \(knnLabels[index])",
                color: natural != sourceLabels[index] ? .red : .black)
        }
        return grid
    }

    /// The post's heatmaps: mean pairwise distance per class pair, in pixel L2 and L∞ and in
    /// the triplet embedding, on `distance_per_class` training images of each class.
    func measureDistances() -> Measured<DistanceAnalysis> {
        var rng = SeededGenerator(seed: seed &+ 401)
        let indices = train.sampleIndicesPerClass(settings.distance_per_class, using: &rng).flatMap { $0 }
        let images = train.images.gather(indices)
        let labels = indices.map { train.labels[$0] }
        var meanPairwise: [String: [[Double]]] = [:]
        var notClosest: [String: [Int]] = [:]
        var figures: [StudyFigure] = []
        let spaces: [(String, Tensor, DistanceNorm)] = [
            ("l2", images, .l2), ("linf", images, .linf),
            ("embedding-l2", models.embedding.embed(images), .l2),
        ]
        for (name, points, norm) in spaces {
            let result = classPairDistances(images: points, labels: labels, norm: norm, classCount: classCount)
            meanPairwise[name] = result.meanPairwise
            notClosest[name] = result.rowsNotClosestToSelf
            let heatmap = DistanceFigures.classPairHeatmap(
                result, classNames: dataset.class_names,
                title: "mean pairwise \(name) distance, \(settings.distance_per_class)/class train (seed \(seed))")
            figures.append(.png(heatmap.render(), name: "distances-\(name)"))
        }
        return Measured(
            DistanceAnalysis(per_class: settings.distance_per_class, mean_pairwise: meanPairwise, rows_not_closest_to_self: notClosest),
            figures: figures)
    }
}
