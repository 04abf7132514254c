"""An independent UserSig v2 verifier written from the algorithm, with only the standard library.

Reads a JSON list of {sdkappid, key, identifier, now, usersig} on stdin and prints a list of
verdicts: "ok" or the first check that failed. It shares no code with the Rust implementation.
"""
import base64
import hashlib
import hmac
import json
import sys
import zlib


def verify(c):
    s = c["usersig"].replace("*", "+").replace("-", "/").replace("_", "=")
    try:
        doc = json.loads(zlib.decompress(base64.b64decode(s, validate=True)))
    except Exception:
        return "malformed"
    if doc.get("TLS.ver") != "2.0":
        return "version"
    if doc.get("TLS.sdkappid") != c["sdkappid"] or not isinstance(doc.get("TLS.sdkappid"), int):
        return "sdkappid"
    if doc.get("TLS.identifier") != c["identifier"]:
        return "identifier"
    t, e = doc.get("TLS.time"), doc.get("TLS.expire")
    if not isinstance(t, int) or not isinstance(e, int):
        return "malformed"
    if c["now"] > t + e:
        return "expired"
    content = (
        f"TLS.identifier:{doc['TLS.identifier']}\nTLS.sdkappid:{doc['TLS.sdkappid']}\n"
        f"TLS.time:{t}\nTLS.expire:{e}\n"
    )
    if "TLS.userbuf" in doc:
        content += f"TLS.userbuf:{doc['TLS.userbuf']}\n"
    mac = hmac.new(c["key"].encode(), content.encode(), hashlib.sha256).digest()
    if not hmac.compare_digest(base64.b64encode(mac).decode(), doc.get("TLS.sig", "")):
        return "signature"
    return "ok"


json.dump([verify(c) for c in json.load(sys.stdin)], sys.stdout)
