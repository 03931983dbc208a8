import PGWire

/// One DataRow of a shard: its body, and where each column's length word starts.
struct ShardRow {
    var body: [UInt8]
    var starts: [Int]

    init(_ bytes: UnsafeRawBufferPointer) throws(MergeError) {
        body = Array(bytes)
        guard body.count >= 2 else { throw .shardsDisagree }
        let count = Int(body[0]) << 8 | Int(body[1])
        starts = []
        starts.reserveCapacity(count)
        var offset = 2
        for _ in 0..<count {
            guard offset + 4 <= body.count else { throw .shardsDisagree }
            starts.append(offset)
            let length = Self.length(body, at: offset)
            offset += 4 + max(0, length)
        }
        guard offset <= body.count else { throw .shardsDisagree }
    }

    static func length(_ body: [UInt8], at offset: Int) -> Int {
        Int(Int32(bitPattern: UInt32(body[offset]) << 24 | UInt32(body[offset + 1]) << 16 | UInt32(body[offset + 2]) << 8 | UInt32(body[offset + 3])))
    }

    /// Column `index`'s value; nil for NULL.
    func value(_ index: Int) -> ArraySlice<UInt8>? {
        let start = starts[index]
        let length = Self.length(body, at: start)
        return length < 0 ? nil : body[start + 4..<start + 4 + length]
    }

    /// The body of the same row without its first `hidden` columns.
    func dropping(_ hidden: Int) -> [UInt8] {
        guard hidden > 0 else { return body }
        let count = starts.count - hidden
        var result: [UInt8] = [UInt8(truncatingIfNeeded: count >> 8), UInt8(truncatingIfNeeded: count)]
        if hidden < starts.count { result += body[starts[hidden]...] }
        return result
    }
}

/// Builds a DataRow body from values.
func dataRowBody(_ values: ArraySlice<[UInt8]?>) -> [UInt8] {
    var body: [UInt8] = [UInt8(truncatingIfNeeded: values.count >> 8), UInt8(truncatingIfNeeded: values.count)]
    for value in values {
        guard let value else {
            body += [0xFF, 0xFF, 0xFF, 0xFF]
            continue
        }
        let length = UInt32(value.count)
        body += [UInt8(truncatingIfNeeded: length >> 24), UInt8(truncatingIfNeeded: length >> 16),
                 UInt8(truncatingIfNeeded: length >> 8), UInt8(truncatingIfNeeded: length)]
        body += value
    }
    return body
}

/// Carries out a ``MergePlan`` over the row streams of several shards (streams `0..<streams`).
///
/// The caller feeds each stream's RowDescription, DataRows and end, and takes merged rows with
/// ``nextRow()`` whenever it can. Plain and ordered plans stream: a row leaves as soon as it is
/// known to be next (for ORDER BY, once every unfinished stream has a row waiting), so only the
/// rows waiting per stream are held — the caller pauses a stream whose ``queued(_:)`` grows.
/// Aggregating plans hold one state per group until every stream ended; DISTINCT holds the rows
/// seen. Both are bounded by `maxMemory`.
public final class RowMerger {
    public let plan: MergePlan
    private let maxMemory: Int
    private let textIsBytes: Bool
    private let collationKnown: Bool
    private let dateStyleISO: Bool
    private let resultFormats: [Int16]
    /// Client columns sent in binary.
    private var binaryColumns: [Bool] = []
    private let intervalStylePostgres: Bool

    private var shardFields: [FieldDescription]?
    /// The RowDescription the client gets, once known.
    public private(set) var clientFields: [FieldDescription]?
    private var finalFields: [FieldDescription] = []
    private var sortOrders: [ValueOrder] = []

    private var queues: [[ShardRow]]
    private var heads: [Int]
    private var finished: [Bool]
    private var nextStream = 0

    private var toSkip: Int64
    private var remaining: Int64?
    /// Rows handed out.
    public private(set) var rowsSent = 0

    private var seen: Set<[UInt8]> = []
    private var lastDistinctKey: [UInt8]?
    private var memoryUsed = 0

