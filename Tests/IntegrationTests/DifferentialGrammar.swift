/// SELECT statements drawn from a small grammar with a fixed seed. Every ORDER BY ends in a
/// unique key (or orders by every column of a DISTINCT or every group key), so it is total and
/// the answers are compared row for row; statements without ORDER BY are compared as multisets.
enum DifferentialGrammar {
    static func queries(count: Int, seed: UInt64) -> [DifferentialQuery] {
        var random = SplitMix64(seed: seed)
        let shapes: [(inout SplitMix64) -> DifferentialQuery] = [
            sortedUsers, usersAggregate, userGroups, sortedOrders, orderGroups, joinRows,
            sortedUsers, joinGroups, userGroups, distinctRows, distinctOn, singleShard,
        ]
        return (0..<count).map { shapes[$0 % shapes.count](&random) }
    }

    // MARK: Vocabulary

    static let userColumns = ["id", "name", "city", "score", "rating", "balance", "active", "born", "created",
                              "score * 2", "lower(name) AS lower_name", "balance - 1 AS less"]
    static let userFilters = ["score > 500", "score < 0", "score BETWEEN 100 AND 200", "city = 'Oslo'", "city IN ('Paris', 'Rome')",
                              "city IS NULL", "active", "NOT active", "active IS NULL", "rating > 900", "rating < 0", "balance < 0",
                              "balance > 50000", "born < '1960-01-01'", "created >= '2024-01-01'", "name LIKE 'A%'", "id % 7 = 3",
                              "id BETWEEN -1000 AND 5000", "score IS NULL"]
    static let userSortKeys = ["score", "score DESC", "score NULLS FIRST", "score DESC NULLS LAST", "score * 2 DESC", "city",
                               "city DESC NULLS LAST", "city NULLS FIRST", "name", "name DESC", "rating", "rating DESC NULLS LAST",
                               "balance", "balance DESC", "active", "active DESC NULLS FIRST", "born", "born DESC", "created",
                               "created DESC NULLS LAST", "lower(name)", "coalesce(score, -1) DESC", "length(name)", "-score",
                               "abs(score - 500)"]
    static let userAggregates = ["count(*)", "count(city)", "count(score)", "count(rating)", "sum(score)", "sum(balance)",
                                 "sum(rating)", "min(score)", "max(score)", "min(name)", "max(name)", "min(born)", "max(created)",
                                 "min(balance)", "max(rating)", "avg(score)", "avg(balance)", "avg(rating)", "bool_and(active)",
                                 "bool_or(active)", "every(score > 0)", "count(DISTINCT city)", "count(DISTINCT score)",
                                 "sum(score) / count(*)", "max(score) - min(score)", "round(avg(score), 2)", "count(*) * 10 + 1"]
    static let userGroupings = [["city"], ["active"], ["city", "active"], ["score % 10"], ["name"], ["extract(year FROM born)"],
                                ["date_trunc('year', created)"], ["score / 100"], ["city", "score % 3"], ["length(name)"],
                                ["active", "score / 250"]]
    static let havings = ["count(*) > 10", "count(*) > 1000", "sum(score) > 5000", "min(score) < 0", "bool_or(active)",
                          "max(score) > 990", "avg(score) > 450"]

    static let orderColumns = ["id", "user_id", "amount", "qty", "status", "placed", "amount * qty AS total", "qty + 1"]
    static let orderFilters = ["status = 'paid'", "status IS NULL", "amount < 0", "amount > 1500", "qty > 15", "qty < 0",
                               "placed >= '2024-06-01'", "user_id < 0", "id % 10 = 0"]
    static let orderSortKeys = ["amount", "amount DESC NULLS LAST", "qty", "qty DESC", "status", "status DESC NULLS FIRST",
                                "placed", "placed DESC", "amount * qty DESC NULLS LAST", "user_id DESC"]
    static let orderAggregates = ["count(*)", "count(amount)", "sum(amount)", "avg(amount)", "sum(qty)", "avg(qty)", "min(amount)",
                                  "max(placed)", "min(status)", "bool_and(qty > 0)", "bool_or(amount < 0)", "count(DISTINCT user_id)",
                                  "sum(qty) / count(*)", "max(amount) - min(amount)", "every(status IS NOT NULL)"]
    static let orderGroupings = [["status"], ["qty"], ["status", "qty"], ["user_id"], ["extract(year FROM placed)"], ["user_id % 10"]]

