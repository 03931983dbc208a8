import ArgumentParser
import Foundation
#if canImport(Glibc)
import Glibc
#endif

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
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var found: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, String(port), &hints, &found) == 0, let address = found else {
            printError("pgshard health: cannot resolve \(host)")
            throw ExitCode(2)
        }
        defer { freeaddrinfo(found) }
        let fd = socket(address.pointee.ai_family, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw ExitCode(2) }
        defer { close(fd) }
        var timeout = timeval(tv_sec: 3, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        guard connect(fd, address.pointee.ai_addr, address.pointee.ai_addrlen) == 0 else {
            printError("pgshard health: cannot connect to \(host):\(port)")
            throw ExitCode(1)
        }
        let request = Array("GET \(path) HTTP/1.1\r\nHost: \(host)\r\nConnection: close\r\n\r\n".utf8)
        _ = request.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        var response: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 1024)
        while response.count < 8192 {
            let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count <= 0 { break }
            response += buffer[0..<count]
        }
        let text = String(decoding: response, as: UTF8.self)
        print(text.split(separator: "\r\n\r\n", maxSplits: 1).last.map(String.init)?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "")
        guard text.hasPrefix("HTTP/1.1 200") else { throw ExitCode(1) }
    }
}
