import Backend
import PGWire

/// Reads one shard link's answers to its session's extended-protocol batches. Made once per
/// link and installed on its connection for each batch (``ClientSession/touch(_:)``): unlike a
/// pair of closures per batch, installing it allocates nothing.
final class BatchAnswerReceiver: BackendReceiver {
    // Unowned: the session and its links outlive every batch; a connection drops its receiver
    // when it goes back to the pool or closes.
    unowned let session: ClientSession
    unowned let link: ShardLink

    init(session: ClientSession, link: ShardLink) {
        self.session = session
        self.link = link
    }

    func backendForward(_ messages: UnsafeRawBufferPointer, from backend: BackendConnection) -> (taken: Int, flow: BackendConnection.Flow) {
        session.shardRun(messages, from: link, backend: backend)
    }

    func backendTakesRuns(from backend: BackendConnection) -> Bool {
        session.laneCanTakeRuns(from: link)
    }

    func backendMessage(_ message: BackendMessage, from backend: BackendConnection) -> BackendConnection.Flow {
        session.shardMessage(message, from: link)
    }

    func backendFinished(_ backend: BackendConnection, failure: BackendError?) {
        // Only a failure ends a batch's reading early; the batch stops reading at its end itself.
        if let failure { session.shardLost(link, failure) }
    }
}