    static let joinColumns = ["u.id", "u.name", "u.city", "o.id AS order_id", "o.amount", "o.qty", "o.status", "o.placed", "u.score"]
    static let joinFilters = ["u.city = 'Paris'", "o.status = 'paid'", "o.amount > 1500", "u.score < 0", "u.active AND o.qty > 10",
                              "o.placed < '2019-03-01'"]
    static let joinSortKeys = ["o.amount DESC NULLS LAST", "o.placed", "u.name", "o.qty", "u.city NULLS FIRST", "o.status", "u.score DESC"]
    static let joinAggregates = ["count(*)", "sum(o.amount)", "avg(o.qty)", "min(o.placed)", "max(o.amount)", "sum(o.qty) / count(*)",
                                 "count(DISTINCT o.status)", "bool_and(u.active)", "sum(o.amount * o.qty)", "count(DISTINCT u.id)",
                                 "max(u.name)"]
    static let joinGroupings = [["u.city"], ["o.status"], ["u.city", "o.status"], ["u.active"], ["o.qty"]]
    static let join = "d_users u JOIN d_orders o ON o.user_id = u.id"

    static let directions = ["", " DESC", " NULLS FIRST", " DESC NULLS LAST"]

    // MARK: Shapes

    static func sortedUsers(_ random: inout SplitMix64) -> DifferentialQuery {
        let columns = random.some(userColumns, count: random.within(1...4))
        let filter = filterClause(random.chance(60) ? random.pick(userFilters) : nil)
        let keys = random.some(userSortKeys, count: random.within(1...3)) + [random.pick(["id", "id DESC"])]
        return .ordered("SELECT \(list(columns)) FROM d_users\(filter) ORDER BY \(list(keys))\(limit(&random, required: filter.isEmpty))")
    }

    static func sortedOrders(_ random: inout SplitMix64) -> DifferentialQuery {
        let columns = random.some(orderColumns, count: random.within(1...4))
        let filter = filterClause(random.chance(60) ? random.pick(orderFilters) : nil)
        let keys = random.some(orderSortKeys, count: random.within(1...2)) + [random.pick(["user_id, id", "id", "id DESC"])]
        return .ordered("SELECT \(list(columns)) FROM d_orders\(filter) ORDER BY \(list(keys))\(limit(&random, required: true))")
    }

    static func usersAggregate(_ random: inout SplitMix64) -> DifferentialQuery {
        let aggregates = random.some(userAggregates, count: random.within(1...4))
        let filter = filterClause(random.chance(50) ? random.pick(userFilters) : nil)
        return .ordered("SELECT \(list(aggregates)) FROM d_users\(filter)")
    }

    static func userGroups(_ random: inout SplitMix64) -> DifferentialQuery {
        grouped(&random, from: "d_users", keys: random.pick(userGroupings), aggregates: userAggregates,
                filters: userFilters, havings: havings)
    }

    static func orderGroups(_ random: inout SplitMix64) -> DifferentialQuery {
        grouped(&random, from: "d_orders", keys: random.pick(orderGroupings), aggregates: orderAggregates,
                filters: orderFilters, havings: ["count(*) > 100", "sum(qty) > 50", "bool_or(amount < 0)", "max(amount) > 1900"])
    }

    static func joinGroups(_ random: inout SplitMix64) -> DifferentialQuery {
        grouped(&random, from: join, keys: random.pick(joinGroupings), aggregates: joinAggregates,
                filters: joinFilters, havings: ["count(*) > 100", "sum(o.qty) > 1000", "count(DISTINCT u.id) > 10"])
    }

    static func joinRows(_ random: inout SplitMix64) -> DifferentialQuery {
        let columns = random.some(joinColumns, count: random.within(2...4))
        let filter = filterClause(random.chance(70) ? random.pick(joinFilters) : nil)
        let keys = random.some(joinSortKeys, count: random.within(1...2)) + ["o.user_id", "o.id"]
        return .ordered("SELECT \(list(columns)) FROM \(join)\(filter) ORDER BY \(list(keys))\(limit(&random, required: true))")
    }

    /// SELECT DISTINCT over a few columns; ordered by all of them, or not at all.
    static func distinctRows(_ random: inout SplitMix64) -> DifferentialQuery {
        let (table, columns, filters) = random.chance(60)
            ? ("d_users", random.pick([["city"], ["active"], ["city", "active"], ["score / 100"], ["name"], ["city", "score % 4"]]), userFilters)
            : ("d_orders", random.pick([["status"], ["qty"], ["status", "qty"], ["user_id"]]), orderFilters)
        let filter = filterClause(random.chance(40) ? random.pick(filters) : nil)
        let sql = "SELECT DISTINCT \(list(columns)) FROM \(table)\(filter)"
        guard random.chance(70) else { return .unordered(sql) }
        let keys = columns.map { $0 + random.pick(directions) }
        return .ordered(sql + " ORDER BY \(list(keys))\(limit(&random, required: false))")
    }

