import Foundation
import Yams

/// Configuration from the environment, as containers pass it: `${NAME}` / `${NAME:-default}` in
/// the file, and `PGSHARD_<PATH>` variables that override single settings.
extension ProxyConfig {
    /// The settings an environment variable can set: `PGSHARD_` and the path in upper case with
    /// `.` as `_` (`PGSHARD_LISTEN_PORT`, `PGSHARD_POOL_QUERY_WAIT_TIMEOUT`).
    public static let environmentSettings = [
        "listen.host", "listen.port", "http.host", "http.port", "auth", "auth_failure_delay", "require_tls", "database",
        "tls.cert", "tls.key", "cross_shard", "workers", "pool.mode", "pool.size", "pool.query_wait_timeout", "pool.lifetime",
        "pool.idle_timeout", "limits.max_message_size", "limits.max_statement_size", "limits.max_client_connections",
        "backend.connect_timeout", "log.level", "log.format", "directory.conninfo", "directory.cache_size", "shutdown_timeout",
        "node_id",
    ]

    /// Parses `yaml` after expanding `${NAME}` references and applying `PGSHARD_…` overrides
    /// from `environment`.
    public static func parse(yaml: String, environment: [String: String]) throws(ConfigError) -> ProxyConfig {
        var problems: [ConfigProblem] = []
        let expanded = expand(yaml, environment: environment, problems: &problems)
        guard problems.isEmpty else { throw ConfigError(problems: problems) }
        var root: Any?
        do {
            root = try Yams.load(yaml: expanded)
        } catch {
            throw ConfigError(problems: [ConfigProblem(path: "", message: "not valid YAML: \(error)")])
        }
        var top = root as? [String: Any] ?? [:]
        for path in environmentSettings {
            let name = "PGSHARD_" + path.uppercased().replacingOccurrences(of: ".", with: "_")
            guard let text = environment[name] else { continue }
            // The value is read as YAML: `7000` is a number, `true` a boolean, `5s` a string.
            let value = (try? Yams.load(yaml: text)).flatMap { $0 } ?? text
            let parts = path.split(separator: ".").map(String.init)
            if parts.count == 1 {
                top[parts[0]] = value
            } else {
                var section = top[parts[0]] as? [String: Any] ?? [:]
                section[parts[1]] = value
                top[parts[0]] = section
            }
        }
        return try parse(root: top)
    }

    /// `${NAME}` and `${NAME:-default}`; an unset name without default is a problem.
    static func expand(_ text: String, environment: [String: String], problems: inout [ConfigProblem]) -> String {
        var result = ""
        var rest = Substring(text)
        while let start = rest.range(of: "${") {
            result += rest[..<start.lowerBound]
            guard let end = rest[start.upperBound...].firstIndex(of: "}") else {
                result += rest[start.lowerBound...]
                return result
            }
            let reference = rest[start.upperBound..<end]
            let (name, fallback): (Substring, Substring?) = {
                if let separator = reference.range(of: ":-") {
                    return (reference[..<separator.lowerBound], reference[separator.upperBound...])
                }
                return (reference, nil)
            }()
            if let value = environment[String(name)] {
                result += value
            } else if let fallback {
                result += fallback
            } else {
                problems.append(ConfigProblem(path: "", message: "environment variable \(name) is not set (referenced as ${\(reference)})"))
            }
            rest = rest[rest.index(after: end)...]
        }
        return result + rest
    }
}
