import Foundation

/// `<root>/cluster.json`: the port each server got, so the next run of the same cluster (the
/// demo, or a restart in a test) keeps its addresses.
struct ClusterManifest: Codable, Equatable, Sendable {
    /// One server's remembered port.
    struct Server: Codable, Equatable, Sendable {
        var name: String
        var port: Int
    }

    var servers: [Server]

    /// Ports by server name.
    var ports: [String: Int] {
        Dictionary(servers.map { ($0.name, $0.port) }, uniquingKeysWith: { first, _ in first })
    }

    /// The manifest at `path`; nil when it is missing or unreadable (ports are then chosen afresh).
    static func load(from path: String) -> ClusterManifest? {
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        return try? JSONDecoder().decode(ClusterManifest.self, from: data)
    }

    func save(to path: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(self).write(to: URL(fileURLWithPath: path), options: .atomic)
    }
}