    static func distinctOn(_ random: inout SplitMix64) -> DifferentialQuery {
        if random.chance(30) {
            let key = "status" + random.pick(directions)
            return .ordered("SELECT DISTINCT ON (status) status, user_id, id, amount FROM d_orders"
                + "\(filterClause(random.chance(40) ? random.pick(orderFilters) : nil)) ORDER BY \(key), amount DESC NULLS LAST, user_id, id")
        }
        let key = random.pick(["city", "active", "score / 100"])
        let second = random.pick(["score DESC NULLS LAST", "name", "created", "rating NULLS FIRST", "balance DESC"])
        let filter = filterClause(random.chance(40) ? random.pick(userFilters) : nil)
        return .ordered("SELECT DISTINCT ON (\(key)) \(key), id, name, score FROM d_users\(filter)"
            + " ORDER BY \(key)\(random.pick(directions)), \(second), id\(limit(&random, required: false))")
    }

    /// Statements whose key fixes the shard: they pass through unmerged.
    static func singleShard(_ random: inout SplitMix64) -> DifferentialQuery {
        let user = DifferentialData.userID(random.below(500))
        switch random.below(6) {
        case 0:
            return .ordered("SELECT \(list(random.some(orderAggregates, count: random.within(1...4)))) FROM d_orders WHERE user_id = \(user)")
        case 1:
            let keys = random.some(orderSortKeys, count: random.within(1...2)) + ["id"]
            return .ordered("SELECT id, amount, qty, status FROM d_orders WHERE user_id = \(user) ORDER BY \(list(keys))\(limit(&random, required: false))")
        case 2:
            return .ordered("SELECT status, count(*), sum(amount) FROM d_orders WHERE user_id = \(user) GROUP BY status ORDER BY status NULLS FIRST")
        case 3:
            return .ordered("SELECT u.name, o.id, o.amount FROM \(join) WHERE u.id = \(user) ORDER BY o.placed NULLS LAST, o.id")
        case 4:
            return .ordered("SELECT \(list(random.some(userColumns, count: random.within(1...5)))) FROM d_users WHERE id = \(user)")
        default:
            return .ordered("SELECT DISTINCT qty FROM d_orders WHERE user_id = \(user) ORDER BY qty NULLS FIRST")
        }
    }

    // MARK: Pieces

    /// GROUP BY `keys` with some aggregates, maybe HAVING, and maybe an ORDER BY that is total
    /// over the groups (all the keys, after an aggregate or not) with a LIMIT.
    private static func grouped(_ random: inout SplitMix64, from table: String, keys: [String], aggregates: [String],
                                filters: [String], havings: [String]) -> DifferentialQuery {
        let chosen = random.some(aggregates, count: random.within(1...3))
        let columns = random.chance(80) ? keys + chosen : chosen + keys
        let filter = filterClause(random.chance(40) ? random.pick(filters) : nil)
        let having = random.chance(30) ? " HAVING " + random.pick(havings) : ""
        let sql = "SELECT \(list(columns)) FROM \(table)\(filter) GROUP BY \(list(keys))\(having)"
        switch random.below(3) {
        case 0:
            return .unordered(sql)
        case 1:
            return .ordered(sql + " ORDER BY \(list(keys.map { $0 + random.pick(directions) }))\(limit(&random, required: false))")
        default:
            let first = random.pick(["count(*) DESC", "count(*)"])
            return .ordered(sql + " ORDER BY \(first), \(list(keys.map { $0 + random.pick(directions) }))\(limit(&random, required: false))")
        }
    }

    /// ` LIMIT n [OFFSET m]`, ` OFFSET m` or nothing (unless `required`).
    private static func limit(_ random: inout SplitMix64, required: Bool) -> String {
        let offset = random.chance(40) ? " OFFSET \(random.pick([0, 3, 17, 250]))" : ""
        if !required && random.chance(30) { return random.chance(30) ? offset : "" }
        return " LIMIT \(random.pick([1, 5, 10, 25, 100]))" + offset
    }

    private static func filterClause(_ condition: String?) -> String { condition.map { " WHERE " + $0 } ?? "" }

    private static func list(_ items: [String]) -> String { items.joined(separator: ", ") }
}
