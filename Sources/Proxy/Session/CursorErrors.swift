import PGWire
import SQLRouter

// The errors pgshard raises itself about SQL cursors; the ones PostgreSQL also raises read as
// PostgreSQL writes them.
extension ErrorFields {
    /// FETCH, MOVE or CLOSE of a cursor the session does not have.
    static func cursorDoesNotExist(_ name: String) -> ErrorFields {
        .error(.invalidCursorName, "cursor \"\(name)\" does not exist")
    }

    /// DECLARE (or a named Bind) of a name a cursor or portal of the session already has.
    static func cursorAlreadyExists(_ name: String) -> ErrorFields {
        .error(.duplicateCursor, "cursor \"\(name)\" already exists")
    }

    /// A FETCH or MOVE other than forward on a cursor whose rows come shard after shard.
    static func cursorDirectionAcrossShards(_ fetch: CursorFetch, shardCount: Int) -> ErrorFields {
        .error(.featureNotSupported, "\(fetch.directionText) is not supported on cursor \"\(fetch.name)\", which reads \(shardCount) shards",
               hint: "a cursor across shards moves forward only (NEXT, FORWARD n, ALL, FORWARD ALL); for other directions add a condition on the shard key to the cursor's query so it reads one shard")
    }

    /// Execute with a row limit of a FETCH portal on a cursor across shards: the steps
    /// cannot stop in the middle of a shard's answer and go on at the next Execute.
    static func fetchPortalRowLimitAcrossShards(_ name: String) -> ErrorFields {
        .error(.featureNotSupported, "Execute with a row limit of a FETCH on cursor \"\(name)\", which reads several shards, is not supported",
               hint: "execute the FETCH without a row limit: its count already says how many rows to send")
    }
}
