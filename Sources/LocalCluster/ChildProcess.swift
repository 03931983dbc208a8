import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The `posix_spawn` and `waitpid` calls behind `ProcessRunner`.
enum ChildProcess {
    #if canImport(Darwin)
    private typealias FileActions = posix_spawn_file_actions_t?
    private typealias Attributes = posix_spawnattr_t?
    #else
    private typealias FileActions = posix_spawn_file_actions_t
    private typealias Attributes = posix_spawnattr_t
    #endif

    /// Starts `command` with stdin from `/dev/null`, the given stdout and stderr, and no other
    /// descriptor of this process; returns its PID.
    static func spawn(
        _ command: Command,
        standardOutput: Int32,
        standardError: Int32,
        workingDirectory: String?
    ) throws -> pid_t {
        var actions = FileActions()
        var attributes = Attributes()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }

        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, standardOutput, 1)
        posix_spawn_file_actions_adddup2(&actions, standardError, 2)
        // Threads that spawn (Dispatch workers among them) may block signals, and a child inherits
        // its parent's mask and ignored signals: without a reset, SIGTERM would not stop it.
        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        var allSignals = sigset_t()
        sigfillset(&allSignals)
        posix_spawnattr_setsigdefault(&attributes, &allSignals)
        var flags = Int32(POSIX_SPAWN_SETSIGMASK) | Int32(POSIX_SPAWN_SETSIGDEF)
        closeOtherDescriptors(&actions, &flags)
        posix_spawnattr_setflags(&attributes, Int16(flags))
        if let workingDirectory {
            changeDirectory(&actions, workingDirectory)
        }

        let arguments = ([command.executable] + command.arguments).map { strdup($0) }
        let environment = command.environment.map { strdup("\($0.key)=\($0.value)") }
        defer { (arguments + environment).forEach { free($0) } }
        var pid = pid_t()
        let result = posix_spawn(&pid, command.executable, &actions, &attributes, arguments + [nil], environment + [nil])
        guard result == 0 else {
            throw LocalClusterError.launchFailed(command, POSIXError(POSIXErrorCode(rawValue: result) ?? .EIO))
        }
        return pid
    }

    /// The exit status of `pid` once it exits (128 + the signal when killed by one), or nil if
    /// it is still running after `timeout` seconds.
    static func waitForExit(_ pid: pid_t, timeout: TimeInterval) -> Int32? {
        let deadline = Date().addingTimeInterval(timeout)
        var pause: TimeInterval = 0.002
        while true {
            var status: Int32 = 0
            let result = waitpid(pid, &status, WNOHANG)
            if result == pid {
                let signal = status & 0x7F
                return signal == 0 ? (status >> 8) & 0xFF : 128 + signal
            }
            if result == -1 && errno != EINTR {
                return -1
            }
            if Date() >= deadline {
                return nil
            }
            Thread.sleep(forTimeInterval: pause)
            pause = min(pause * 2, 0.05)
        }
    }

    #if canImport(Darwin)
    private static func closeOtherDescriptors(_ actions: inout FileActions, _ flags: inout Int32) {
        // Descriptors named by file actions stay open; every other one is closed at exec.
        flags |= Int32(POSIX_SPAWN_CLOEXEC_DEFAULT)
    }

    private static func changeDirectory(_ actions: inout FileActions, _ directory: String) {
        // Only matters on Linux, where root runs the servers as postgres from a directory that
        // user may not be able to enter (which costs a warning, not a failure).
    }
    #else
    private typealias AddDescriptor = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>?, Int32) -> Int32
    private typealias AddPath = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>?, UnsafePointer<CChar>?) -> Int32

    /// A glibc extension the Glibc module does not import; nil when glibc lacks it.
    private static func glibcFunction<Function>(_ name: String, as type: Function.Type) -> Function? {
        guard let handle = dlopen(nil, RTLD_NOW), let symbol = dlsym(handle, name) else { return nil }
        return unsafeBitCast(symbol, to: type)
    }

    private static func closeOtherDescriptors(_ actions: inout FileActions, _ flags: inout Int32) {
        // glibc 2.34+ closes them all in the child, atomically. Otherwise close those open now;
        // glibc ignores EBADF for descriptors closed meanwhile.
        if let closeFrom = glibcFunction("posix_spawn_file_actions_addclosefrom_np", as: AddDescriptor.self) {
            _ = closeFrom(&actions, 3)
            return
        }
        let open = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []
        for descriptor in open.compactMap({ Int32($0) }) where descriptor > 2 {
            posix_spawn_file_actions_addclose(&actions, descriptor)
        }
    }

    private static func changeDirectory(_ actions: inout FileActions, _ directory: String) {
        if let addChdir = glibcFunction("posix_spawn_file_actions_addchdir_np", as: AddPath.self) {
            _ = addChdir(&actions, directory)
        }
    }
    #endif
}
