/// Words that tie a session to its shard connections under transaction pooling: `listen`,
/// `advisory_lock`, `temporary`, `temp `, `with hold`, `prepare `, found ASCII
/// case-insensitively anywhere in a statement (a false alarm only keeps connections longer).
/// A cursor without hold ends with its transaction, which keeps its connections anyway: only
/// WITH HOLD pins (the session also pins when such a DECLARE succeeds, whatever its spacing).
public enum PinningMarkers {
    /// Whether `sql` contains a marker. One pass over the bytes with no allocation: this runs
    /// for every statement the plan cache does not know.
    public static func mentioned(in sql: String) -> Bool {
        var text = sql
        return text.withUTF8 { mentioned(in: $0) }
    }

    static func mentioned(in bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        guard bytes.count >= 5 else { return false }
        func matches(_ rest: StaticString, at offset: Int) -> Bool {
            let count = rest.utf8CodeUnitCount
            guard offset + count <= bytes.count else { return false }
            let pattern = rest.utf8Start
            for i in 0..<count {
                let byte = bytes[offset + i]
                let folded = byte &- 0x41 < 26 ? byte | 0x20 : byte
                if folded != pattern[i] { return false }
            }
            return true
        }
        for start in 0..<bytes.count {
            switch bytes[start] | 0x20 {
            case UInt8(ascii: "l"): if matches("isten", at: start + 1) { return true }
            case UInt8(ascii: "a"): if matches("dvisory_lock", at: start + 1) { return true }
            case UInt8(ascii: "t"): if matches("emp", at: start + 1), matches("orary", at: start + 4) || matches(" ", at: start + 4) { return true }
            case UInt8(ascii: "w"): if matches("ith hold", at: start + 1) { return true }
            case UInt8(ascii: "p"): if matches("repare ", at: start + 1) { return true }
            default: continue
            }
        }
        return false
    }
}
