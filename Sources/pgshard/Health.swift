import ArgumentParser
import Proxy

/// `pgshard health`: asks a running pgshard's HTTP endpoint (`http:`) for `/healthz` (or
/// `--path /readyz`) and exits 0 on 200 — for container HEALTHCHECKs, without curl in the image.
struct Health: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Check a running pgshard's /healthz (exit 0 when healthy).")

    @Option(help: "The host of the HTTP endpoint.")
    var host = "127.0.0.1"
    @Option(help: "The port of the HTTP endpoint.")
    var port = 9930
    @Option(help: "The path to ask for.")
    var path = "/healthz"

    func run() throws {
        guard let response = HTTPProbe.get(host: host, port: port, path: path) else {
            printError("pgshard health: cannot reach \(host):\(port)")
            throw ExitCode(1)
        }
        print(response.body, terminator: "")
        guard response.status == 200 else { throw ExitCode(1) }
    }
}