    private var groups: [[UInt8]: Int] = [:]
    private var groupStates: [GroupState] = []
    private var partialKinds: [Int: ValueKind] = [:]
    private var keyKinds: [ValueKind] = []
    /// Aggregated rows ready to leave (after every stream ended), next at `readyIndex`.
    private var ready: [[UInt8]] = []
    private var readyIndex = 0
    private var aggregationDone = false
    private var evaluator: ExpressionEvaluator?

    /// - Parameters:
    ///   - limitValues: the values of `$n` parameters of LIMIT/OFFSET (by number).
    ///   - textIsBytes: the shards' collation orders text as bytes ("C"/"POSIX").
    ///   - dateStyleISO: the session's DateStyle writes ISO dates; `intervalStylePostgres`: its
    ///     IntervalStyle is `postgres` (the only forms the merge reads to order such values).
    ///   - resultFormats: the client's result format codes (Bind: none = text, one for all, or
    ///     one per column); binary columns are converted from the shards' text.
    ///   - collationKnown: false when the shards' collation has not been read yet (text order is
    ///     then refused with a message that says so).
    public init(plan: MergePlan, streams: Int, maxMemory: Int, textIsBytes: Bool, collationKnown: Bool = true, dateStyleISO: Bool = true,
                intervalStylePostgres: Bool = true, limitValues: [Int: Int64] = [:], resultFormats: [Int16] = []) {
        self.plan = plan
        self.collationKnown = collationKnown
        self.resultFormats = resultFormats
        self.dateStyleISO = dateStyleISO
        self.intervalStylePostgres = intervalStylePostgres
        self.maxMemory = maxMemory
        self.textIsBytes = textIsBytes
        queues = Array(repeating: [], count: streams)
        heads = Array(repeating: 0, count: streams)
        finished = Array(repeating: false, count: streams)
        streamBytes = Array(repeating: 0, count: streams)
        func value(_ limit: LimitValue?) -> Int64? {
            switch limit {
            case .constant(let n): n
            case .parameter(let number): limitValues[number]
            case nil: nil
            }
        }
        toSkip = max(0, value(plan.limit.offset) ?? 0)
        remaining = value(plan.limit.count).map { max(0, $0) }
    }

    /// True once the limit is met: no more rows will leave, whatever the streams still send.
    public var isSatisfied: Bool { remaining == 0 }

    /// Rows waiting in a stream's queue.
    public func queued(_ stream: Int) -> Int { queues[stream].count - heads[stream] }

    /// Bytes of the rows waiting in a stream's queue, and in all queues.
    public func queuedBytes(_ stream: Int) -> Int { streamBytes[stream] }
    public private(set) var queuedBytes = 0
    private var streamBytes: [Int]

    // MARK: Input

    /// A stream's RowDescription. Returns the client's RowDescription the first time.
    public func describe(stream: Int, fields: [FieldDescription]) throws(MergeError) -> [FieldDescription]? {
        if let shardFields {
            guard shardFields.count == fields.count,
                  zip(shardFields, fields).allSatisfy({ $0.dataTypeOID == $1.dataTypeOID && $0.format == $1.format })
            else { throw .shardsDisagree }
            return nil
        }
        shardFields = fields
        guard fields.allSatisfy({ $0.format == 0 }) else {
            throw .unsupportedType(column: fields.first { $0.format != 0 }?.name ?? "?", typeOID: 0, use: "merge binary-format")
        }
        if let aggregation = plan.aggregation {
            try describeAggregation(aggregation, fields)
        } else {
            finalFields = fields
        }
        guard plan.hiddenColumns <= finalFields.count, plan.distinctOn?.allSatisfy({ $0 < finalFields.count }) ?? true else {
            throw .shardsDisagree
        }
        for key in plan.order {
            guard key.column < finalFields.count else { throw .shardsDisagree }
            let field = finalFields[key.column]
            if key.bytewise, ValueKind(typeOID: field.dataTypeOID) == .collatable {
                sortOrders.append(ValueOrder(kind: .bytes))
            } else {
                sortOrders.append(try order(for: field, use: "order"))
            }
        }
        var fields = Array(finalFields.dropFirst(plan.hiddenColumns))
        if resultFormats.count > 1 && resultFormats.count != fields.count {
            throw .resultFormatCount(formats: resultFormats.count, columns: fields.count)
        }
        binaryColumns = fields.indices.map { index in
            (resultFormats.count == 1 ? resultFormats[0] : index < resultFormats.count ? resultFormats[index] : 0) == 1
        }
        for (index, field) in fields.enumerated() where binaryColumns[index] {
            guard BinaryFormat.supports(field.dataTypeOID) else {
                throw .unsupportedType(column: field.name, typeOID: field.dataTypeOID, use: "send in binary")
            }
            let kind = ValueKind(typeOID: field.dataTypeOID)
            if [.date, .timestamp, .timestamptz].contains(kind) && !dateStyleISO { throw .dateStyle(column: field.name, setting: "DateStyle = ISO") }
            if kind == .interval && !intervalStylePostgres { throw .dateStyle(column: field.name, setting: "IntervalStyle = postgres") }
            fields[index].format = 1
        }
        clientFields = fields
        return clientFields
    }

