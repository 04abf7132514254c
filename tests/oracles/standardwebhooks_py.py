"""Signs and verifies with the official `standardwebhooks` PyPI library.

stdin: {"sign": [{secret, id, timestamp, body}], "verify": [{secret, id, timestamp, body, signature}]}
stdout: {"signed": [header values], "verified": [true/false]}. Verification uses the current
clock, so callers pass timestamps near now.
"""
import json
import sys
from datetime import datetime, timezone

from standardwebhooks.webhooks import Webhook

req = json.load(sys.stdin)
signed = [
    Webhook(c["secret"]).sign(c["id"], datetime.fromtimestamp(c["timestamp"], tz=timezone.utc), c["body"])
    for c in req["sign"]
]
verified = []
for c in req["verify"]:
    headers = {"webhook-id": c["id"], "webhook-timestamp": str(c["timestamp"]), "webhook-signature": c["signature"]}
    try:
        Webhook(c["secret"]).verify(c["body"], headers)
        verified.append(True)
    except Exception:
        verified.append(False)
json.dump({"signed": signed, "verified": verified}, sys.stdout)
