import Foundation

/// A PostgreSQL installation: the directory with its server programs.
public struct PostgresBinaries: Sendable {
    /// The directory that contains `initdb`, `pg_ctl` and `postgres`.
    public let directory: String

    static let serverPrograms = ["initdb", "pg_ctl", "postgres"]

    /// The installation in `directory`; throws when `initdb`, `pg_ctl` or `postgres` is missing there.
    public init(directory: String) throws {
        guard Self.holdsServerPrograms(directory) else {
            throw LocalClusterError.binariesNotFound(searched: [directory])
        }
        self.directory = directory
    }

    private init(checked directory: String) {
        self.directory = directory
    }

    /// Finds an installation: first a `PATH` directory with `initdb` (a symlinked `initdb`, as in
    /// `/usr/local/bin`, leads to its real directory, which also holds `createdb` and `psql`),
    /// then the highest version under `/usr/lib/postgresql/*/bin`.
    public static func locate() throws -> PostgresBinaries {
        var searched: [String] = []
        let path = ProcessInfo.processInfo.environment["PATH"] ?? ""
        for directory in path.split(separator: ":").map(String.init) where !directory.isEmpty {
            searched.append(directory)
            let initdb = URL(fileURLWithPath: directory).appendingPathComponent("initdb")
            guard FileManager.default.isExecutableFile(atPath: initdb.path) else { continue }
            let realDirectory = initdb.resolvingSymlinksInPath().deletingLastPathComponent().path
            if let found = [realDirectory, directory].first(where: holdsServerPrograms) {
                return PostgresBinaries(checked: found)
            }
        }
        let debianRoot = "/usr/lib/postgresql"
        let versions = (try? FileManager.default.contentsOfDirectory(atPath: debianRoot)) ?? []
        for version in versions.sorted(by: { versionOrder($1).lexicographicallyPrecedes(versionOrder($0)) }) {
            let directory = "\(debianRoot)/\(version)/bin"
            if holdsServerPrograms(directory) { return PostgresBinaries(checked: directory) }
        }
        searched.append("\(debianRoot)/*/bin")
        throw LocalClusterError.binariesNotFound(searched: searched)
    }

    /// The path of `program` in this installation's directory.
    func path(of program: String) -> String {
        URL(fileURLWithPath: directory).appendingPathComponent(program).path
    }

    /// `program` from this installation, else from `PATH`; nil when neither has it.
    func clientProgram(_ program: String) -> String? {
        let own = path(of: program)
        if FileManager.default.isExecutableFile(atPath: own) { return own }
        let path = ProcessInfo.processInfo.environment["PATH"] ?? ""
        return path.split(separator: ":")
            .map { URL(fileURLWithPath: String($0)).appendingPathComponent(program).path }
            .first(where: FileManager.default.isExecutableFile(atPath:))
    }

    private static func holdsServerPrograms(_ directory: String) -> Bool {
        serverPrograms.allSatisfy {
            FileManager.default.isExecutableFile(atPath: URL(fileURLWithPath: directory).appendingPathComponent($0).path)
        }
    }

    /// "9.6" < "15" < "16": numeric components compared in order.
    private static func versionOrder(_ version: String) -> [Int] {
        version.split(separator: ".").map { Int($0) ?? -1 }
    }
}

