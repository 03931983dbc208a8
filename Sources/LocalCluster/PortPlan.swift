/// Chooses each server's port before a start.
struct PortPlan {
    /// Where the demo's ports start when none are given.
    static let demoPorts = 5433..<5533

    /// Servers already running, by name: they keep the port they have.
    var running: [String: Int] = [:]
    /// The caller's fixed first port: servers get `basePort`, `basePort + 1`, ...
    var basePort: Int?
    /// Ports from `cluster.json`, used again when still free.
    var remembered: [String: Int] = [:]
    /// Persistent clusters take the first free ports from 5433 up; throwaway ones take any.
    var preferDemoPorts: Bool

    /// A port for each of `names`, all distinct.
    func ports(
        for names: [String],
        isFree: (Int) -> Bool,
        anyFreePort: () throws -> Int
    ) throws -> [String: Int] {
        var taken = Set(running.values)
        var ports: [String: Int] = [:]
        for (index, name) in names.enumerated() {
            let port: Int
            if let runningPort = running[name] {
                port = runningPort
            } else if let basePort {
                port = basePort + index
            } else if let rememberedPort = remembered[name], !taken.contains(rememberedPort), isFree(rememberedPort) {
                port = rememberedPort
            } else if preferDemoPorts, let demoPort = Self.demoPorts.first(where: { !taken.contains($0) && isFree($0) }) {
                port = demoPort
            } else {
                port = try Self.distinctPort(avoiding: taken, anyFreePort)
            }
            taken.insert(port)
            ports[name] = port
        }
        return ports
    }

    /// A port from `anyFreePort` not in `taken`.
    static func distinctPort(avoiding taken: Set<Int>, _ anyFreePort: () throws -> Int) throws -> Int {
        for _ in 0..<50 {
            let port = try anyFreePort()
            if !taken.contains(port) { return port }
        }
        throw LocalClusterError.noFreePort()
    }
}
