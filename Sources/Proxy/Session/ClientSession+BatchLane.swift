import Backend
import PGWire

// The fast lane of the extended protocol. A shard's rows, descriptions and completions arrive
// in runs of bytes (``BackendReceiver/backendForward(_:from:)``); while the client's next owed
// answers are that shard's and reach the client unchanged (or, for pgshard's own Parse, not at
// all), the run is copied to the client as it is and the owed answers it ends are ticked off,
// without a dispatch per message. Whatever needs more — another shard's turn, a merge, an
// Execute read in parts, an error — stops the lane at that message, and ``shardMessage(_:from:)``
// takes it and the rest as before.

extension ClientSession {
    /// Takes the leading messages of `run` (whole pass-through messages of `link`) that the lane
    /// can answer; returns how many bytes it took and whether the shard may go on.
    func shardRun(_ run: UnsafeRawBufferPointer, from link: ShardLink, backend: BackendConnection) -> (taken: Int, flow: BackendConnection.Flow) {
        let ext = extended
        let connection = self.connection  // (each read of the unowned reference checks it)
        var offset = 0
        // Bytes from `unsent` to `offset` are to be forwarded and not yet written.
        var unsent = 0
        // Answers ended since `advance` last ran.
        var ended = false
        lane: while offset < run.count {
            guard ext.nextIsShardAnswer(of: link) else {
                // Something else is next (a local answer, another shard, the batch's end):
                // give what is due before it, then go on if this link's answers follow.
                guard ended else { break }
                forward(run, unsent..<offset, to: connection)
                unsent = offset
                ended = false
                advance()
                // `advance` may have run the batch's next step, which reads the link another way.
                if link.batchReceiver != backend.receiverGeneration { break }
                continue
            }
            // The answer's messages, up to its last.
            repeat {
                guard let step = ext.nextLaneStep(for: run[offset]) else { break lane }
                let end = offset + 1 + Int(UInt32(bigEndian: run.loadUnaligned(fromByteOffset: offset + 1, as: UInt32.self)))
                if !step.forwards {
                    forward(run, unsent..<offset, to: connection)
                    unsent = end
                }
                offset = end
                if step.ends {
                    ext.head += 1
                    ended = true
                    continue lane
                }
            } while offset < run.count
        }
        forward(run, unsent..<offset, to: connection)
        if ended { advance() }
        return (offset, offset == 0 ? .proceed : connection.throttle(backend))
    }

    /// Whether ``shardRun(_:from:backend:)`` could take anything of `link` now: the next owed
    /// answer is the link's and of a kind the lane answers. (A merge, an Execute read in parts
    /// or several shards' Execute take every message the long way.)
    func laneCanTakeRuns(from link: ShardLink) -> Bool {
        let ext = extended
        guard ext.head < ext.owed.count else { return false }
        switch ext.owed[ext.head] {
        case .shard(let owner, let answer): return owner === link && answer.hasLaneSteps
        case .local, .done, .merge: return false
        }
    }

    private func forward(_ run: UnsafeRawBufferPointer, _ range: Range<Int>, to connection: ClientConnection) {
        guard !range.isEmpty else { return }
        connection.output.forward(messages: UnsafeRawBufferPointer(rebasing: run[range]))
    }
}

/// What the fast lane does with one message of an owed answer.
struct LaneStep {
    /// The message reaches the client (not for pgshard's own Parse or a silenced answer).
    var forwards: Bool
    /// The message is the answer's last.
    var ends: Bool
}

extension ShardAnswer {
    /// The lane's step for a pass-through message of type `type` answering this, or nil when
    /// ``ClientSession/shardMessage(_:from:)`` must handle it (the same outcome, by the long way,
    /// or something the lane does not do: hidden parameters, several shards, reading in parts).
    var hasLaneSteps: Bool {
        switch self {
        case .parse, .bind, .describeStatement(_, hiddenParameters: 0), .describePortal, .close: true
        case .execute(let portal, _, _): portal.links.count == 1
        default: false
        }
    }

    @inline(__always)
    func laneStep(for type: UInt8) -> LaneStep? {
        switch self {
        case .parse:
            return type == BackendMessage.parseComplete ? LaneStep(forwards: false, ends: true) : nil
        case .bind(let silent):
            return type == BackendMessage.bindComplete ? LaneStep(forwards: !silent, ends: true) : nil
        case .describeStatement(let silent, hiddenParameters: 0):
            switch type {
            case BackendMessage.parameterDescription: return LaneStep(forwards: !silent, ends: false)
            case BackendMessage.rowDescription, BackendMessage.noData: return LaneStep(forwards: !silent, ends: true)
            default: return nil
            }
        case .describePortal(let silent):
            let isDescription = type == BackendMessage.rowDescription || type == BackendMessage.noData
            return isDescription ? LaneStep(forwards: !silent, ends: true) : nil
        case .close(let silent):
            return type == BackendMessage.closeComplete ? LaneStep(forwards: !silent, ends: true) : nil
        case .execute(let portal, _, let silent) where portal.links.count == 1:
            // One shard: its rows and its completion are the portal's, as they are.
            switch type {
            case BackendMessage.dataRow: return LaneStep(forwards: !silent, ends: false)
            case BackendMessage.commandComplete, BackendMessage.emptyQueryResponse, BackendMessage.portalSuspended:
                return LaneStep(forwards: !silent, ends: true)
            default: return nil
            }
        default:
            return nil
        }
    }
}
