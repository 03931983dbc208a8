// DataRow is the hot path: one per result row. The streaming form writes each value
// straight from the caller's bytes into the buffer and patches the row's length at the end,
// with no array or object per value.

extension BackendMessageEncoder {
    /// Opens a `D` DataRow of `columnCount` values; append each with `appendDataRowValue`,
    /// then call `endDataRow()`.
    public mutating func beginDataRow(columnCount: Int) {
        self.openMessage(.dataRow)
        self.writeCount(columnCount)
    }

    /// Appends one value to the open DataRow: its bytes in the column's format, or `nil`
    /// for SQL NULL (sent as length -1, unlike an empty value, which has length 0).
    public mutating func appendDataRowValue(_ value: UnsafeRawBufferPointer?) {
        guard let value else {
            precondition(self.hasOpenMessage, "appendDataRowValue outside beginDataRow/endDataRow")
            self.writeInt32(-1)
            return
        }
        self.appendDataRowValue(value)
    }

    /// Appends one non-NULL value to the open DataRow.
    ///
    /// The non-optional overloads exist so that no call falls to a generic one, which would
    /// run unspecialized across modules.
    public mutating func appendDataRowValue(_ value: UnsafeRawBufferPointer) {
        precondition(self.hasOpenMessage, "appendDataRowValue outside beginDataRow/endDataRow")
        precondition(value.count <= Int(Int32.max), "value longer than the protocol allows")
        self.writeInt32(Int32(truncatingIfNeeded: value.count))
        self.writeBytes(value)
    }

    /// Appends one non-NULL value to the open DataRow.
    public mutating func appendDataRowValue(_ value: [UInt8]) {
        value.withUnsafeBytes { self.appendDataRowValue($0) }
    }

    /// Appends one non-NULL value in text format (its UTF-8 bytes) to the open DataRow.
    public mutating func appendDataRowValue(_ value: String) {
        var value = value
        value.withUTF8 { self.appendDataRowValue(UnsafeRawBufferPointer($0)) }
    }

    /// Ends the open DataRow.
    public mutating func endDataRow() {
        self.endMessage()
    }

    /// `D` DataRow from whole values; `nil` is SQL NULL.
    public mutating func dataRow(_ values: [[UInt8]?]) {
        self.beginDataRow(columnCount: values.count)
        for value in values {
            if let value {
                self.appendDataRowValue(value)
            } else {
                self.appendDataRowValue(nil)
            }
        }
        self.endDataRow()
    }
}