    private func order(for field: FieldDescription, use: String) throws(MergeError) -> ValueOrder {
        let kind = ValueKind(typeOID: field.dataTypeOID)
        if kind == .collatable && !textIsBytes {
            throw collationKnown ? .collationOrder(column: field.name) : .collationUnknown(column: field.name)
        }
        if [.date, .timestamp, .timestamptz].contains(kind) && !dateStyleISO { throw .dateStyle(column: field.name, setting: "DateStyle = ISO") }
        if kind == .interval && !intervalStylePostgres { throw .dateStyle(column: field.name, setting: "IntervalStyle = postgres") }
        guard ValueOrder.canOrder(kind, textIsBytes: textIsBytes) else {
            throw .unsupportedType(column: field.name, typeOID: field.dataTypeOID, use: use)
        }
        return ValueOrder(kind: kind)
    }

    private func describeAggregation(_ aggregation: Aggregation, _ fields: [FieldDescription]) throws(MergeError) {
        for (column, kind) in aggregation.partials {
            guard column < fields.count else { throw .shardsDisagree }
            let field = fields[column]
            let valueKind = ValueKind(typeOID: field.dataTypeOID)
            switch kind {
            case .count:
                guard valueKind == .integer else { throw .shardsDisagree }
            case .sum:
                guard valueKind == .integer || valueKind == .numeric || valueKind == .float else {
                    throw .unsupportedType(column: field.name, typeOID: field.dataTypeOID, use: "add up")
                }
            case .min, .max:
                _ = try order(for: field, use: "compare")
            case .boolAnd, .boolOr:
                guard valueKind == .bool else { throw .shardsDisagree }
            }
            partialKinds[column] = valueKind
        }
        keyKinds = fields.map { ValueKind(typeOID: $0.dataTypeOID) }
        finalFields = []
        for column in aggregation.columns {
            switch column {
            case .column(let index):
                guard index < fields.count else { throw .shardsDisagree }
                finalFields.append(fields[index])
            case .average(let sum, let count):
                guard sum < fields.count, count < fields.count else { throw .shardsDisagree }
                let field = fields[sum]
                var result = FieldDescription(name: field.name, tableOID: 0, columnAttributeNumber: 0,
                                              dataTypeOID: TypeOID.numeric, dataTypeSize: -1, typeModifier: -1, format: 0)
                switch field.dataTypeOID {
                case TypeOID.int8, TypeOID.numeric: break
                case TypeOID.float8:
                    result.dataTypeOID = TypeOID.float8
                    result.dataTypeSize = 8
                default:
                    throw .unsupportedType(column: field.name, typeOID: field.dataTypeOID, use: "average")
                }
                finalFields.append(result)
            case .countDistinct(let index, let name):
                guard index < fields.count else { throw .shardsDisagree }
                finalFields.append(FieldDescription(name: name, tableOID: 0, columnAttributeNumber: 0,
                                                    dataTypeOID: TypeOID.int8, dataTypeSize: 8, typeModifier: -1, format: 0))
            case .expression(_, let index):
                guard index < fields.count else { throw .shardsDisagree }
                finalFields.append(fields[index])
            }
        }
        // Expressions: the merge computes what PostgreSQL would, or refuses before any row.
        let evaluator = ExpressionEvaluator(columnTypes: finalFields.map { ExpressionType(typeOID: $0.dataTypeOID) ?? .unsupported },
                                            textIsBytes: textIsBytes)
        for (index, column) in aggregation.columns.enumerated() {
            guard case .expression(let expression, _) = column else { continue }
            if expression.columns.contains(where: { $0 >= aggregation.columns.count || aggregation.columns[$0].isExpression }) {
                throw .shardsDisagree
            }
            let inferred = try evaluator.type(of: expression)
            let field = finalFields[index]
            guard inferred == .unknown || inferred.typeOID == field.dataTypeOID else {
                throw .unsupportedType(column: field.name, typeOID: field.dataTypeOID, use: "compute")
            }
        }
        if let having = aggregation.having {
            let inferred = try evaluator.type(of: having)
            guard inferred == .bool || inferred == .unknown else { throw .unsupportedType(column: "HAVING", typeOID: 0, use: "filter by") }
        }
        self.evaluator = evaluator
    }

