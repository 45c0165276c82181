#!/usr/bin/python3
"""Sends heartbeat documents to hbmon-server's HTTP listener with requests,
signed as docs/http.md says; prints each JSON reply on a line.
Usage: http_post.py URL ROBOT SECRET_FILE BODY_FILE..."""
import hashlib
import hmac
import sys
import time

import requests


def post(url, robot, secret, body):
    seq = time.time_ns() // 1000          # microseconds: increasing
    sent_at = time.time_ns() // 1000000   # milliseconds since the epoch
    signed = b"POST /v1/heartbeat\n%s\n%d\n%d\n" % (robot.encode(), seq,
                                                    sent_at) + body
    sig = hmac.new(secret, signed, hashlib.sha256).hexdigest()
    r = requests.post(url + "/v1/heartbeat", data=body, timeout=10, headers={
        "Content-Type": "application/json",
        "X-Hbmon-Robot": robot,
        "X-Hbmon-Seq": str(seq),
        "X-Hbmon-Sent-At": str(sent_at),
        "X-Hbmon-Signature": sig,
    })
    return r.status_code, r.json()


def main():
    url, robot, secret_file = sys.argv[1:4]
    with open(secret_file, "rb") as f:
        secret = f.read().strip()
    for path in sys.argv[4:]:
        with open(path, "rb") as f:
            status, reply = post(url, robot, secret, f.read())
        print(status, reply["code"], len(reply["results"]))


main()
