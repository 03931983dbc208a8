import Foundation
import XCTest

/// psql, unchanged, as the tests run it.
enum Psql {
    /// psql with `arguments` after the common ones (`-X`, stop on the first error); `input` on
    /// its standard input.
    static func run(_ arguments: [String], input: String? = nil) throws -> (status: Int32, out: String, err: String) {
        try run(arguments, inputData: Data((input ?? "").utf8))
    }

    /// Input, output and errors go through files: a large input cannot block on a full pipe.
    static func run(_ arguments: [String], inputData: Data) throws -> (status: Int32, out: String, err: String) {
        let candidates = ["/usr/bin/psql", "/usr/lib/postgresql/15/bin/psql"]
        guard let path = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            throw XCTSkip("psql is not installed")
        }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("psql-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let inFile = directory.appendingPathComponent("in"), outFile = directory.appendingPathComponent("out"),
            errFile = directory.appendingPathComponent("err")
        try inputData.write(to: inFile)
        FileManager.default.createFile(atPath: outFile.path, contents: nil)
        FileManager.default.createFile(atPath: errFile.path, contents: nil)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = ["-X", "-v", "ON_ERROR_STOP=1"] + arguments
        var environment = ProcessInfo.processInfo.environment
        environment["PGPASSWORD"] = TestCluster.password
        environment["PGCONNECT_TIMEOUT"] = "10"
        process.environment = environment
        process.standardInput = try FileHandle(forReadingFrom: inFile)
        process.standardOutput = try FileHandle(forWritingTo: outFile)
        process.standardError = try FileHandle(forWritingTo: errFile)
        try process.run()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: try Data(contentsOf: outFile), as: UTF8.self),
                String(decoding: try Data(contentsOf: errFile), as: UTF8.self))
    }
}
