// Messages that answer a query, in either protocol: results, completion, errors, and the
// ReadyForQuery that ends each cycle.

extension BackendMessageEncoder {
    /// `Z` ReadyForQuery: the server waits for the next query; carries the transaction status.
    public mutating func readyForQuery(_ status: TransactionStatus) {
        let start = self.beginMessage(.readyForQuery)
        self.writeUInt8(status.rawValue)
        self.patchLength(at: start)
    }

    /// `T` RowDescription: the columns of the rows that follow.
    public mutating func rowDescription(_ fields: [FieldDescription]) {
        self.beginRowDescription(fieldCount: fields.count)
        for field in fields {
            self.appendField(field)
        }
        self.endMessage()
    }

    /// Opens a `T` RowDescription of `fieldCount` columns; append each with `appendField`,
    /// then call `endMessage()`.
    public mutating func beginRowDescription(fieldCount: Int) {
        self.openMessage(.rowDescription)
        self.writeCount(fieldCount)
    }

    /// Appends one column to the RowDescription opened by `beginRowDescription`.
    public mutating func appendField(_ field: FieldDescription) {
        precondition(self.hasOpenMessage, "appendField outside beginRowDescription/endMessage")
        self.writeCString(field.name)
        self.writeUInt32(field.tableOID)
        self.writeInt16(field.columnAttributeNumber)
        self.writeUInt32(field.dataTypeOID)
        self.writeInt16(field.dataTypeSize)
        self.writeInt32(field.typeModifier)
        self.writeInt16(field.format)
    }

    /// `C` CommandComplete, with a command tag such as `SELECT 3` or `INSERT 0 1`.
    public mutating func commandComplete(_ tag: String) {
        let start = self.beginMessage(.commandComplete)
        self.writeCString(tag)
        self.patchLength(at: start)
    }

    /// `I` EmptyQueryResponse: the answer to an empty query string, in place of CommandComplete.
    public mutating func emptyQueryResponse() {
        self.writeEmptyMessage(.emptyQueryResponse)
    }

    /// `E` ErrorResponse.
    public mutating func errorResponse(_ error: ErrorFields) {
        self.writeFields(error, as: .errorResponse)
    }

    /// `N` NoticeResponse: a warning or notice; it does not end the query.
    public mutating func noticeResponse(_ notice: ErrorFields) {
        self.writeFields(notice, as: .noticeResponse)
    }

    /// `A` NotificationResponse: a NOTIFY on a channel the session LISTENs to.
    public mutating func notificationResponse(processID: Int32, channel: String, payload: String) {
        let start = self.beginMessage(.notificationResponse)
        self.writeInt32(processID)
        self.writeCString(channel)
        self.writeCString(payload)
        self.patchLength(at: start)
    }

    /// `V` FunctionCallResponse: the result of a FunctionCall; `nil` is SQL NULL.
    public mutating func functionCallResponse(_ value: [UInt8]?) {
        let start = self.beginMessage(.functionCallResponse)
        if let value {
            precondition(value.count <= Int(Int32.max))
            self.writeInt32(Int32(value.count))
            self.writeBytes(value)
        } else {
            self.writeInt32(-1)
        }
        self.patchLength(at: start)
    }

    private mutating func writeFields(_ fields: ErrorFields, as id: MessageID) {
        let start = self.beginMessage(id)
        for field in fields.fields where field.code != 0 {
            self.writeUInt8(field.code)
            self.writeCString(field.value)
        }
        // A zero code ends the list.
        self.writeUInt8(0)
        self.patchLength(at: start)
    }
}