    /// A DataRow body from `stream`.
    public func add(stream: Int, row bytes: UnsafeRawBufferPointer) throws(MergeError) {
        let row = try ShardRow(bytes)
        guard row.starts.count == shardFields?.count else { throw .shardsDisagree }
        if plan.aggregation != nil {
            try accumulate(row)
        } else {
            queues[stream].append(row)
            streamBytes[stream] += row.body.count
            queuedBytes += row.body.count
        }
    }

    /// `stream` sent its last row.
    public func finish(stream: Int) throws(MergeError) {
        finished[stream] = true
        if plan.aggregation != nil, finished.allSatisfy({ $0 }) { try finishAggregation() }
    }

    // MARK: Output

    /// The body of the next DataRow for the client, or nil when none is known to be next yet
    /// (or none is left).
    public func nextRow() throws(MergeError) -> [UInt8]? {
        while remaining != 0 {
            let candidate: [UInt8]?
            if plan.aggregation != nil {
                guard readyIndex < ready.count else { return nil }
                candidate = ready[readyIndex]
                readyIndex += 1
            } else {
                guard let stream = try nextStreamToTake() else { return nil }
                let row = queues[stream][heads[stream]]
                heads[stream] += 1
                streamBytes[stream] -= row.body.count
                queuedBytes -= row.body.count
                if heads[stream] >= 64, heads[stream] * 2 >= queues[stream].count {
                    queues[stream].removeFirst(heads[stream])
                    heads[stream] = 0
                }
                if plan.distinct {
                    guard try firstSighting(row, columns: Array(0..<row.starts.count)) else { continue }
                } else if let columns = plan.distinctOn {
                    if plan.order.isEmpty {
                        guard try firstSighting(row, columns: columns) else { continue }
                    } else {
                        // Sorted by the ON expressions first: a key's rows are adjacent.
                        let key = groupKey(row, columns: columns)
                        guard key != lastDistinctKey else { continue }
                        lastDistinctKey = key
                    }
                }
                candidate = row.dropping(plan.hiddenColumns)
            }
            if toSkip > 0 {
                toSkip -= 1
                continue
            }
            if let count = remaining { remaining = count - 1 }
            rowsSent += 1
            guard let candidate, binaryColumns.contains(true) else { return candidate }
            return try binary(candidate)
        }
        return nil
    }

    /// A client row with its binary columns converted from text.
    private func binary(_ body: [UInt8]) throws(MergeError) -> [UInt8] {
        let parsed = body.withUnsafeBytes { bytes in Result { () throws(MergeError) in try ShardRow(bytes) } }
        let row = try parsed.get()
        var values: [[UInt8]?] = []
        for index in row.starts.indices {
            guard let value = row.value(index) else {
                values.append(nil)
                continue
            }
            values.append(binaryColumns[index] ? try BinaryFormat.encode(value, typeOID: clientFields![index].dataTypeOID) : Array(value))
        }
        return dataRowBody(values[...])
    }

