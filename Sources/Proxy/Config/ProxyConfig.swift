import Sharding
import SQLRouter

/// pgshard's configuration, as read from the YAML file (see docs/configuration.md).
public struct ProxyConfig: Sendable, Equatable {
    /// Where clients connect.
    public var listen = Listen()
    /// How clients prove who they are.
    public var auth: AuthMethod = .scramSHA256
    /// Users allowed to connect, with their passwords.
    public var users: [User] = []
    /// Seconds between a failed login and its error, the same for every failure.
    public var authFailureDelay: Double = 0.5
    /// The certificate and key for TLS with clients; without it SSLRequest is answered 'N'.
    public var tls: TLSSettings?
    /// Refuse clients that did not negotiate TLS (28000), like a `hostssl`-only pg_hba.conf.
    public var requireTLS = false
    /// The database name clients must ask for; `nil` accepts any name.
    public var database: String?
    /// The shards, in order: a shard's index in this list is its number in the hash function.
    public var shards: [Shard] = []
    /// How each table is placed, by lower-cased table name.
    public var tables: [String: Table] = [:]
    /// Bounds on what one client may send.
    public var limits = Limits()
    /// Cross-shard merges.
    public var merge = MergeSettings()
    /// Backend connection settings.
    public var backend = BackendSettings()
    /// Transactions across shards (two-phase commit recovery).
    public var transactions = TransactionSettings()
    /// Logging.
    public var log = LogSettings()
    /// How shard connections are shared between clients.
    public var pool = PoolSettings()
    /// Event loops (threads serving clients); nil: one per CPU core.
    public var workers: Int?
    /// Named groups of shards (`shard_groups: { eu: [s0, s1] }`), for `function: group`.
    public var shardGroups: [String: [String]] = [:]
    /// How long SIGTERM/SIGINT waits for running transactions before closing them (seconds).
    public var shutdownTimeout: Double = 30
    /// The HTTP endpoint for health checks (`http: { host, port }`); off when nil.
    public var http: Listen?
    /// The directory database, for tables with `function: directory`.
    public var directory: DirectorySettings?
    /// This instance's node id in the global ids it generates and in the names of its
    /// two-phase commits (`node_id`, 0…1023): instances sharing shards need different ones.
    public var nodeID = 0
    /// Whether statements may need several shards (`cross_shard`); a user may override it.
    public var crossShard: RoutingContext.CrossShard = .allow

    /// When a client gives its shard connections back.
    public enum PoolMode: String, Sendable, Equatable {
        /// At disconnect: the client keeps its shard connections for its whole session.
        case session
        /// At the end of each transaction (or statement outside one): many clients share few
        /// shard connections. Session state that cannot move between connections pins the
        /// client to its connections (see docs/configuration.md).
        case transaction
    }

    /// Shard connection pools: one per shard and per loop (CPU core).
    public struct PoolSettings: Sendable, Equatable {
        public var mode: PoolMode = .transaction
        /// Most connections to each shard (across all loops).
        public var size = 20
        /// Seconds a client waits for a shard connection before 53300.
        public var queryWaitTimeout: Double = 30
        /// Seconds after which an idle connection is closed instead of reused.
        public var lifetime: Double = 3600
        /// Seconds an unused connection stays open in the pool.
        public var idleTimeout: Double = 600
    }

    public init() {}

    /// The listening socket.
    public struct Listen: Sendable, Equatable {
        public var host = "127.0.0.1"
        public var port = 6432
    }

    /// Client authentication methods, with PostgreSQL's pg_hba.conf names.
    public enum AuthMethod: String, Sendable, Equatable, CaseIterable {
        /// SCRAM-SHA-256 (SASL): the password never crosses the wire. The default.
        case scramSHA256 = "scram-sha-256"
        /// MD5 challenge-response; users whose stored credential is a SCRAM verifier get SCRAM,
        /// as in PostgreSQL.
        case md5
        /// The client sends its password in clear text (AuthenticationCleartextPassword).
        case password
        /// Any user name is accepted without a password. For local demos only.
        case trust
    }

    /// A user clients may log in as.
    public struct User: Sendable, Equatable, CustomStringConvertible, CustomDebugStringConvertible {
        public var name: String
        /// As written in the configuration: a password, a SCRAM verifier or an md5 hash. Secret.
        public var password: String
        /// What logins are checked against, derived from `password` once, at load.
        var credential: Credential
        /// This user's `cross_shard`, overriding the global one.
        public var crossShard: RoutingContext.CrossShard?
        /// May use the admin console (database `pgshard`).
        public var admin = false

