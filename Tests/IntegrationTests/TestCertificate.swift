import Foundation
import XCTest

/// A throwaway self-signed certificate and key made with the `openssl` command (a copy of the
/// one in ProxyTests: test targets cannot share code).
struct TestCertificate {
    var directory: String
    var certificatePath: String { directory + "/server.crt" }
    var keyPath: String { directory + "/server.key" }

    /// Makes a P-256 key and a certificate for `localhost` in a new temporary directory.
    static func make() throws -> TestCertificate {
        let directory = NSTemporaryDirectory() + "pgshard-tls-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let certificate = TestCertificate(directory: directory)
        try run(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                 "-keyout", certificate.keyPath, "-out", certificate.certificatePath, "-days", "2",
                 "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"])
        return certificate
    }

    /// A second key that belongs to no certificate here.
    func makeOtherKey() throws -> String {
        let path = directory + "/other.key"
        try Self.run(["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-out", path])
        return path
    }

    func remove() {
        try? FileManager.default.removeItem(atPath: directory)
    }

    private static func run(_ arguments: [String]) throws {
        guard let path = ["/usr/bin/openssl", "/usr/local/bin/openssl"].first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            throw XCTSkip("the openssl command is not installed")
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw NSError(domain: "openssl", code: Int(process.terminationStatus), userInfo: [NSLocalizedDescriptionKey: "openssl \(arguments.first ?? "") failed"])
        }
    }
}
