import Backend
import Foundation

/// SplitMix64: a small deterministic generator, so every run loads the same rows and asks the
/// same questions.
struct SplitMix64 {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A number in `0..<n`.
    mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }

    /// A number in `range`.
    mutating func within(_ range: ClosedRange<Int>) -> Int { range.lowerBound + below(range.count) }

    /// True `percent` times in 100.
    mutating func chance(_ percent: Int) -> Bool { below(100) < percent }

    mutating func pick<T>(_ items: [T]) -> T { items[below(items.count)] }

    /// `count` different items of `items`, in the order they were drawn.
    mutating func some<T>(_ items: [T], count: Int) -> [T] {
        var chosen: [Int] = []
        while chosen.count < min(count, items.count) {
            let index = below(items.count)
            if !chosen.contains(index) { chosen.append(index) }
        }
        return chosen.map { items[$0] }
    }
}

/// The rows of `d_users` and `d_orders`, loaded once per test run through pgshard (multi-row
/// INSERTs that pgshard splits across the shards) and, statement for statement, into the
/// reference server.
enum DifferentialData {
    static let userCount = 20_000
    static let orderCount = 80_000
    static let batchSize = 500
    static let cities = ["Oslo", "Berlin", "Paris", "Rome", "Madrid", "Lisbon", "Vienna", "Prague", "Warsaw", "Athens", "Dublin", "Zürich"]
    static let statuses = ["new", "paid", "shipped", "cancelled", "refunded"]
    static let firstNames = ["Anna", "Ben", "Chloé", "David", "Émile", "Fatima", "Greg", "Hana", "Ivan", "Jin", "Karl", "Lena",
                             "Mia", "Noah", "Olga", "Pia", "Quinn", "Rosa", "Sam", "Tom", "Uma", "Vera", "Will", "Zoë", "ada", "bob"]
    static let lastNames = ["Smith", "O'Brien", "Müller", "de Vries", "Nguyen", "Kowalski", "Rossi", "García", "Ivanova", "Lee",
                            "Brown", "Łukasz", "Dubois", "Jensen", "Silva", "Novak", "Papadopoulos", "Murphy", "Horvat", "Berg"]

    /// The id of user number `index` (0-based): spread over negative and positive values.
    static func userID(_ index: Int) -> Int { index * 3 - 9_000 }

    private static let lock = NSLock()
    // Written once under `lock`.
    nonisolated(unsafe) private static var loaded = false

    /// Loads the rows unless this test run already did.
    static func loadOnce(into cluster: TestCluster) throws {
        try lock.withLock {
            guard !loaded else { return }
            let proxy = try cluster.proxyConnection()
            let reference = try cluster.referenceConnection()
            for sql in statements() {
                try proxy.command(sql)
                try reference.command(sql)
            }
            loaded = true
        }
    }

    /// The INSERT statements, `batchSize` rows each.
    static func statements() -> [String] {
        var random = SplitMix64(seed: 0x5EED_D1FF)
        let users = (0..<userCount).map { userRow(index: $0, &random) }
        let orders = (0..<orderCount).map { orderRow(id: $0 + 1, &random) }
        return batches(users, into: "d_users (id, name, city, score, rating, balance, active, born, created)")
            + batches(orders, into: "d_orders (id, user_id, amount, qty, status, placed)")
    }

    private static func batches(_ rows: [String], into table: String) -> [String] {
        stride(from: 0, to: rows.count, by: batchSize).map { start in
            "INSERT INTO \(table) VALUES " + rows[start..<min(start + batchSize, rows.count)].joined(separator: ", ")
        }
    }

    private static func userRow(index: Int, _ random: inout SplitMix64) -> String {
        let name = random.pick(firstNames) + " " + random.pick(lastNames)
        let values: [String] = [
            String(userID(index)),
            quoted(name),
            random.chance(8) ? "NULL" : quoted(random.pick(cities)),
            random.chance(5) ? "NULL" : String(random.within(-100...1_000)),
            random.chance(6) ? "NULL" : decimal(random.within(-500...9_999), scale: 1),
            random.chance(5) ? "NULL" : decimal(random.within(-100_000...10_000_000), scale: 2),
            random.chance(10) ? "NULL" : (random.chance(60) ? "true" : "false"),
            random.chance(5) ? "NULL" : quoted(date(daysSince1970: -7_305 + random.below(60 * 365))),
            random.chance(3) ? "NULL" : quoted(timestamp(secondsSince1970: 1_577_836_800 + random.below(5 * 365 * 1_440) * 60)),
        ]
        return "(" + values.joined(separator: ", ") + ")"
    }

    private static func orderRow(id: Int, _ random: inout SplitMix64) -> String {
        // A third of the orders belong to the first 500 users: some users have many orders, many have none.
        let user = random.chance(33) ? random.below(500) : random.below(userCount)
        let qty = random.chance(3) ? "NULL" : random.chance(2) ? String(random.within(-3...(-1))) : String(random.within(1...20))
        let values: [String] = [
            String(id),
            String(userID(user)),
            random.chance(4) ? "NULL" : decimal(random.within(-5_000...200_000), scale: 2),
            qty,
            random.chance(5) ? "NULL" : quoted(random.pick(statuses)),
            random.chance(2) ? "NULL" : quoted(date(daysSince1970: 17_897 + random.below(6 * 365))),
        ]
        return "(" + values.joined(separator: ", ") + ")"
    }

    static func quoted(_ text: String) -> String { "'" + text.replacingOccurrences(of: "'", with: "''") + "'" }

    /// `units` / 10^scale as exact decimal text: `decimal(-5, scale: 2)` is `-0.05`.
    static func decimal(_ units: Int, scale: Int) -> String {
        var power = 1
        for _ in 0..<scale { power *= 10 }
        let fraction = String(abs(units) % power)
        return (units < 0 ? "-" : "") + String(abs(units) / power) + "." + String(repeating: "0", count: scale - fraction.count) + fraction
    }

    /// `YYYY-MM-DD` of a day counted from 1970-01-01 (proleptic Gregorian).
    static func date(daysSince1970 days: Int) -> String {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1_460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let shiftedMonth = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * shiftedMonth + 2) / 5 + 1
        let month = shiftedMonth < 10 ? shiftedMonth + 3 : shiftedMonth - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        return "\(year)-\(twoDigits(month))-\(twoDigits(day))"
    }

    /// `YYYY-MM-DD HH:MM:SS+00` of a second counted from the epoch.
    static func timestamp(secondsSince1970 seconds: Int) -> String {
        let time = seconds % 86_400
        return date(daysSince1970: seconds / 86_400)
            + " \(twoDigits(time / 3_600)):\(twoDigits(time / 60 % 60)):\(twoDigits(time % 60))+00"
    }

    private static func twoDigits(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }
}
