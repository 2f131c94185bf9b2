"""Webhook signatures (Standard Webhooks, https://www.standardwebhooks.com/): sign and verify.
Part of the Python SDK runtime: standard library and httpx only."""
from __future__ import annotations

import base64
import hashlib
import hmac
import time
from typing import Dict, Mapping, Optional, Union

from ._exceptions import WebhookVerificationError
from ._json import MAY_OVERFLOW_BYTES, beyond_double_at, loads

Secret = Union[str, bytes]
Payload = Union[str, bytes]


def _secret_bytes(secret: Secret) -> bytes:
    if isinstance(secret, bytes):
        return secret
    text = secret[len("whsec_"):] if secret.startswith("whsec_") else secret
    try:
        return base64.b64decode(text, validate=True)
    except ValueError as e:
        raise WebhookVerificationError("the webhook secret is not base64 (expected whsec_...)") from e


def _payload_bytes(payload: Payload) -> bytes:
    return payload.encode("utf-8") if isinstance(payload, str) else payload


def sign_webhook(secret: Secret, msg_id: str, timestamp: int, payload: Payload) -> str:
    """`v1,<base64 HMAC-SHA256 of "id.timestamp.payload">`"""
    mac = hmac.new(_secret_bytes(secret), f"{msg_id}.{timestamp}.".encode("utf-8") + _payload_bytes(payload), hashlib.sha256)
    return "v1," + base64.b64encode(mac.digest()).decode("ascii")


def _header(headers: Mapping[str, str], name: str) -> Optional[str]:
    for key, value in headers.items():
        if key.lower() == name:
            return value
    return None


def verify_signed_webhook(
    payload: Payload,
    headers: Mapping[str, str],
    secret: Secret,
    *,
    tolerance: float = 300,
    now: Optional[float] = None,
) -> Dict[str, object]:
    """Verifies a delivery and returns its parsed JSON payload (`verify_webhook` types it by the
    spec's events). Pass the raw body exactly as
    received. Raises WebhookVerificationError on a missing header, a bad signature, a payload
    that is not a JSON object, or a timestamp more than `tolerance` seconds away from now; and,
    with code `number_out_of_range` and `details["path"]`, on a payload holding a number beyond a
    double (1e400), which json would make inf."""
    msg_id = _header(headers, "webhook-id")
    timestamp = _header(headers, "webhook-timestamp")
    signatures = _header(headers, "webhook-signature")
    if not msg_id or not timestamp or not signatures:
        raise WebhookVerificationError("missing webhook-id, webhook-timestamp or webhook-signature header")
    # ASCII digits only, and few of them: str.isdigit() also passes "²" and "١", and int() refuses
    # over 4300 digits, both with a ValueError on a header anyone can send.
    if not (timestamp.isascii() and timestamp.isdigit()) or len(timestamp) > 15:
        raise WebhookVerificationError("invalid webhook-timestamp")
    current = int(time.time() if now is None else now)
    ts = int(timestamp)
    if ts < current - tolerance:
        raise WebhookVerificationError("webhook timestamp too old")
    if ts > current + tolerance:
        raise WebhookVerificationError("webhook timestamp too new")
    expected = sign_webhook(secret, msg_id, ts, payload)[len("v1,"):].encode("ascii")
    matched = False
    for entry in signatures.split(" "):
        version, _, sig = entry.partition(",")
        if version == "v1" and hmac.compare_digest(sig.encode("utf-8"), expected):
            matched = True
    if not matched:
        raise WebhookVerificationError("no matching webhook signature")
    data = _payload_bytes(payload)
    try:
        parsed = loads(data)
    except (ValueError, RecursionError) as e:
        raise WebhookVerificationError("webhook payload is not JSON") from e
    if not isinstance(parsed, dict):
        raise WebhookVerificationError("webhook payload is not a JSON object")
    # An event is data to act on, as a success answer is: never handed on with inf in it.
    beyond = beyond_double_at(parsed) if MAY_OVERFLOW_BYTES.search(data) else None
    if beyond is not None:
        raise WebhookVerificationError(
            f"webhook payload holds a number beyond a double (±1.8e308) at {beyond}, which the SDK cannot represent",
            code="number_out_of_range", details={"path": beyond})
    return {str(k): v for k, v in parsed.items()}
