import PGWire

/// The client side of the codec, for round trips only: what a client would send for each
/// `FrontendMessage`.
enum TestFrontendEncoder {
    static func encode(_ message: FrontendMessage) -> [UInt8] {
        switch message {
        case .startup(let startup):
            return ByteWriter.untyped(ByteWriter.body {
                $0.uint16(startup.protocolMajor)
                $0.uint16(startup.protocolMinor)
                for (name, value) in startup.parameters {
                    $0.cString(name)
                    $0.cString(value)
                }
                $0.uint8(0)
            })
        case .sslRequest:
            return ByteWriter.untyped(ByteWriter.body { $0.uint32(80877103) })
        case .gssEncRequest:
            return ByteWriter.untyped(ByteWriter.body { $0.uint32(80877104) })
        case .cancelRequest(let cancel):
            return ByteWriter.untyped(ByteWriter.body {
                $0.uint32(80877102)
                $0.int32(cancel.processID)
                $0.int32(cancel.secretKey)
            })
        case .query(let text):
            return ByteWriter.typed("Q", ByteWriter.body { $0.cString(text) })
        case .terminate:
            return ByteWriter.typed("X", [])
        case .password(let payload):
            return ByteWriter.typed("p", payload)
        case .parse(let parse):
            return ByteWriter.typed("P", ByteWriter.body {
                $0.cString(parse.name)
                $0.cString(parse.query)
                $0.uint16(UInt16(parse.parameterTypeOIDs.count))
                for oid in parse.parameterTypeOIDs { $0.uint32(oid) }
            })
        case .bind(let bind):
            return ByteWriter.typed("B", ByteWriter.body {
                $0.cString(bind.portal)
                $0.cString(bind.statement)
                $0.uint16(UInt16(bind.parameterFormats.count))
                for format in bind.parameterFormats { $0.int16(format) }
                $0.uint16(UInt16(bind.parameters.count))
                for parameter in bind.parameters {
                    if let parameter {
                        $0.int32(Int32(parameter.count))
                        $0.raw(parameter)
                    } else {
                        $0.int32(-1)
                    }
                }
                $0.uint16(UInt16(bind.resultFormats.count))
                for format in bind.resultFormats { $0.int16(format) }
            })
        case .describe(let describe):
            return ByteWriter.typed("D", ByteWriter.body {
                $0.uint8(describe.kind.rawValue)
                $0.cString(describe.name)
            })
        case .execute(let execute):
            return ByteWriter.typed("E", ByteWriter.body {
                $0.cString(execute.portal)
                $0.int32(execute.maxRows)
            })
        case .close(let close):
            return ByteWriter.typed("C", ByteWriter.body {
                $0.uint8(close.kind.rawValue)
                $0.cString(close.name)
            })
        case .sync:
            return ByteWriter.typed("S", [])
        case .flush:
            return ByteWriter.typed("H", [])
        case .copyData(let data):
            return ByteWriter.typed("d", data)
        case .copyDone:
            return ByteWriter.typed("c", [])
        case .copyFail(let reason):
            return ByteWriter.typed("f", ByteWriter.body { $0.cString(reason) })
        case .functionCall(let payload):
            return ByteWriter.typed("F", payload)
        }
    }
}