    /// The stream whose head row is next; nil when that is not known yet.
    private func nextStreamToTake() throws(MergeError) -> Int? {
        let streams = queues.count
        if plan.order.isEmpty {
            for step in 0..<streams {
                let stream = (nextStream + step) % streams
                if queued(stream) > 0 {
                    nextStream = stream
                    return stream
                }
            }
            return nil
        }
        var best: Int?
        for stream in 0..<streams {
            guard queued(stream) > 0 else {
                if finished[stream] { continue }
                return nil  // its next row might come first
            }
            if let current = best {
                if try compareRows(queues[stream][heads[stream]], queues[current][heads[current]]) < 0 { best = stream }
            } else {
                best = stream
            }
        }
        return best
    }

    private func compareRows(_ a: ShardRow, _ b: ShardRow) throws(MergeError) -> Int {
        for (index, key) in plan.order.enumerated() {
            let result = try compareValues(a.value(key.column), b.value(key.column), key, sortOrders[index])
            if result != 0 { return result }
        }
        return 0
    }

    private func compareValues(_ x: ArraySlice<UInt8>?, _ y: ArraySlice<UInt8>?, _ key: SortKey, _ order: ValueOrder) throws(MergeError) -> Int {
        switch (x, y) {
        case (nil, nil): return 0
        case (nil, _): return key.nullsFirst ? -1 : 1
        case (_, nil): return key.nullsFirst ? 1 : -1
        case (let x?, let y?):
            let result = try order.compare(x, y)
            return key.descending ? -result : result
        }
    }

    /// DISTINCT (ON): whether no row with equal values in `columns` left before.
    private func firstSighting(_ row: ShardRow, columns: [Int]) throws(MergeError) -> Bool {
        let key = groupKey(row, columns: columns)
        guard !seen.contains(key) else { return false }
        try charge(key.count + 48)
        seen.insert(key)
        return true
    }

    private func charge(_ bytes: Int) throws(MergeError) {
        memoryUsed += bytes
        if memoryUsed > maxMemory { throw .outOfMemory(limit: maxMemory) }
    }

    /// One value's part of a group key.
    private static func keyBytes(_ value: [UInt8]?) -> [UInt8] {
        guard let value else { return [0] }
        let length = UInt32(value.count)
        return [1, UInt8(truncatingIfNeeded: length >> 24), UInt8(truncatingIfNeeded: length >> 16),
                UInt8(truncatingIfNeeded: length >> 8), UInt8(truncatingIfNeeded: length)] + value
    }

    /// Equal values of the columns give equal keys: numerics without trailing zeros, floats by
    /// value (-0 = 0, one NaN), the rest by their text.
    private func groupKey(_ row: ShardRow, columns: [Int]) -> [UInt8] {
        var key: [UInt8] = []
        for column in columns {
            guard let value = row.value(column) else {
                key.append(0)
                continue
            }
            key.append(1)
            var normalized: [UInt8]?
            switch column < keyKinds.count ? keyKinds[column] : ValueKind(typeOID: shardFields?[column].dataTypeOID ?? 0) {
            case .numeric:
                normalized = PGNumeric(value).map { Array($0.normalizedKey.utf8) }
            case .float:
                if let number = try? ValueOrder.float(value) {
                    normalized = Array((number.isNaN ? "NaN" : number == 0 ? "0" : String(number.bitPattern)).utf8)
                }
            default:
                break
            }
            let bytes = normalized.map { $0[...] } ?? value
            let length = UInt32(bytes.count)
            key += [UInt8(truncatingIfNeeded: length >> 24), UInt8(truncatingIfNeeded: length >> 16),
                    UInt8(truncatingIfNeeded: length >> 8), UInt8(truncatingIfNeeded: length)]
            key += bytes
        }
        return key
    }

    // MARK: Aggregation

    private struct GroupState {
        // (See finishAggregation for groups folded by a DISTINCT argument.)
        var keyValues: [Int: [UInt8]?]
        var partials: [Int: Accumulator]
    }

    private lazy var keyColumns: [Int] = (0..<(shardFields?.count ?? 0)).filter { plan.aggregation?.partials[$0] == nil }

