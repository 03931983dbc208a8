import ArgumentParser
import Foundation
import Proxy
#if canImport(Glibc)
import Glibc
#endif

/// `pgshard hash-password`: prints what to put in `users[].password` instead of a plain
/// password, as PostgreSQL stores it.
struct HashPassword: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hash-password",
        abstract: "Print a SCRAM-SHA-256 verifier (or an md5 hash) for users[].password.",
        discussion: "The password is read from the terminal without echo, or as the first line of standard input.")

    @Option(help: "The user name (part of an md5 hash; a SCRAM verifier does not depend on it).")
    var user: String = ""
    @Flag(help: "Print an md5 hash (for auth: md5) instead of a SCRAM-SHA-256 verifier.")
    var md5 = false

    func run() throws {
        if md5 && user.isEmpty {
            printError("pgshard hash-password: --md5 needs --user: the hash covers the user name")
            throw ExitCode(2)
        }
        let password: String?
        if isatty(0) == 1 {
            password = getpass("Password: ").map { String(cString: $0) }
        } else {
            password = readLine(strippingNewline: true)
        }
        guard let password, !password.isEmpty else {
            printError("pgshard hash-password: no password given")
            throw ExitCode(2)
        }
        print(ProxyConfig.User.storedPassword(password, user: user, method: md5 ? .md5 : .scramSHA256))
    }
}
