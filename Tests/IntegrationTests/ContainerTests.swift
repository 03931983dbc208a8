import Foundation
import XCTest

/// What can be checked of the Dockerfile without a container engine: its runtime stage installs
/// the Debian packages that own the C libraries the pgshard binary links (the Swift runtime is
/// linked statically there), it builds with --static-swift-stdlib, runs as a non-root user, and
/// every package it names is a real Debian package.
final class ContainerTests: XCTestCase {
    private var repository: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }

    private func run(_ arguments: [String]) -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        do { try process.run() } catch { return (-1, "") }
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    /// The packages of every `apt-get install` in the stage that starts at `FROM image`.
    private func packages(ofStage image: String, in dockerfile: String) -> Set<String> {
        let stages = dockerfile.components(separatedBy: "\nFROM ")
        guard let stage = stages.first(where: { $0.hasPrefix(image) || $0.hasPrefix("FROM " + image) }) else { return [] }
        let joined = stage.replacingOccurrences(of: "\\\n", with: " ")
        var result = Set<String>()
        for line in joined.split(separator: "\n") where line.contains("apt-get install") {
            let words = line.split(separator: " ").map(String.init)
            guard let start = words.firstIndex(of: "install") else { continue }
            for word in words[(start + 1)...] {
                if word == "&&" { break }
                if !word.hasPrefix("-") { result.insert(word) }
            }
        }
        return result
    }

    func testDockerfileInstallsWhatTheBinaryLinks() throws {
        let dockerfile = try String(contentsOf: repository.appendingPathComponent("Dockerfile"), encoding: .utf8)
        XCTAssertTrue(dockerfile.contains("--static-swift-stdlib"))
        XCTAssertTrue(dockerfile.contains("USER 10001"))
        XCTAssertTrue(dockerfile.contains("HEALTHCHECK"))
        XCTAssertTrue(dockerfile.contains("EXPOSE 6432 9930"))
        let runtime = packages(ofStage: "debian:bookworm-slim", in: dockerfile)
        let build = packages(ofStage: "swift:", in: dockerfile)
        XCTAssertFalse(runtime.isEmpty)
        XCTAssertFalse(build.isEmpty)

        // The C libraries the binary needs (the debug build links the Swift runtime dynamically;
        // those libraries are left out, the image links them statically).
        let binary = repository.appendingPathComponent(".build/debug/pgshard").path
        let needed = run(["readelf", "-d", binary]).output.split(separator: "\n").compactMap { line -> String? in
            guard line.contains("(NEEDED)"), let open = line.firstIndex(of: "["), let close = line.firstIndex(of: "]") else { return nil }
            return String(line[line.index(after: open)..<close])
        }
        XCTAssertTrue(needed.contains("libpq.so.5"), "\(needed)")
        let base: Set<String> = ["libc.so.6", "libm.so.6", "ld-linux-x86-64.so.2", "libdl.so.2", "libpthread.so.0", "librt.so.1"]
        for library in needed where !base.contains(library) {
            let located = run(["sh", "-c", "ldd '\(binary)' | awk '$1 == \"\(library)\" { print $3 }'"]).output.trimmingCharacters(in: .whitespacesAndNewlines)
            if located.hasPrefix("/opt/swift") || located.contains("/swift/") { continue }
            // dpkg knows /usr/lib paths; ldd may print the /lib alias of merged-/usr systems.
            let owner = run(["dpkg", "-S", "*/\(library)"]).output.split(separator: "\n").first?
                .split(separator: ":").first.map(String.init) ?? ""
            XCTAssertFalse(owner.isEmpty, "no package owns \(library) (\(located))")
            XCTAssertTrue(runtime.contains(owner), "\(library) comes from \(owner), which the runtime stage does not install: \(runtime.sorted())")
        }

        // Every named package is a Debian package (installed here, or known to apt).
        let hasAptLists = (try? FileManager.default.contentsOfDirectory(atPath: "/var/lib/apt/lists"))?.contains { $0.hasSuffix("Packages") } ?? false
        for package in runtime.union(build) {
            let installed = run(["dpkg", "-s", package]).status == 0
            if !installed && hasAptLists {
                XCTAssertEqual(run(["apt-cache", "show", package]).status, 0, "\(package) is not a Debian package")
            }
        }
    }
}
