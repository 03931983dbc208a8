/// How the answers of one statement sent to several shards become one answer.
public enum FanOutMode: Sendable, Equatable {
    /// One shard: everything it says is forwarded as it is.
    case single
    /// Rows of every shard are concatenated; row counts in the command tags add up.
    case concatenate
    /// One shard's answer stands for all (DDL, reference-table writes); the others must agree.
    case firstShard
}

/// Decides, result by result, what of several shards' answers reaches the client. Pure: the
/// caller feeds it what each shard produced and does what it says.
public struct FanOutMerge: Sendable {
    public let mode: FanOutMode
    private let leader: Int
    private(set) public var rowDescriptionSent = false
    private var tags: [Int: [CommandTag]] = [:]
    /// The first error any shard reported, by shard position.
    private(set) public var firstErrorShard: Int?

    /// `shards` are the shard indexes the statement runs on; the lowest answers for `.firstShard`.
    public init(mode: FanOutMode, shards: [Int]) {
        self.mode = mode
        self.leader = shards.min() ?? 0
    }

    /// True once a shard failed: nothing more is forwarded, the error ends the statement.
    public var failed: Bool { firstErrorShard != nil }

    /// A shard described the rows it is about to send: forward the description? Once per row
    /// set in `.single` mode, once per statement otherwise, and only the leader's in `.firstShard`.
    public mutating func descriptionArrived(fromShard shard: Int) -> Bool {
        guard !failed, !rowDescriptionSent else { return false }
        if mode == .firstShard && shard != leader { return false }
        rowDescriptionSent = true
        return true
    }

    /// A shard sent a row: forward it?
    public func rowArrived(fromShard shard: Int) -> Bool {
        guard !failed else { return false }
        return mode != .firstShard || shard == leader
    }

    /// A shard finished a row set or command with `tag`. Returns the tag to send now (single
    /// mode), or nil when the tag waits for the other shards.
    public mutating func completed(fromShard shard: Int, tag: CommandTag) -> CommandTag? {
        if mode == .single {
            // The shard's next row set (a later statement of the message) needs its own description.
            rowDescriptionSent = false
            return tag
        }
        tags[shard, default: []].append(tag)
        return nil
    }

    /// A shard reported an error. Returns true if this is the error the client gets.
    public mutating func errorArrived(fromShard shard: Int) -> Bool {
        guard firstErrorShard == nil else { return false }
        firstErrorShard = shard
        return true
    }

    /// The command tag for the client once every shard finished, and whether the shards
    /// disagreed (reference tables out of step), for `.concatenate` and `.firstShard`.
    public func finalTag() -> (tag: CommandTag?, shardsDisagree: Bool) {
        switch mode {
        case .single:
            return (nil, false)
        case .concatenate:
            let all = tags.keys.sorted().compactMap { tags[$0]?.last }
            return (CommandTag.sum(all), false)
        case .firstShard:
            let leaderTag = tags[leader]?.last
            let disagree = tags.values.contains { $0.last != leaderTag }
            return (leaderTag, disagree)
        }
    }
}
