"""Schemathesis hooks for test_webhook_schemathesis.py (loaded through SCHEMATHESIS_HOOKS).

Unsigned mode (the default): schemathesis cannot sign a delivery (it does not know the signing secret), so
every request it sends is unsigned or wrongly signed, and the webhook must never answer one of them 202
(`unsigned_input_is_never_accepted`).

Signed mode (GOVSYNC_SCHEMATHESIS_SIGN_WITH=<whsec_ secret>): every request schemathesis sends is signed
over its exact bytes with that secret and a current timestamp (generated `webhook-id` and body kept), so the
generated bodies and ids reach the decoding, idempotency and queueing behind the signature check.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import time

import requests
import schemathesis

SIGN_WITH = os.environ.get("GOVSYNC_SCHEMATHESIS_SIGN_WITH", "")
RECORD = os.environ.get("GOVSYNC_SCHEMATHESIS_RECORD", "")


@schemathesis.check
def answers_are_recorded(ctx, response, case):  # noqa: ANN001, ARG001 (schemathesis' signature)
    """Appends `<status> <error code>` per answer to GOVSYNC_SCHEMATHESIS_RECORD, for the test to count."""
    if RECORD:
        try:
            code = (response.json() or {}).get("error") or (response.json() or {}).get("status") or "-"
        except Exception:  # noqa: BLE001 (a non-JSON answer is recorded as such; other checks fail it)
            code = "not-json"
        with open(RECORD, "a", encoding="utf-8") as record:
            record.write(f"{response.status_code} {code}\n")
    return None


@schemathesis.check
def unsigned_input_is_never_accepted(ctx, response, case):  # noqa: ANN001, ARG001 (schemathesis' signature)
    if not SIGN_WITH and response.status_code == 202:
        raise AssertionError(
            "the webhook accepted (202) a delivery that carries no valid signature: "
            f"headers {dict(case.headers or {})!r}"
        )
    return None


if SIGN_WITH:
    _key = base64.b64decode(SIGN_WITH.removeprefix("whsec_"))
    _send = requests.Session.send

    def _signed_send(self, request, **kwargs):  # noqa: ANN001, ANN003, ANN202
        delivery_id = request.headers.get("webhook-id")
        if delivery_id is not None:
            body = request.body or b""
            if isinstance(body, str):
                body = body.encode()
            stamp = str(int(time.time()))
            raw_id = delivery_id.encode("latin-1") if isinstance(delivery_id, str) else delivery_id
            tag = hmac.new(_key, raw_id + b"." + stamp.encode() + b"." + body, hashlib.sha256).digest()
            request.headers["webhook-timestamp"] = stamp
            request.headers["webhook-signature"] = "v1," + base64.b64encode(tag).decode()
        return _send(self, request, **kwargs)

    requests.Session.send = _signed_send
