import Backend
import Dispatch
#if canImport(Glibc)
import Glibc
#endif

/// The listening TCP socket. Accepted sockets are handed to `onAccept` non-blocking.
///
/// `@unchecked Sendable`: after `init`, touched only on the accept queue given to `start`.
final class Listener: @unchecked Sendable {
    let fileDescriptor: Int32
    /// The port actually bound (useful with port 0 in tests).
    let port: Int
    private var watcher: SocketWatcher?

    init(host: String, port: Int) throws(SystemError) {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV
        var info: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host, String(port), &hints, &info)
        guard status == 0, let address = info else {
            throw SystemError(call: "getaddrinfo(\(host))", errno: status == EAI_SYSTEM ? errno : EINVAL)
        }
        defer { freeaddrinfo(info) }
        let fd = socket(address.pointee.ai_family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        try Syscall.check("socket", fd)
        Syscall.setOption(fd, SOL_SOCKET, SO_REUSEADDR, 1)
        do throws(SystemError) {
            try Syscall.check("bind \(host):\(port)", bind(fd, address.pointee.ai_addr, address.pointee.ai_addrlen))
            try Syscall.check("listen", Glibc.listen(fd, 1024))
        } catch {
            Glibc.close(fd)
            throw error
        }
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        _ = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        let family = storage.ss_family
        let boundPort: UInt16 = withUnsafePointer(to: &storage) { pointer in
            if family == sa_family_t(AF_INET6) {
                return pointer.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { UInt16(bigEndian: $0.pointee.sin6_port) }
            }
            return pointer.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { UInt16(bigEndian: $0.pointee.sin_port) }
        }
        self.fileDescriptor = fd
        self.port = Int(boundPort)
    }

    /// Starts accepting on `queue`. Accept errors other than "none waiting" (e.g. EMFILE) are
    /// reported to `onError` and accepting goes on.
    func start(queue: EventLoop, onAccept: @escaping (Int32) -> Void, onError: @escaping (SystemError) -> Void) {
        let fd = fileDescriptor
        let watcher = SocketWatcher(fileDescriptor: fd, queue: queue, onReadable: { [weak self] in
            while true {
                do throws(SystemError) {
                    guard let client = try Syscall.accept(fd) else { return }
                    Syscall.setOption(client, Int32(IPPROTO_TCP), TCP_NODELAY, 1)
                    onAccept(client)
                } catch {
                    onError(error)
                    // Out of descriptors (EMFILE) keeps the socket readable: pause instead of spinning.
                    self?.pauseAccepting(queue: queue)
                    return
                }
            }
        }, onWritable: {})
        watcher.wantsRead = true
        self.watcher = watcher
    }

    private func pauseAccepting(queue: EventLoop) {
        watcher?.wantsRead = false
        queue.schedule(after: 0.1) { [weak self] in self?.watcher?.wantsRead = true }
    }

    /// Stops accepting and closes the socket.
    func stop() {
        let fd = fileDescriptor
        if let watcher {
            self.watcher = nil
            watcher.cancel { Glibc.close(fd) }
        } else {
            Glibc.close(fd)
        }
    }
}
