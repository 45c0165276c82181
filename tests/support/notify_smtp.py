#!/usr/bin/python3
"""A real SMTP server (aiosmtpd) on loopback for hbmon-notify's tests.

    notify_smtp.py DIR

Listens on 127.0.0.1 (a free port, written to DIR/port once listening).
Each mail accepted is written to DIR/mail-N.eml (the DATA as received) and
DIR/mail-N.json ({"mail_from", "rcpt_tos"}), N counting from 1. The reply
to DATA comes from DIR/mode: "ok" (250, the default), "451" (try later) or
"550" (refused), one word per mail with the last one sticking, like
notify_telegram.py.
"""
import asyncio
import json
import os
import sys

from aiosmtpd.smtp import SMTP

DIR = sys.argv[1]
state = {"n": 0, "text": None, "queue": ["ok"]}


def next_mode():
    try:
        with open(os.path.join(DIR, "mode")) as f:
            text = f.read()
    except FileNotFoundError:
        text = "ok"
    if text != state["text"]:
        state["text"] = text
        state["queue"] = text.split() or ["ok"]
    q = state["queue"]
    return q.pop(0) if len(q) > 1 else q[0]


class Handler:
    async def handle_DATA(self, server, session, envelope):
        mode = next_mode()
        if mode == "451":
            return "451 4.3.0 try again later"
        if mode == "550":
            return "550 5.7.1 refused"
        state["n"] += 1
        base = os.path.join(DIR, "mail-%d" % state["n"])
        with open(base + ".eml.tmp", "wb") as f:
            f.write(envelope.original_content or envelope.content)
        with open(base + ".json", "w") as f:
            json.dump({"mail_from": envelope.mail_from,
                       "rcpt_tos": envelope.rcpt_tos}, f)
        os.rename(base + ".eml.tmp", base + ".eml")
        return "250 2.0.0 OK"


async def main():
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: SMTP(Handler(), hostname="hbmon-test-smtp"),
        "127.0.0.1", 0)
    tmp = os.path.join(DIR, "port.tmp")
    with open(tmp, "w") as f:
        f.write("%d\n" % server.sockets[0].getsockname()[1])
    os.rename(tmp, os.path.join(DIR, "port"))
    await server.serve_forever()


asyncio.run(main())
