import ArgumentParser
import Dispatch
import Foundation
import Logging
import Proxy

@main
struct PgShard: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pgshard",
        abstract: "A PostgreSQL sharding proxy.",
        subcommands: [Run.self, Check.self, Demo.self, HashPassword.self, RouteCommand.self, BenchRouter.self, Health.self],
        defaultSubcommand: Run.self
    )
}

/// Options every subcommand that reads a config file takes.
struct ConfigOption: ParsableArguments {
    @Option(name: .shortAndLong, help: "The YAML configuration file.")
    var config: String = "/etc/pgshard/pgshard.yaml"

    func load() throws -> ProxyConfig {
        do {
            return try ProxyConfig.load(path: config)
        } catch {
            for problem in error.problems { printError("\(config): \(problem)") }
            throw ExitCode(2)
        }
    }
}

struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the proxy.")
    @OptionGroup var options: ConfigOption

    func run() throws {
        let config = try options.load()
        let logger = bootstrapLogging(level: config.log.level, format: config.log.format)
        let server = ProxyServer(config: config, logger: logger)
        do {
            try server.start()
        } catch {
            printError("pgshard: \(error)")
            throw ExitCode(1)
        }
        // The admin console's SHUTDOWN ends the process like SIGTERM.
        server.onShutdownRequest { kill(getpid(), SIGTERM) }
        // SIGHUP and the console's RELOAD read the file (and the environment) again.
        let path = options.config
        server.reloadConfiguration { try ProxyConfig.load(path: path) }
        waitForSignal(reload: { _ = server.reload() }) {
            logger.info("shutting down: waiting for running transactions", metadata: ["timeout": "\(config.shutdownTimeout)s"])
            let cut = server.drain(timeout: config.shutdownTimeout)
            logger.info("stopped", metadata: ["connections_cut": "\(cut)"])
        }
    }
}

struct Check: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Validate the configuration and connect to every shard.")
    @OptionGroup var options: ConfigOption

    func run() throws {
        let config = try options.load()
        print("\(options.config): configuration is valid (\(config.shards.count) shards, \(config.tables.count) tables)")
        let lines = ConfigCheck.run(config)
        for line in lines { print(line.ok ? "ok: \(line.text)" : "problem: \(line.text)") }
        if lines.contains(where: { !$0.ok }) { throw ExitCode(1) }
    }
}

func printError(_ text: String) {
    FileHandle.standardError.write(Data((text + "\n").utf8))
}

/// Logs go to standard error, one line per event, as logfmt or JSON.
func bootstrapLogging(level: String, format: ProxyConfig.LogFormat = .logfmt) -> Logger {
    let parsed = Logger.Level(rawValue: level) ?? .info
    LoggingSystem.bootstrap { label in
        var handler = LineLogHandler(label: label, format: format)
        handler.logLevel = parsed
        return handler
    }
    var logger = Logger(label: "pgshard")
    logger.logLevel = parsed
    return logger
}

/// Blocks until SIGINT or SIGTERM, then runs `shutdown` and returns; runs `reload` on each
/// SIGHUP meanwhile.
func waitForSignal(reload: (@Sendable () -> Void)? = nil, _ shutdown: @escaping @Sendable () -> Void) {
    let done = DispatchSemaphore(value: 0)
    var sources: [DispatchSourceSignal] = []
    if let reload {
        signal(SIGHUP, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: SIGHUP, queue: .global())
        source.setEventHandler { reload() }
        source.resume()
        sources.append(source)
    }
    for sig in [SIGINT, SIGTERM] {
        signal(sig, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
        source.setEventHandler { done.signal() }
        source.resume()
        sources.append(source)
    }
    done.wait()
    shutdown()
    _ = sources
}
