import Backend
import PGWire
import SQLRouter

// COPY in the extended protocol: `COPY … FROM STDIN`, and `COPY … TO STDOUT` across shards. The
// portal lives in pgshard only: Bind answers BindComplete, Describe NoData, as PostgreSQL does
// for a COPY. Its Execute waits until every earlier answer of the batch has been given, then
// runs the COPY as a simple Query's COPY runs (``ShardCopyIn``, ``ShardFanOut``), its answers
// going straight to the client. Outside a transaction block the COPY's shards run it inside a
// transaction block that the batch's Sync commits with the rest of the batch (in two phases
// across shards) or rolls back after an error: the batch stays one implicit transaction, as in
// PostgreSQL. The Sync that drivers send right after Execute, before their data (postgres-nio,
// libpq), arrives during COPY and is ignored, as PostgreSQL ignores it.

extension ClientSession {
    /// Whether pgshard runs a portal of this route itself as a COPY.
    static func isCopyPortal(_ route: Route) -> Bool {
        switch route {
        case .copyIn, .scatter(_, .copyOut): true
        default: false
        }
    }

    /// Bind of a COPY: nothing goes to the shards before Execute.
    func bindCopy(_ bind: Bind, statement: ClientStatement, route: Route) {
        // The shards never see this Bind: check what PostgreSQL checks.
        guard bind.parameters.count == statement.parameterTypes.count else {
            return failBatch(.error(.protocolViolation,
                "bind message supplies \(bind.parameters.count) parameters, but prepared statement \"\(bind.statement)\" requires \(statement.parameterTypes.count)"))
        }
        ext.portals[bind.portal] = ClientPortal(name: bind.portal, statement: statement, route: route, links: [], mode: .single)
        owe(.local(.bindComplete))
    }

    /// Describe of a COPY statement: its declared parameter types and no rows. False for other
    /// statements.
    func describeCopyStatement(_ statement: ClientStatement) -> Bool {
        guard let route = statement.routed?.route, Self.isCopyPortal(route) else { return false }
        owe(.local(.parameterDescription(statement.parameterTypes)))
        owe(.local(.noData))
        return true
    }

    /// Execute of a COPY portal; false for other portals.
    func executeCopy(_ portal: ClientPortal) -> Bool {
        guard Self.isCopyPortal(portal.route) else { return false }
        guard portal.cursor == 0 else {
            // A COPY portal runs once, as in PostgreSQL.
            failBatch(.error(.objectNotInPrerequisiteState, "portal \"\(portal.name)\" cannot be run"))
            return true
        }
        portal.cursor = 1
        let sql = portal.statement.sql
        runAside { [self] done in
            forwardedNotices = []
            switch portal.route {
            case .copyIn(let plan):
                ext.mayHaveWritten = true
                runCopyIn(plan, sql: sql, commit: .withBatch) { [self] ok in
                    joinBatch(plan.shards)
                    done(ok)
                }
            case .scatter(let shards, .copyOut(let header)):
                runCopyOut(shards, sql: sql, header: header) { [self] ok in
                    joinBatch(shards)
                    done(ok)
                }
            default:
                preconditionFailure("not a COPY portal: \(portal.route)")
            }
        }
        return true
    }

    /// `COPY … TO STDOUT` across shards: their data concatenated by ``ShardFanOut``.
    private func runCopyOut(_ shards: [Int], sql: String, header: Bool, completion: @escaping (Bool) -> Void) {
        let targets = shards.map { links[$0] }
        prepare(targets, begin: transaction == nil) { [self] error in
            if let error {
                fail(error)
                return completion(false)
            }
            // Error positions count from the start of the Parse text, which is `sql`.
            let fanOut = ShardFanOut(session: self, links: targets, mode: .concatenate, positionOffset: 0, copyHeader: header)
            fanOut.run(sql) { [self] ok in
                if !ok { transaction?.failed = true }
                reportParameterChanges(targets)
                completion(ok)
            }
        }
    }

    /// After a COPY outside a transaction block: the shards it left in a transaction block
    /// become part of the batch, which ends those blocks at Sync.
    private func joinBatch(_ shards: [Int]) {
        guard transaction == nil else { return }
        for shard in shards {
            let link = links[shard]
            guard link.isUsable, link.connection?.serverTransactionStatus != .idle else { continue }
            ext.openedBlocks.insert(shard)
            touch(link)
        }
    }

    /// A BEGIN of the batch after its COPY: the blocks the COPY opened become the client's
    /// transaction on those shards (in PostgreSQL, BEGIN inside the implicit transaction of a
    /// batch keeps what the batch did).
    func adoptOpenedBlocks() {
        guard transaction != nil else { return }
        for shard in ext.openedBlocks { links[shard].inTransaction = true }
        ext.openedBlocks = []
    }

    /// A ROLLBACK of the batch outside a transaction block rolls back what the batch's COPY
    /// did, as PostgreSQL rolls back the batch's implicit transaction (and warns); then `next`.
    func endOpenedBlocks(before command: SessionCommand, next: @escaping () -> Void) {
        guard case .rollback = command, transaction == nil, !ext.openedBlocks.isEmpty else { return next() }
        let blocks = ext.openedBlocks.map { links[$0] }
        ext.openedBlocks = []
        rollBack(blocks, completion: next)
    }
}
