"""A loopback relay that logs the PostgreSQL protocol messages passing through it.

    python3 compat/tools/wiretap.py --listen 127.0.0.1:7432 --upstream 127.0.0.1:5433 --log tap.log

Point a client at the listen address: every frontend message (`>`) and backend message (`<`)
is written to the log, one line each, with the fields that matter for a proxy (statement and
portal names, parameter and format counts, Execute row limits, SQL text, error codes).
Used to write down which protocol flows each driver needs (docs/compatibility.md). Only
loopback addresses are accepted; it stops after --seconds (default 600).
"""

import argparse
import asyncio
import itertools
import struct
import sys

FRONTEND = {
    b"Q": "Query", b"P": "Parse", b"B": "Bind", b"E": "Execute", b"D": "Describe", b"C": "Close",
    b"S": "Sync", b"H": "Flush", b"X": "Terminate", b"d": "CopyData", b"c": "CopyDone", b"f": "CopyFail",
    b"F": "FunctionCall", b"p": "Password/SASL",
}
BACKEND = {
    b"R": "Authentication", b"S": "ParameterStatus", b"K": "BackendKeyData", b"Z": "ReadyForQuery",
    b"T": "RowDescription", b"D": "DataRow", b"C": "CommandComplete", b"E": "ErrorResponse",
    b"N": "NoticeResponse", b"1": "ParseComplete", b"2": "BindComplete", b"3": "CloseComplete",
    b"t": "ParameterDescription", b"n": "NoData", b"s": "PortalSuspended", b"I": "EmptyQueryResponse",
    b"A": "NotificationResponse", b"G": "CopyInResponse", b"H": "CopyOutResponse", b"d": "CopyData",
    b"c": "CopyDone", b"W": "CopyBothResponse", b"V": "FunctionCallResponse",
}


def cstring(body, offset):
    end = body.index(b"\0", offset)
    return body[offset:end].decode("utf-8", "replace"), end + 1


def short(text, limit=160):
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit] + "…"


def describe_frontend(kind, body):
    name = FRONTEND.get(kind, repr(kind))
    if kind == b"Q":
        return f"{name} {short(cstring(body, 0)[0])!r}"
    if kind == b"P":
        statement, offset = cstring(body, 0)
        query, offset = cstring(body, offset)
        (count,) = struct.unpack_from("!h", body, offset)
        oids = list(struct.unpack_from(f"!{count}I", body, offset + 2))
        return f"{name} stmt={statement!r} param_oids={oids} {short(query)!r}"
    if kind == b"B":
        portal, offset = cstring(body, 0)
        statement, offset = cstring(body, offset)
        (nformats,) = struct.unpack_from("!h", body, offset)
        formats = struct.unpack_from(f"!{nformats}h", body, offset + 2)
        offset += 2 + 2 * nformats
        (nparams,) = struct.unpack_from("!h", body, offset)
        offset += 2
        for _ in range(nparams):
            (length,) = struct.unpack_from("!i", body, offset)
            offset += 4 + max(length, 0)
        (nresults,) = struct.unpack_from("!h", body, offset)
        results = struct.unpack_from(f"!{nresults}h", body, offset + 2)
        return (f"{name} portal={portal!r} stmt={statement!r} params={nparams} "
                f"param_formats={list(formats)} result_formats={list(results)}")
    if kind == b"E":
        portal, offset = cstring(body, 0)
        (rows,) = struct.unpack_from("!i", body, offset)
        return f"{name} portal={portal!r} max_rows={rows}"
    if kind in (b"D", b"C"):
        return f"{name} {chr(body[0])} {cstring(body, 1)[0]!r}"
    if kind == b"d":
        return f"{name} {len(body)} bytes"
    return name


