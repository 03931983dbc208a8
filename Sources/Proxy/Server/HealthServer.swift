import Backend
import Dispatch
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The HTTP endpoint for orchestrators (`http:` in the configuration): `GET /healthz` answers
/// 200 while the process serves, `GET /readyz` 200 when the configuration is loaded and every
/// shard's primary accepts a connection (checked at most every 2 seconds, in the background),
/// 503 naming the shards that do not. Anything else is 404; requests over 8 KB or slower than
/// 5 seconds are dropped. One small event loop serves it: it never touches a client session.
final class HealthServer: @unchecked Sendable {
    private let listener: Listener
    private let queue = EventLoop(label: "pgshard.http")
    private let shards: [(name: String, conninfo: String)]
    private let connectTimeout: Int
    /// The Prometheus text for `GET /metrics`.
    private let metrics: @Sendable () -> String
    /// Touched on `queue` only.
    private var connections: [Int32: SocketWatcher] = [:]
    private var readiness: (checked: DispatchTime, unreachable: [String])?
    private var checking = false

    var port: Int { listener.port }

    init(host: String, port: Int, shards: [(name: String, conninfo: String)], connectTimeout: Int,
         metrics: @escaping @Sendable () -> String) throws(SystemError) {
        listener = try Listener(host: host, port: port)
        self.metrics = metrics
        self.shards = shards
        self.connectTimeout = connectTimeout
    }

    func start() {
        queue.sync {
            listener.start(queue: queue, onAccept: { [weak self] fd in self?.accepted(fd) }, onError: { _ in })
        }
    }

    func stop() {
        queue.sync {
            listener.stop()
            for (fd, watcher) in connections { watcher.cancel { Glibc.close(fd) } }
            connections = [:]
        }
    }

    private func accepted(_ fd: Int32) {
        var request: [UInt8] = []
        let watcher = SocketWatcher(fileDescriptor: fd, queue: queue, onReadable: { [weak self] in
            guard let self else { return }
            var buffer = [UInt8](repeating: 0, count: 4096)
            let count = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if count < 0, errno == EAGAIN || errno == EINTR { return }
            if count <= 0 { return close(fd) }
            request += buffer[0..<count]
            if request.count > 8192 { return close(fd) }
            guard let end = request.firstRange(of: Array("\r\n\r\n".utf8)) else { return }
            let line = String(decoding: request[..<end.lowerBound], as: UTF8.self).split(separator: "\r\n").first ?? ""
            answer(fd, requestLine: String(line))
        }, onWritable: {})
        watcher.wantsRead = true
        connections[fd] = watcher
        let token = ObjectIdentifier(watcher)
        queue.schedule(after: 5) { [weak self] in
            guard let self, let current = self.connections[fd], ObjectIdentifier(current) == token else { return }
            self.close(fd)
        }
    }

    private func answer(_ fd: Int32, requestLine: String) {
        let parts = requestLine.split(separator: " ")
        guard parts.count >= 2, parts[0] == "GET" || parts[0] == "HEAD" else {
            return respond(fd, status: "405 Method Not Allowed", body: "only GET\n")
        }
        switch parts[1].split(separator: "?").first.map(String.init) ?? "" {
        case "/healthz":
            respond(fd, status: "200 OK", body: "ok\n")
        case "/metrics":
            respond(fd, status: "200 OK", body: metrics(), contentType: "text/plain; version=0.0.4")
        case "/readyz":
            ready { [weak self] unreachable in
                if unreachable.isEmpty {
                    self?.respond(fd, status: "200 OK", body: "ready\n")
                } else {
                    self?.respond(fd, status: "503 Service Unavailable", body: "unreachable shards: \(unreachable.joined(separator: ", "))\n")
                }
            }
        default:
            respond(fd, status: "404 Not Found", body: "not found\n")
        }
    }

    /// The shards whose primary refused a connection at the last check (at most 2 s old); a new
    /// check runs off the queue and answers every request waiting for it.
    private var waiting: [([String]) -> Void] = []

    private func ready(_ completion: @escaping ([String]) -> Void) {
        if let readiness, DispatchTime.now().uptimeNanoseconds - readiness.checked.uptimeNanoseconds < 2_000_000_000 {
            return completion(readiness.unreachable)
        }
        waiting.append(completion)
        guard !checking else { return }
        checking = true
        let shards = self.shards, timeout = connectTimeout
        let queue = self.queue
        DispatchQueue.global().async { [weak self] in
            let unreachable = shards.filter { (try? BlockingConnection(conninfo: $0.conninfo, timeout: timeout)) == nil }.map(\.name)
            queue.async { [weak self] in
                guard let self else { return }
                self.readiness = (DispatchTime.now(), unreachable)
                self.checking = false
                let callbacks = self.waiting
                self.waiting = []
                for callback in callbacks { callback(unreachable) }
            }
        }
    }

    private func respond(_ fd: Int32, status: String, body: String, contentType: String = "text/plain") {
        guard connections[fd] != nil else { return }
        let response = Array("HTTP/1.1 \(status)\r\nContent-Type: \(contentType)\r\nContent-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n\(body)".utf8)
        // Blocking for the rest (metrics can outgrow the socket buffer); a reader that stalls
        // is cut off by the send timeout.
        var timeout = timeval(tv_sec: 2, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let flags = fcntl(fd, F_GETFL)
        _ = fcntl(fd, F_SETFL, flags & ~O_NONBLOCK)
        var sent = 0
        while sent < response.count {
            let count = response[sent...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if count <= 0 { break }
            sent += count
        }
        close(fd)
    }

    private func close(_ fd: Int32) {
        guard let watcher = connections.removeValue(forKey: fd) else { return }
        watcher.cancel { Glibc.close(fd) }
    }
}
