// COPY: the server announces the data direction and formats, then the data flows in
// CopyData messages until CopyDone (or CopyFail from a client).

extension BackendMessageEncoder {
    /// `G` CopyInResponse: the server is ready for COPY FROM STDIN data.
    ///
    /// - Parameters:
    ///   - format: 0 text (every column format is 0), 1 binary.
    ///   - columnFormats: one format code per column.
    public mutating func copyInResponse(format: Int8, columnFormats: [Int16]) {
        self.copyResponse(.copyInResponse, format: format, columnFormats: columnFormats)
    }

    /// `H` CopyOutResponse: COPY TO STDOUT data follows.
    public mutating func copyOutResponse(format: Int8, columnFormats: [Int16]) {
        self.copyResponse(.copyOutResponse, format: format, columnFormats: columnFormats)
    }

    /// `d` CopyData: a chunk of COPY TO STDOUT data.
    public mutating func copyData(_ data: [UInt8]) {
        let start = self.beginMessage(.copyData)
        self.writeBytes(data)
        self.patchLength(at: start)
    }

    /// `d` CopyData from borrowed bytes.
    public mutating func copyData(_ data: UnsafeRawBufferPointer) {
        let start = self.beginMessage(.copyData)
        self.writeBytes(data)
        self.patchLength(at: start)
    }

    /// `c` CopyDone: the end of COPY TO STDOUT data.
    public mutating func copyDone() {
        self.writeEmptyMessage(.copyDone)
    }

    private mutating func copyResponse(_ id: MessageID, format: Int8, columnFormats: [Int16]) {
        let start = self.beginMessage(id)
        self.writeUInt8(UInt8(bitPattern: format))
        self.writeCount(columnFormats.count)
        for columnFormat in columnFormats {
            self.writeInt16(columnFormat)
        }
        self.patchLength(at: start)
    }
}
