import Backend
import Dispatch
import Foundation
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// The event loop that runs sessions: work posted from other threads, timers, and sockets, all
/// on the loop's own thread. No server needed.
final class EventLoopTests: XCTestCase {
    func testWorkFromOtherThreadsRunsOnTheLoopInOrder() {
        let loop = EventLoop(label: "test.order")
        let done = expectation(description: "all posted work ran")
        let seen = Locked<[Int]>([])
        for index in 0..<100 {
            loop.async {
                precondition(loop.inLoop)
                seen.update { $0.append(index) }
                if index == 99 { done.fulfill() }
            }
        }
        wait(for: [done], timeout: 10)
        XCTAssertEqual(seen.value, Array(0..<100))
        XCTAssertFalse(loop.inLoop)
    }

    func testSyncReturnsTheValueAndRunsInlineOnTheLoop() {
        let loop = EventLoop(label: "test.sync")
        XCTAssertEqual(loop.sync { loop.inLoop ? 42 : 0 }, 42)
        // Called on the loop, sync runs at once instead of waiting for itself.
        let nested = loop.sync { loop.sync { "inner" } + "+outer" }
        XCTAssertEqual(nested, "inner+outer")
    }

    func testWorkTheLoopGivesItselfRunsAfterTheCurrentWork() {
        let loop = EventLoop(label: "test.later")
        let order = Locked<[String]>([])
        let done = expectation(description: "later ran")
        loop.sync {
            loop.async {
                order.update { $0.append("later") }
                done.fulfill()
            }
            order.update { $0.append("now") }
        }
        wait(for: [done], timeout: 10)
        XCTAssertEqual(order.value, ["now", "later"])
    }

    func testTimersFireInDeadlineOrderAndCancelledOnesNever() {
        let loop = EventLoop(label: "test.timers")
        let fired = Locked<[String]>([])
        let done = expectation(description: "last timer fired")
        loop.sync {
            loop.schedule(after: 0.06) {
                fired.update { $0.append("c") }
                done.fulfill()
            }
            loop.schedule(after: 0.02) { fired.update { $0.append("a") } }
            let cancelled = loop.schedule(after: 0.01) { fired.update { $0.append("cancelled") } }
            loop.schedule(after: 0.04) { fired.update { $0.append("b") } }
            cancelled.cancel()
        }
        wait(for: [done], timeout: 10)
        XCTAssertEqual(fired.value, ["a", "b", "c"])
    }

    func testRepeatingTimerRunsUntilCancelled() {
        let loop = EventLoop(label: "test.repeat")
        let count = Locked(0)
        let third = expectation(description: "third run")
        let timer = loop.sync { () -> LoopTimer in
            var timer: LoopTimer?
            timer = loop.schedule(after: 0.005, every: 0.005) {
                count.update { $0 += 1 }
                if count.value == 3 {
                    timer?.cancel()
                    third.fulfill()
                }
            }
            return timer!
        }
        wait(for: [third], timeout: 10)
        // A few more turns of the loop: a cancelled timer does not come back.
        for _ in 0..<5 {
            loop.sync {}
            usleep(10_000)
        }
        XCTAssertEqual(count.value, 3)
        _ = timer
    }

    func testTimerScheduledFromAnotherThreadFires() {
        let loop = EventLoop(label: "test.foreign-timer")
        let done = expectation(description: "timer fired")
        loop.schedule(after: 0.01) {
            precondition(loop.inLoop)
            done.fulfill()
        }
        wait(for: [done], timeout: 10)
    }

    func testWatcherHearsReadableSocketAndCloseRunsAfterCancel() throws {
        let loop = EventLoop(label: "test.socket")
        var fds: [Int32] = [0, 0]
        XCTAssertEqual(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0, &fds), 0)
        let (mine, peer) = (fds[0], fds[1])
        defer { Glibc.close(peer) }
        let received = Locked<[UInt8]>([])
        let readable = expectation(description: "readable")
        let closed = expectation(description: "close ran")
        let watcher = loop.sync { () -> SocketWatcher in
            let watcher = SocketWatcher(fileDescriptor: mine, queue: loop, onReadable: {
                var byte: UInt8 = 0
                while read(mine, &byte, 1) == 1 { received.update { $0.append(byte) } }
                readable.fulfill()
            }, onWritable: {})
            watcher.wantsRead = true
            return watcher
        }
        var byte: UInt8 = 7
        XCTAssertEqual(write(peer, &byte, 1), 1)
        wait(for: [readable], timeout: 10)
        XCTAssertEqual(received.value, [7])
        loop.sync {
            watcher.cancel {
                XCTAssertEqual(Glibc.close(mine), 0)
                closed.fulfill()
            }
            // Cancelled: nothing more is delivered, even if the peer writes.
            watcher.wantsRead = true
        }
        byte = 8
        // The socket may be closed already: no SIGPIPE.
        _ = send(peer, &byte, 1, Int32(MSG_NOSIGNAL))
        wait(for: [closed], timeout: 10)
        for _ in 0..<3 { loop.sync {} }
        XCTAssertEqual(received.value, [7])
    }
}