    private func accumulate(_ row: ShardRow) throws(MergeError) {
        guard let aggregation = plan.aggregation else { return }
        let key = groupKey(row, columns: keyColumns)
        if let index = groups[key] {
            for (column, kind) in aggregation.partials {
                try groupStates[index].partials[column]!.combine(row.value(column), kind: kind, valueKind: partialKinds[column]!)
            }
            return
        }
        var state = GroupState(keyValues: [:], partials: [:])
        var size = key.count + 96
        for column in keyColumns {
            let value = row.value(column).map(Array.init)
            state.keyValues[column] = value
            size += (value?.count ?? 0) + 24
        }
        for (column, kind) in aggregation.partials {
            var accumulator = Accumulator()
            try accumulator.combine(row.value(column), kind: kind, valueKind: partialKinds[column]!)
            state.partials[column] = accumulator
            size += 64
        }
        try charge(size)
        groups[key] = groupStates.count
        groupStates.append(state)
    }

    private func finishAggregation() throws(MergeError) {
        guard !aggregationDone, let aggregation = plan.aggregation else { return }
        aggregationDone = true
        var states = groupStates
        var distinctCounts: [Int64] = []
        let distinctColumns = aggregation.distinctColumns
        if !distinctColumns.isEmpty {
            // The shards grouped by the DISTINCT argument too: fold those groups into the
            // client's, counting the argument's non-NULL values.
            let outer = keyColumns.filter { !distinctColumns.contains($0) }
            var folded: [[UInt8]: Int] = [:]
            var result: [GroupState] = []
            for state in states {
                var key: [UInt8] = []
                for column in outer { key += Self.keyBytes(state.keyValues[column] ?? nil) }
                let counted: Int64 = (distinctColumns.first.flatMap { state.keyValues[$0] } ?? nil) == nil ? 0 : 1
                if let index = folded[key] {
                    for (column, kind) in aggregation.partials {
                        try result[index].partials[column]!.absorb(state.partials[column]!, kind: kind, valueKind: partialKinds[column]!)
                    }
                    distinctCounts[index] += counted
                } else {
                    folded[key] = result.count
                    result.append(state)
                    distinctCounts.append(counted)
                }
            }
            states = result
        }
        if states.isEmpty && aggregation.implicitGroup {
            // No row anywhere and no GROUP BY: one row of empty aggregates.
            var empty = GroupState(keyValues: [:], partials: [:])
            for column in aggregation.partials.keys { empty.partials[column] = Accumulator() }
            states = [empty]
            distinctCounts = [0]
        }
        var rows: [[[UInt8]?]] = []
        rows.reserveCapacity(states.count)
        for (position, state) in states.enumerated() {
            var values: [[UInt8]?] = []
            for column in aggregation.columns {
                switch column {
                case .column(let index):
                    if let accumulator = state.partials[index] {
                        values.append(try accumulator.result(kind: aggregation.partials[index]!, valueKind: partialKinds[index]!,
                                                             float4: shardFields?[index].dataTypeOID == TypeOID.float4))
                    } else {
                        values.append(state.keyValues[index] ?? nil)
                    }
                case .average(let sum, let count):
                    values.append(Accumulator.average(sum: state.partials[sum], count: state.partials[count], valueKind: partialKinds[sum] ?? .numeric))
                case .countDistinct:
                    values.append(Array(String(position < distinctCounts.count ? distinctCounts[position] : 0).utf8))
                case .expression:
                    values.append(nil)
                }
            }
            if let evaluator {
                for (index, column) in aggregation.columns.enumerated() {
                    guard case .expression(let expression, _) = column else { continue }
                    values[index] = ExpressionEvaluator.text(try evaluator.evaluate(expression, values))
                }
                if let having = aggregation.having {
                    guard case .bool(true) = try evaluator.evaluate(having, values) else { continue }
                }
            }
            rows.append(values)
        }
        groups = [:]
        groupStates = []
        if !plan.order.isEmpty {
            var failure: MergeError?
            rows.sort { a, b in
                guard failure == nil else { return false }
                do throws(MergeError) {
                    for (index, key) in plan.order.enumerated() {
                        let result = try compareValues(a[key.column]?[...], b[key.column]?[...], key, sortOrders[index])
                        if result != 0 { return result < 0 }
                    }
                } catch {
                    failure = error
                }
                return false
            }
            if let failure { throw failure }
        }
        ready = rows.map { dataRowBody($0[plan.hiddenColumns...]) }
    }
}

