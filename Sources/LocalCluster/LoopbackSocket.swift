import Foundation

#if canImport(Glibc)
import Glibc
private let streamSocketType = Int32(SOCK_STREAM.rawValue)
#elseif canImport(Darwin)
import Darwin
private let streamSocketType = SOCK_STREAM
#endif

/// TCP probes on 127.0.0.1: is a port free, does a server accept connections on it.
enum LoopbackSocket {
    /// A port the kernel considers free right now (bind to port 0, read it back, close).
    static func ephemeralPort() throws -> Int {
        guard let port = withSocket({ descriptor -> Int? in
            var address = loopbackAddress(port: 0)
            guard bind(descriptor, &address) == 0 else { return nil }
            var bound = sockaddr_in()
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            let named = withUnsafeMutablePointer(to: &bound) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) }
            }
            guard named == 0 else { return nil }
            return Int(UInt16(bigEndian: bound.sin_port))
        }) ?? nil else {
            throw LocalClusterError.noFreePort()
        }
        return port
    }

    /// Whether a server could bind `port` on 127.0.0.1 now. `SO_REUSEADDR` as PostgreSQL sets
    /// it, so a port whose old connections linger in TIME_WAIT still counts as free.
    static func isFree(port: Int) -> Bool {
        withSocket { descriptor in
            var on: Int32 = 1
            setsockopt(descriptor, SOL_SOCKET, SO_REUSEADDR, &on, socklen_t(MemoryLayout<Int32>.size))
            var address = loopbackAddress(port: port)
            return bind(descriptor, &address) == 0
        } ?? false
    }

    /// Whether something accepts TCP connections on 127.0.0.1:`port`.
    static func accepts(port: Int) -> Bool {
        withSocket { descriptor in
            var address = loopbackAddress(port: port)
            let connected = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
            return connected == 0
        } ?? false
    }

    /// Polls `accepts(port:)` until it is true or `timeout` seconds pass.
    static func waitUntilAccepting(port: Int, timeout: TimeInterval) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            if accepts(port: port) { return true }
            if Date() >= deadline { return false }
            Thread.sleep(forTimeInterval: 0.05)
        }
    }

    /// Runs `body` with a fresh IPv4 stream socket and closes it; nil when no socket can be made.
    private static func withSocket<T>(_ body: (Int32) -> T) -> T? {
        let descriptor = socket(AF_INET, streamSocketType, 0)
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        return body(descriptor)
    }

    private static func bind(_ descriptor: Int32, _ address: inout sockaddr_in) -> Int32 {
        withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                #if canImport(Glibc)
                Glibc.bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                #else
                Darwin.bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                #endif
            }
        }
    }

    private static func loopbackAddress(port: Int) -> sockaddr_in {
        var address = sockaddr_in()
        #if canImport(Darwin)
        address.sin_len = UInt8(MemoryLayout<sockaddr_in>.size)
        #endif
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        return address
    }
}
