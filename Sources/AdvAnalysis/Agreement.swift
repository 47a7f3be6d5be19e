import Foundation

/// Statistics of people's answers: a proportion's confidence interval and the agreement of
/// several raters.
public enum Agreement {
    /// The standard normal quantile at 0.975: a two-sided 95 % interval.
    public static let z95 = 1.959963984540054

    /// Wilson's score interval for a proportion (Wilson 1927; method 3 of Newcombe 1998): the
    /// proportions p whose score test against `successes` of `total` is not rejected at `z`.
    /// Unlike p̂ ± z·√(p̂(1−p̂)/n) it stays in [0, 1] and is not empty at 0 or n successes.
    /// nil for no trials.
    public static func wilsonInterval(successes: Int, total: Int, z: Double = z95) -> (low: Double, high: Double)? {
        guard total > 0 else { return nil }
        let n = Double(total)
        let p = Double(successes) / n
        let zz = z * z
        let center = (p + zz / (2 * n)) / (1 + zz / n)
        let half = z * (p * (1 - p) / n + zz / (4 * n * n)).squareRoot() / (1 + zz / n)
        return (max(0, center - half), min(1, center + half))
    }

    /// Fleiss' κ (Fleiss 1971) for items rated into categories: `counts[i][j]` is how many raters
    /// put item i into category j. Items may have different numbers of raters (each item's
    /// agreement is over its own rater pairs; category shares are over all ratings); items with
    /// fewer than two ratings carry no agreement and are left out. nil when no item has two
    /// ratings, or when every rating falls into one category (chance agreement is then 1).
    public static func fleissKappa(counts: [[Int]]) -> Double? {
        let rated = counts.filter { $0.reduce(0, +) >= 2 }
        guard let categories = rated.first?.count else { return nil }
        var observed = 0.0
        var perCategory = [Double](repeating: 0, count: categories)
        var ratings = 0.0
        for row in rated {
            let n = Double(row.reduce(0, +))
            observed += Double(row.map { $0 * ($0 - 1) }.reduce(0, +)) / (n * (n - 1))
            for (category, count) in row.enumerated() { perCategory[category] += Double(count) }
            ratings += n
        }
        let meanObserved = observed / Double(rated.count)
        let chance = perCategory.map { ($0 / ratings) * ($0 / ratings) }.reduce(0, +)
        guard chance < 1 else { return nil }
        return (meanObserved - chance) / (1 - chance)
    }
}
