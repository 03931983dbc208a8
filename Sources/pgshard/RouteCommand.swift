import ArgumentParser
import Proxy

/// `pgshard route`: which shard a statement or a key goes to, from the configuration alone.
struct RouteCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "route",
        abstract: "Show where statements or keys go, without connecting to any shard.",
        discussion: """
            pgshard route -c pgshard.yaml "SELECT * FROM users WHERE id = 123"
            pgshard route -c pgshard.yaml --table users --key 123
            """)

    @OptionGroup var options: ConfigOption
    @Option(help: "A table of the configuration (with --key).")
    var table: String?
    @Option(help: "A key value of --table, written as in SQL without quotes.")
    var key: String?
    @Option(help: "Route as this user (its cross_shard setting).")
    var user: String?
    @Argument(help: "SQL statements to route.")
    var sql: String?

    func validate() throws {
        if (table == nil) != (key == nil) { throw ValidationError("give --table and --key together") }
        if table == nil && sql == nil { throw ValidationError("give SQL to route, or --table and --key") }
    }

    func run() throws {
        let config = try options.load()
        if let table, let key {
            switch RouteReport.key(key, table: table, config: config) {
            case .success(let line): print(line)
            case .failure(let error):
                printError("pgshard route: \(error.sqlState) \(error.message)" + (error.hint.map { " (hint: \($0))" } ?? ""))
                throw ExitCode(1)
            }
        }
        if let sql {
            let lines = RouteReport.statements(sql, config: config, user: user)
            for line in lines { print(line) }
            if lines.contains(where: { $0.hasPrefix("pgshard: refused") }) { throw ExitCode(1) }
        }
    }
}
