#!/usr/bin/python3
"""A strict proto3 parser for hbmon-server's replies (Google protobuf).

    strict_parse.py SOURCE_DIR OUT_DIR < replies

Generates the Python code of proto/hbmon/v1/*.proto with protoc into
OUT_DIR, then reads one reply per line from stdin:

    OUTPUT_TYPE HEX

where HEX is an RpcResponse as the server sent it, and OUTPUT_TYPE the
hbmon.v1 message its payload holds when its code is 0 (or "-" for none).
Google's parser refuses a whole message when a proto3 string is not valid
UTF-8, as Python and Go clients do. Prints "ok N" and exits 0 when every
reply parses; otherwise prints what failed and exits 1.

Run it with /usr/bin/python3: Debian's python3-protobuf lives there.
"""
import glob
import os
import subprocess
import sys


def main():
    source, out = sys.argv[1], sys.argv[2]
    protos = sorted(glob.glob(os.path.join(source, "proto/hbmon/v1/*.proto")))
    subprocess.run(["protoc", "-I", os.path.join(source, "proto"),
                    "--python_out=" + out] +
                   [os.path.relpath(p, os.path.join(source, "proto"))
                    for p in protos], check=True)
    sys.path.insert(0, out)
    from google.protobuf import message_factory, symbol_database
    from hbmon.v1 import admin_pb2, monitor_pb2, rpc_pb2  # noqa: F401

    db = symbol_database.Default()
    failed = 0
    n = 0
    for line in sys.stdin:
        if not line.strip("\n"):
            continue
        n += 1
        parts = line.split()
        kind, text = parts[0], parts[1] if len(parts) > 1 else ""
        raw = bytes.fromhex(text)
        try:
            resp = rpc_pb2.RpcResponse()
            resp.ParseFromString(raw)
            if kind != "-" and resp.code == 0:
                cls = message_factory.GetMessageClass(
                    db.pool.FindMessageTypeByName("hbmon.v1." + kind)) \
                    if hasattr(message_factory, "GetMessageClass") \
                    else db.GetSymbol("hbmon.v1." + kind)
                cls().ParseFromString(resp.payload)
        except Exception as e:  # DecodeError, and anything else
            failed += 1
            print("reply %d (%s) refused: %s: %s" % (n, kind, type(e).__name__,
                                                   text), flush=True)
    if failed:
        sys.exit(1)
    print("ok %d" % n)


if __name__ == "__main__":
    main()
