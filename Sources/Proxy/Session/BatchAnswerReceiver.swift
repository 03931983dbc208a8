import Backend
import PGWire

/// Reads one shard link's answers to its session's extended-protocol batches. Made once per
/// link and installed on its connection for each batch (``ClientSession/touch(_:)``): unlike a
/// pair of closures per batch, installing it allocates nothing.
final class BatchAnswerReceiver: BackendReceiver {
    // Unowned and unchecked (each checked read costs a retain and a release, several times per
    // transaction): the receiver is installed only on its link's connection, and a link gives
    // its connection up only through `ShardPool.release`, which takes the receiver back
    // (`stopReceiving`) — when the session ends, moves to a reloaded configuration (new links)
    // or drops a broken connection. So while a connection can call it, the link is one of the
    // session's links, and the session is alive.
    unowned(unsafe) let session: ClientSession
    unowned(unsafe) let link: ShardLink

    init(session: ClientSession, link: ShardLink) {
        self.session = session
        self.link = link
    }

    func backendForward(_ messages: UnsafeRawBufferPointer, from backend: BackendConnection) -> (taken: Int, flow: BackendConnection.Flow) {
        session.shardRun(messages, from: link, backend: backend)
    }

    func backendTakesRuns(from backend: BackendConnection) -> Bool {
        // Without the retain and release of each reference that a call through them costs:
        // `laneCanTakeRuns` only reads the batch's state, so nothing can let go of the session
        // or the link while it runs. (The other calls can end the session or replace its links
        // — a client that went away, a reload — and keep them alive for the call.)
        Unmanaged.passUnretained(link)._withUnsafeGuaranteedRef { link in
            Unmanaged.passUnretained(session)._withUnsafeGuaranteedRef { $0.laneCanTakeRuns(from: link) }
        }
    }

    func backendMessage(_ message: BackendMessage, from backend: BackendConnection) -> BackendConnection.Flow {
        session.shardMessage(message, from: link)
    }

    func backendFinished(_ backend: BackendConnection, failure: BackendError?) {
        // Only a failure ends a batch's reading early; the batch stops reading at its end itself.
        if let failure { session.shardLost(link, failure) }
    }
}
