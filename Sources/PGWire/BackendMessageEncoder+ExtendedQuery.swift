// Answers to the extended-query messages (Parse, Bind, Describe, Execute, Close).

extension BackendMessageEncoder {
    /// `1` ParseComplete.
    public mutating func parseComplete() {
        self.writeEmptyMessage(.parseComplete)
    }

    /// `2` BindComplete.
    public mutating func bindComplete() {
        self.writeEmptyMessage(.bindComplete)
    }

    /// `3` CloseComplete.
    public mutating func closeComplete() {
        self.writeEmptyMessage(.closeComplete)
    }

    /// `n` NoData: the described statement or portal returns no rows.
    public mutating func noData() {
        self.writeEmptyMessage(.noData)
    }

    /// `s` PortalSuspended: Execute reached its row limit before the portal's end.
    public mutating func portalSuspended() {
        self.writeEmptyMessage(.portalSuspended)
    }

    /// `t` ParameterDescription: the type OIDs of a prepared statement's parameters.
    public mutating func parameterDescription(_ typeOIDs: [UInt32]) {
        let start = self.beginMessage(.parameterDescription)
        self.writeCount(typeOIDs.count)
        for oid in typeOIDs {
            self.writeUInt32(oid)
        }
        self.patchLength(at: start)
    }
}
