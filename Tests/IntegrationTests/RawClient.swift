import Foundation
import PGWire
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// A bare-socket client for sending what libpq never would: malformed, oversized and
/// truncated messages. Blocking, with a receive timeout so a test never hangs.
final class RawClient {
    private let fd: Int32

    init(port: Int) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard result == 0 else { throw POSIXError(.ECONNREFUSED) }
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    deinit { close(fd) }

    func send(_ bytes: [UInt8]) {
        _ = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    }

    /// A typed message: type byte, length, body.
    static func message(_ type: Character, _ body: [UInt8]) -> [UInt8] {
        [type.asciiValue!] + int32(Int32(body.count + 4)) + body
    }

    static func int32(_ v: Int32) -> [UInt8] {
        withUnsafeBytes(of: v.bigEndian) { Array($0) }
    }

    static func cString(_ s: String) -> [UInt8] { Array(s.utf8) + [0] }

    static func startup(user: String, database: String) -> [UInt8] {
        let body = int32(196608) + cString("user") + cString(user) + cString("database") + cString(database) + [0]
        return int32(Int32(body.count + 4)) + body
    }

    /// Reads exactly `count` bytes; nil on EOF or timeout.
    func read(_ count: Int) -> [UInt8]? {
        var result: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: max(count, 1))
        while result.count < count {
            let n = buffer.withUnsafeMutableBytes { Glibc.recv(fd, $0.baseAddress, count - result.count, 0) }
            if n <= 0 { return nil }
            result += buffer[0..<n]
        }
        return result
    }

    /// One server message: (type, body); nil on EOF.
    func readMessage() -> (type: Character, body: [UInt8])? {
        guard let header = read(5) else { return nil }
        let length = Int(Int32(bigEndian: header[1...4].withUnsafeBytes { $0.loadUnaligned(as: Int32.self) }))
        guard let body = read(length - 4) else { return nil }
        return (Character(UnicodeScalar(header[0])), body)
    }

    /// Messages up to and including ReadyForQuery, or up to EOF.
    func readUntilReady() -> [(type: Character, body: [UInt8])] {
        var messages: [(type: Character, body: [UInt8])] = []
        while let message = readMessage() {
            messages.append(message)
            if message.type == "Z" { break }
        }
        return messages
    }

    /// True when the server closed the connection.
    func isClosedByServer() -> Bool { read(1) == nil }

    /// Logs in as `user`, answering whichever authentication request comes (SCRAM-SHA-256,
    /// MD5 or cleartext); fails the test unless it ends in ReadyForQuery.
    func login(user: String = "app", password: String = TestCluster.password, file: StaticString = #filePath, line: UInt = #line) {
        let messages = authenticate(user: user, password: password)
        XCTAssertEqual(messages.last?.type, "Z", "\(messages.map(\.type))", file: file, line: line)
    }

    /// Sends a startup packet and answers the authentication requests; returns every message
    /// from the first request up to ReadyForQuery, an ErrorResponse, or EOF.
    @discardableResult
    func authenticate(user: String, password: String) -> [(type: Character, body: [UInt8])] {
        send(Self.startup(user: user, database: TestCluster.database))
        var messages: [(type: Character, body: [UInt8])] = []
        var scram: SCRAMTestClient?
        while let message = readMessage() {
            messages.append(message)
            guard message.type == "R" else {
                if message.type == "Z" || message.type == "E" { break }
                continue
            }
            let code = Self.authenticationCode(message.body)
            let data = Array(message.body.dropFirst(4))
            switch code {
            case 3:
                send(Self.message("p", Self.cString(password)))
            case 5:
                let storedHash = MD5Password.storedHash(password: password, user: user)
                send(Self.message("p", MD5Password.expectedResponse(storedHash: storedHash, salt: data) + [0]))
            case 10:
                let client = SCRAMTestClient(password: password, nonce: SCRAMServer.randomNonce())
                scram = client
                send(Self.message("p", Self.cString("SCRAM-SHA-256") + Self.int32(Int32(client.clientFirst.count)) + client.clientFirst))
            case 11:
                guard let final = scram?.clientFinal(serverFirst: data) else { return messages }
                send(Self.message("p", final.message))
            default:
                break
            }
        }
        return messages
    }

    /// The authentication request code of an `R` message body.
    static func authenticationCode(_ body: [UInt8]) -> Int32 {
        Int32(bigEndian: body.prefix(4).withUnsafeBytes { $0.loadUnaligned(as: Int32.self) })
    }

    /// The fields of an ErrorResponse body by code.
    static func fields(_ body: [UInt8]) -> [Character: String] {
        var result: [Character: String] = [:]
        var i = 0
        while i < body.count, body[i] != 0 {
            let code = Character(UnicodeScalar(body[i]))
            let end = body[(i + 1)...].firstIndex(of: 0)!
            result[code] = String(decoding: body[(i + 1)..<end], as: UTF8.self)
            i = end + 1
        }
        return result
    }
}

extension RawClient {
    // What a client sends in the extended protocol and during COPY.

    static func parse(_ name: String, _ sql: String, types: [UInt32] = []) -> [UInt8] {
        var body = cString(name) + cString(sql) + int16(types.count)
        for type in types { body += int32(Int32(bitPattern: type)) }
        return message("P", body)
    }

    /// Bind with text parameters (nil: NULL) and `resultFormats` as in Bind (none: all text).
    static func bind(_ portal: String, _ statement: String, _ parameters: [String?] = [], resultFormats: [Int16] = []) -> [UInt8] {
        var body = cString(portal) + cString(statement) + int16(0) + int16(parameters.count)
        for parameter in parameters {
            if let parameter { body += int32(Int32(parameter.utf8.count)) + Array(parameter.utf8) } else { body += int32(-1) }
        }
        body += int16(resultFormats.count)
        for format in resultFormats { body += int16(Int(format)) }
        return message("B", body)
    }

    static func describe(statement name: String) -> [UInt8] { message("D", [UInt8(ascii: "S")] + cString(name)) }
    static func describe(portal name: String) -> [UInt8] { message("D", [UInt8(ascii: "P")] + cString(name)) }
    static func execute(_ portal: String, rows: Int32 = 0) -> [UInt8] { message("E", cString(portal) + int32(rows)) }
    static func query(_ sql: String) -> [UInt8] { message("Q", cString(sql)) }
    static let sync = message("S", [])
    static let flush = message("H", [])
    static func copyData(_ bytes: [UInt8]) -> [UInt8] { message("d", bytes) }
    static func copyData(_ text: String) -> [UInt8] { copyData(Array(text.utf8)) }
    static let copyDone = message("c", [])
    static func copyFail(_ reason: String) -> [UInt8] { message("f", cString(reason)) }

    static func int16(_ v: Int) -> [UInt8] { [UInt8(truncatingIfNeeded: v >> 8), UInt8(truncatingIfNeeded: v)] }

    /// Messages up to and including the first of `type` (or ReadyForQuery, or EOF).
    func readUntil(_ type: Character) -> [(type: Character, body: [UInt8])] {
        var messages: [(type: Character, body: [UInt8])] = []
        while let message = readMessage() {
            messages.append(message)
            if message.type == type || message.type == "Z" { break }
        }
        return messages
    }

    /// The text of a CommandComplete body.
    static func tag(_ body: [UInt8]) -> String { String(decoding: body.prefix { $0 != 0 }, as: UTF8.self) }
}
