"""Makes UserSigs with Tencent's official `tls-sig-api-v2` PyPI library at fixed clocks.

Reads a JSON list of cases on stdin ({sdkappid, key, identifier, expire, time, userbuf?}) and
prints the same list with a `usersig` field added. The clock is patched, not the library.
"""
import json
import sys
import time

import TLSSigAPIv2

cases = json.load(sys.stdin)
for case in cases:
    time.time = lambda t=case["time"]: float(t)
    api = TLSSigAPIv2.TLSSigAPIv2(case["sdkappid"], case["key"])
    if case.get("userbuf") is not None:
        case["usersig"] = api.gen_sig_with_userbuf(case["identifier"], case["expire"], case["userbuf"].encode())
    else:
        case["usersig"] = api.gen_sig(case["identifier"], case["expire"])
json.dump(cases, sys.stdout)