        /// A user whose `password` is read for `method` (see `Credential.resolve`).
        init(name: String, password: String, method: AuthMethod) throws(CredentialProblem) {
            self.name = name
            self.password = password
            self.credential = try Credential.resolve(password: password, user: name, method: method)
        }

        public static func == (lhs: User, rhs: User) -> Bool {
            lhs.name == rhs.name && lhs.password == rhs.password
        }

        public var description: String { "User(name: \(name), password: ***)" }
        public var debugDescription: String { description }
    }

    /// One shard: a libpq conninfo string or URI for its primary.
    public struct Shard: Sendable, Equatable {
        public var name: String
        public var primary: String
        /// Its share of keys under `consistent` (virtual nodes × weight); 1 by default.
        public var weight = 1
    }

    /// How one table is placed on the shards.
    public enum Table: Sendable, Equatable {
        /// Rows spread by a sharding function over the key column(s).
        case sharded(ShardKeySpec)
        /// A full copy on every shard.
        case reference
        /// The whole table on one shard, by shard name.
        case pinned(shard: String)

        /// A table sharded on one column.
        public static func sharded(key: String, type: ShardKeyType, function: FunctionSpec) -> Table {
            .sharded(ShardKeySpec(columns: [key], types: [type], function: function))
        }
    }

    /// A sharded table's key columns, their types and its function, as configured.
    public struct ShardKeySpec: Sendable, Equatable {
        public var columns: [String]
        public var types: [ShardKeyType]
        public var function: FunctionSpec
        /// How pgshard makes the key of a row inserted without one (`key_generator:`); nil: never.
        public var keyGenerator: KeyGenerator? = nil
    }

    /// A sharding function and its parameters, shards by name.
    public enum FunctionSpec: Sendable, Equatable {
        case hash
        /// Rules hold keys from `from` (inclusive) to `to` (exclusive); either may be open.
        case range(rules: [RangeRule], default: String?)
        case list(rules: [ListRule], default: String?)
        case consistent(vnodes: Int)
        case moduloMD5
        /// Keys looked up in (and new keys recorded to) the directory database under this name.
        case directory(name: String)
        /// First key column → shard group (listed tenants, else `default`; no list: hash over the
        /// groups in name order), second key column → shard inside the group by hash.
        case group(lists: [GroupRule]?, default: String?)
    }

    public struct GroupRule: Sendable, Equatable {
        public var values: [ShardKeyValue]
        public var group: String
    }

    /// Where the `directory` function keeps key → shard (`directory:` at the top level).
    public struct DirectorySettings: Sendable, Equatable {
        /// libpq conninfo of the database holding `pgshard_directory`.
        public var conninfo: String
        /// Known keys kept in memory.
        public var cacheSize = 100_000
    }

    public struct RangeRule: Sendable, Equatable {
        public var from: ShardKeyValue?
        public var to: ShardKeyValue?
        public var shard: String
    }

    public struct ListRule: Sendable, Equatable {
        /// The values (nil for NULL).
        public var values: [ShardKeyValue?]
        public var shard: String
    }

    /// Bounds that keep one client from costing more than it should.
    public struct Limits: Sendable, Equatable {
        /// The largest protocol message a client may send (bytes).
        public var maxMessageSize = 64 << 20
        /// The longest SQL statement text pgshard parses (bytes); longer ones get 54001.
        public var maxStatementSize = 1 << 20
        /// The most client connections at once; more get 53300.
        public var maxClientConnections = 1000
    }

    /// How cross-shard SELECTs are merged.
    public struct MergeSettings: Sendable, Equatable {
        /// The most memory one statement's GROUP BY / DISTINCT state may use (bytes); beyond
        /// it the statement fails with 53200.
        public var maxMemory = 64 << 20
    }

    /// Transactions that write on several shards.
    public struct TransactionSettings: Sendable, Equatable {
        /// Seconds between passes that end the prepared transactions a crash left behind.
        public var recoveryInterval: Double = 10
    }

    /// Settings for connections to the shards.
    public struct BackendSettings: Sendable, Equatable {
        /// Seconds to wait for a shard connection before failing the statement with 08001.
        public var connectTimeout: Double = 5
    }

    /// Log output.
    public struct LogSettings: Sendable, Equatable {
        /// trace, debug, info, notice, warning, error, critical.
        public var level = "info"
        /// One line per event as `key=value` pairs, or as a JSON object.
        public var format = LogFormat.logfmt
    }

    public enum LogFormat: String, Sendable, Equatable {
        case logfmt, json
    }
}