def describe_backend(kind, body):
    name = BACKEND.get(kind, repr(kind))
    if kind in (b"E", b"N"):
        fields = {}
        offset = 0
        while body[offset:offset + 1] not in (b"\0", b""):
            code = chr(body[offset])
            value, offset = cstring(body, offset + 1)
            fields[code] = value
        return f"{name} {fields.get('C', '?')} {short(fields.get('M', ''), 120)!r}"
    if kind == b"C":
        return f"{name} {cstring(body, 0)[0]!r}"
    if kind == b"Z":
        return f"{name} {body.decode()}"
    if kind == b"S":
        key, offset = cstring(body, 0)
        return f"{name} {key}={cstring(body, offset)[0]!r}"
    if kind == b"R":
        return f"{name} {struct.unpack_from('!i', body)[0]}"
    if kind == b"T":
        (count,) = struct.unpack_from("!h", body)
        formats = []
        offset = 2
        for _ in range(count):
            _, offset = cstring(body, offset)
            formats.append(struct.unpack_from("!h", body, offset + 16)[0])
            offset += 18
        return f"{name} columns={count} formats={formats}"
    return name


class Log:
    def __init__(self, path):
        self.file = open(path, "a", encoding="utf-8") if path else sys.stdout

    def write(self, connection, direction, text):
        self.file.write(f"c{connection} {direction} {text}\n")
        self.file.flush()


async def pump(reader, writer, log, connection, direction, first_untyped):
    """Copies bytes and logs each complete message; the first frontend message has no type byte."""
    buffer = b""
    untyped = first_untyped
    rows = 0
    while True:
        chunk = await reader.read(65536)
        if not chunk:
            break
        writer.write(chunk)
        await writer.drain()
        buffer += chunk
        while True:
            if untyped:
                if len(buffer) < 8:
                    break
                (length, code) = struct.unpack_from("!ii", buffer)
                if len(buffer) < length:
                    break
                body = buffer[8:length]
                buffer = buffer[length:]
                if code == 80877103:
                    log.write(connection, ">", "SSLRequest")
                    untyped = True  # the real startup message follows
                    continue
                if code == 80877102:
                    log.write(connection, ">", "CancelRequest")
                elif code == 80877104:
                    log.write(connection, ">", "GSSENCRequest")
                else:
                    parts = body.split(b"\0")
                    params = dict(zip(parts[0::2], parts[1::2]))
                    shown = {k.decode(): v.decode() for k, v in params.items() if k}
                    log.write(connection, ">", f"StartupMessage {shown}")
                untyped = False
                continue
            if direction == "<" and buffer[:1] == b"N" and len(buffer) == 1:
                log.write(connection, "<", "SSL refused (N)")
                buffer = b""
                break
            if len(buffer) < 5:
                break
            kind = buffer[:1]
            (length,) = struct.unpack_from("!i", buffer, 1)
            if len(buffer) < 1 + length:
                break
            body = buffer[5:1 + length]
            buffer = buffer[1 + length:]
            if direction == "<" and kind == b"D":
                rows += 1
                continue
            if rows:
                log.write(connection, direction, f"DataRow ×{rows}")
                rows = 0
            try:
                text = (describe_frontend if direction == ">" else describe_backend)(kind, body)
            except Exception as error:  # a message this tap does not understand is still relayed
                text = f"{kind!r} ({error})"
            log.write(connection, direction, text)
    if rows:
        log.write(connection, direction, f"DataRow ×{rows}")
    writer.close()


async def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--listen", required=True, help="127.0.0.1:PORT")
    parser.add_argument("--upstream", required=True, help="127.0.0.1:PORT")
    parser.add_argument("--log")
    parser.add_argument("--seconds", type=float, default=600)
    args = parser.parse_args()
    listen_host, listen_port = args.listen.rsplit(":", 1)
    upstream_host, upstream_port = args.upstream.rsplit(":", 1)
    for host in (listen_host, upstream_host):
        if not (host.startswith("127.") or host in ("localhost", "::1")):
            parser.error("only loopback addresses")
    log = Log(args.log)
    counter = itertools.count(1)

    async def serve(client_reader, client_writer):
        connection = next(counter)
        server_reader, server_writer = await asyncio.open_connection(upstream_host, int(upstream_port))
        await asyncio.gather(
            pump(client_reader, server_writer, log, connection, ">", True),
            pump(server_reader, client_writer, log, connection, "<", False),
            return_exceptions=True)

    server = await asyncio.start_server(serve, listen_host, int(listen_port))
    async with server:
        await asyncio.sleep(args.seconds)


if __name__ == "__main__":
    asyncio.run(main())
