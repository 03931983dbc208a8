// swift-tools-version:6.0
import PackageDescription

/// Release builds leave out the run-time exclusivity checks of class properties and globals:
/// on the proxy's per-statement path they were a tenth of its instructions. Debug builds (the
/// test suite) keep them, so a violation still traps there. docs/performance.md.
let release: [SwiftSetting] = [.unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release))]

let package = Package(
    name: "pgshard",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "pgshard", targets: ["pgshard"]),
    ],
    dependencies: [
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
    ],
    targets: [
        // C libraries, each wrapped by exactly one Swift module.
        .systemLibrary(name: "CLibPQ", pkgConfig: "libpq", providers: [.apt(["libpq-dev"])]),
        .systemLibrary(name: "CPgQuery", providers: [.apt(["libpg-query-dev"])]),
        .systemLibrary(name: "COpenSSL", pkgConfig: "openssl", providers: [.apt(["libssl-dev"])]),
        .systemLibrary(name: "CEpoll"),

        // Pure core.
        .target(name: "PGWire", dependencies: ["COpenSSL"], swiftSettings: release),
        .target(name: "Sharding", swiftSettings: release),
        .target(name: "SQLRouter", dependencies: ["Sharding", "CPgQuery", "Merge"], swiftSettings: release),
        .target(name: "Merge", dependencies: ["PGWire", "Sharding"], swiftSettings: release),

        // I/O shell.
        .target(name: "Backend", dependencies: ["CLibPQ", "COpenSSL", "CEpoll", "PGWire", .product(name: "Logging", package: "swift-log")],
                swiftSettings: release),
        .target(name: "LocalCluster"),
        .target(
            name: "Proxy",
            dependencies: [
                "PGWire", "Sharding", "SQLRouter", "Merge", "Backend", "COpenSSL",
                .product(name: "Yams", package: "Yams"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            swiftSettings: release
        ),
        .executableTarget(
            name: "pgshard",
            dependencies: [
                "Proxy", "LocalCluster", "SQLRouter", "Sharding",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),

        .testTarget(name: "PGWireTests", dependencies: ["PGWire"]),
        .testTarget(name: "ShardingTests", dependencies: ["Sharding"]),
        .testTarget(name: "SQLRouterTests", dependencies: ["SQLRouter", "Sharding"]),
        .testTarget(name: "MergeTests", dependencies: ["Merge", "PGWire"]),
        .testTarget(name: "ProxyTests", dependencies: ["Proxy", "PGWire", "SQLRouter", "Sharding"]),
        .testTarget(
            name: "IntegrationTests",
            dependencies: ["Proxy", "LocalCluster", "Sharding", "Backend", "PGWire", "CLibPQ"]
        ),
    ],
    swiftLanguageModes: [.v6]
)