/// The combined value of one aggregate in one group.
struct Accumulator {
    private var seen = false
    private var integer: Int64 = 0
    private var numeric = PGNumeric(0)
    private var float: Double = 0
    private var best: [UInt8]?
    private var flag: Bool?

    /// Adds one shard's value of the aggregate (NULL: the shard had no row for it).
    mutating func combine(_ value: ArraySlice<UInt8>?, kind: AggregateKind, valueKind: ValueKind) throws(MergeError) {
        guard let value else { return }
        var single = Accumulator()
        single.seen = true
        switch kind {
        case .count:
            single.integer = try ValueOrder.integer(value)
        case .sum:
            switch valueKind {
            case .integer: single.integer = try ValueOrder.integer(value)
            case .float: single.float = try ValueOrder.float(value)
            default:
                guard let number = PGNumeric(value) else { throw .unreadableValue(String(decoding: value, as: UTF8.self)) }
                single.numeric = number
            }
        case .min, .max:
            single.best = Array(value)
        case .boolAnd, .boolOr:
            single.flag = value.first == UInt8(ascii: "t")
        }
        try absorb(single, kind: kind, valueKind: valueKind)
    }

    /// Adds another group's accumulator of the same aggregate.
    mutating func absorb(_ other: Accumulator, kind: AggregateKind, valueKind: ValueKind) throws(MergeError) {
        guard other.seen else { return }
        defer { seen = true }
        switch kind {
        case .count, .sum where valueKind == .integer:
            // Counts, and sums of int2/int4 (bigint partials): bigint arithmetic.
            let (sum, overflow) = integer.addingReportingOverflow(other.integer)
            guard !overflow else { throw .bigintOverflow }
            integer = sum
        case .sum:
            switch valueKind {
            case .float:
                float += other.float
            default:
                numeric = seen ? numeric + other.numeric : other.numeric
            }
        case .min, .max:
            guard let value = other.best else { return }
            if let current = best {
                let order = try ValueOrder(kind: valueKind).compare(value[...], current[...])
                if kind == .min ? order < 0 : order > 0 { best = value }
            } else {
                best = value
            }
        case .boolAnd, .boolOr:
            if let truth = other.flag {
                flag = kind == .boolAnd ? (flag ?? true) && truth : (flag ?? false) || truth
            }
        }
    }

    func result(kind: AggregateKind, valueKind: ValueKind, float4: Bool) throws(MergeError) -> [UInt8]? {
        switch kind {
        case .count:
            return Array(String(integer).utf8)
        case .sum:
            guard seen else { return nil }
            switch valueKind {
            case .integer: return Array(String(integer).utf8)
            case .float: return Array(FloatText.format(float4 ? Double(Float(float)) : float, float4: float4).utf8)
            default: return Array(numeric.text.utf8)
            }
        case .min, .max:
            return best
        case .boolAnd, .boolOr:
            return flag.map { $0 ? [UInt8(ascii: "t")] : [UInt8(ascii: "f")] }
        }
    }

    /// `avg`: NULL without rows; numeric division for integer and numeric sums, double otherwise.
    static func average(sum: Accumulator?, count: Accumulator?, valueKind: ValueKind) -> [UInt8]? {
        guard let sum, let count, count.integer > 0, sum.seen else { return nil }
        switch valueKind {
        case .float:
            return Array(FloatText.format(sum.float / Double(count.integer)).utf8)
        case .integer:
            return Array(PGNumeric(sum.integer).divided(by: count.integer).text.utf8)
        default:
            return Array(sum.numeric.divided(by: count.integer).text.utf8)
        }
    }
}

extension FinalColumn {
    var isExpression: Bool { if case .expression = self { true } else { false } }
}
