import Foundation

/// SASLprep (RFC 4013), the normalization SCRAM applies to passwords, with PostgreSQL's rules
/// for when it does not apply: an ASCII password is used as it is, and a password that is not
/// UTF-8 or that SASLprep prohibits is used as raw bytes. Clients (libpq) do the same, so a
/// verifier pgshard computes matches the proof a client computes.
enum SASLprep {
    /// The bytes SCRAM hashes for `password`.
    static func prepare(_ password: [UInt8]) -> [UInt8] {
        // Why the shortcut: PostgreSQL does not prepare ASCII, even control characters.
        if password.allSatisfy({ $0 < 0x80 }) { return password }
        guard let text = String(validating: password, as: UTF8.self) else { return password }

        // 1. Map: B.1 to nothing, non-ASCII spaces (C.1.2) to SPACE.
        var mapped = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            if contains(nonASCIISpaces, scalar) {
                mapped.append(" ")
            } else if !contains(mappedToNothing, scalar) {
                mapped.append(scalar)
            }
        }
        // 2. Normalize with NFKC.
        let normalized = String(mapped).precomposedStringWithCompatibilityMapping
        let scalars = Array(normalized.unicodeScalars)
        guard !scalars.isEmpty else { return password }

        // 3. Prohibited output and unassigned code points.
        for scalar in scalars where contains(prohibited, scalar) || isUnassigned(scalar) {
            return password
        }
        // 4. Bidirectional text: with any R/AL character, no L character, and R/AL at both ends.
        if scalars.contains(where: { contains(randALCat, $0) }) {
            if scalars.contains(where: { contains(lCat, $0) }) { return password }
            guard contains(randALCat, scalars.first!), contains(randALCat, scalars.last!) else { return password }
        }
        return Array(normalized.utf8)
    }

    /// RFC 3454 A.1: not assigned in Unicode 3.2.
    private static func isUnassigned(_ scalar: Unicode.Scalar) -> Bool {
        guard let age = scalar.properties.age else { return true }
        return age.major > 3 || (age.major == 3 && age.minor > 2)
    }

    private static func contains(_ table: [ClosedRange<UInt32>], _ scalar: Unicode.Scalar) -> Bool {
        let value = scalar.value
        var low = 0, high = table.count
        while low < high {
            let mid = (low + high) / 2
            if table[mid].upperBound < value { low = mid + 1 } else { high = mid }
        }
        return low < table.count && table[low].contains(value)
    }
}
