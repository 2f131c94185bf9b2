"""The generated Python SDK of test/fixtures/specs/security.yaml (run by security.test.ts, which
sets VAULT_ECHO to the listeners' URLs): each operation gets exactly the credentials its security
requirement names, blocking and async; a value that would break a request is refused before it is
sent; credentials stay off other origins and a query key out of error messages."""
from __future__ import annotations

import asyncio
import base64
import json
import os
from typing import Dict, Optional, cast
from urllib.parse import urlencode

import pytest

from vault import AsyncVault, Vault, VaultCredentials, VaultError

ECHO: Dict[str, str] = json.loads(os.environ["VAULT_ECHO"])
PASSWORD = "p:ss wörd"
QUERY_KEY = "q k&=/é+%"
CREDENTIALS: VaultCredentials = {
    "ApiKeyHeader": "hk_1",
    "ApiKeyQuery": QUERY_KEY,
    "ApiKeyCookie": "ck_1",
    "basicAuth": {"username": "AC123", "password": PASSWORD},
}
BASIC = "Basic " + base64.b64encode(f"AC123:{PASSWORD}".encode("utf-8")).decode("ascii")
NONE: Dict[str, Optional[str]] = {"authorization": None, "apiKey": None, "cookie": None}


def client(**options: object) -> Vault:
    return Vault(base_url=ECHO["api"] + "/v1", max_retries=0, **options)  # type: ignore[arg-type]  # options as the tests vary them


def seen(c: Vault, op: str, **params: object) -> Dict[str, object]:
    got = cast(Dict[str, object], c.call(op, params))
    return {k: got[k] for k in ("authorization", "apiKey", "cookie", "query", "rawQuery")}


def test_each_operation_gets_what_its_requirement_names() -> None:
    c = client(api_key="bt_1", credentials=CREDENTIALS)
    empty = {"query": {}, "rawQuery": ""}
    assert seen(c, "getDefault") == {**NONE, "apiKey": "hk_1", **empty}
    assert seen(c, "getPublic") == {**NONE, **empty}
    assert seen(c, "getQuery", q="x") == {**NONE, "query": {"q": "x", "api_key": QUERY_KEY}, "rawQuery": "q=x&" + urlencode({"api_key": QUERY_KEY})}
    assert seen(c, "getCookie") == {**NONE, "cookie": "session=ck_1", **empty}
    assert seen(c, "getBasic") == {**NONE, "authorization": BASIC, **empty}
    assert seen(c, "getBoth") == {**NONE, "apiKey": "hk_1", "query": {"api_key": QUERY_KEY}, "rawQuery": urlencode({"api_key": QUERY_KEY})}
    # Digest (first) cannot be sent; Basic, the next alternative, is held.
    assert seen(c, "getEither") == {**NONE, "authorization": BASIC, **empty}
    assert seen(c, "getBearer") == {**NONE, "authorization": "Bearer bt_1", **empty}
    assert seen(c, "getOptional") == {**NONE, "cookie": "session=ck_1", **empty}


def test_only_api_key_goes_where_a_bearer_scheme_is_an_alternative() -> None:
    c = client(api_key="bt_2")
    assert seen(c, "getEither")["authorization"] == "Bearer bt_2"
    assert seen(c, "getBearer")["authorization"] == "Bearer bt_2"
    assert seen(c, "getDefault") == {**NONE, "query": {}, "rawQuery": ""}
    assert seen(c, "getOptional") == {**NONE, "query": {}, "rawQuery": ""}
    assert seen(client(api_key="bt_2", credentials={"bearerAuth": "bt_3"}), "getBearer")["authorization"] == "Bearer bt_3"


def test_the_async_client_sends_the_same() -> None:
    async def run() -> Dict[str, object]:
        async with AsyncVault(base_url=ECHO["api"] + "/v1", credentials=CREDENTIALS) as c:
            return cast(Dict[str, object], await c.call("getBoth", {}))
    got = asyncio.run(run())
    assert (got["apiKey"], got["query"]) == ("hk_1", {"api_key": QUERY_KEY})


@pytest.mark.parametrize("credentials,op,message", [
    ({"ApiKeyHeader": "k\r\nX-Injected: evil"}, "getDefault", "ApiKeyHeader'\\]: a CR, LF or NUL"),
    ({"ApiKeyQuery": "k\nevil"}, "getQuery", "ApiKeyQuery'\\]: a CR, LF or NUL"),
    ({"ApiKeyCookie": "k; admin=evil"}, "getCookie", "ApiKeyCookie'\\]: a cookie value cannot hold"),
    ({"basicAuth": {"username": "a:evil", "password": "p"}}, "getBasic", "a Basic username cannot contain ':'"),
    ({"basicAuth": {"username": "a", "password": "evil\n"}}, "getBasic", "a control character"),
])
def test_a_credential_that_would_break_the_request_is_refused(credentials: object, op: str, message: str) -> None:
    with pytest.raises(ValueError, match=message) as caught:
        client(credentials=credentials).call(op, {})
    assert "evil" not in str(caught.value)


def test_a_basic_credential_of_the_wrong_shape_is_refused() -> None:
    with pytest.raises(TypeError, match="HTTP Basic takes"):
        client(credentials={"basicAuth": "a:evil"}).call("getBasic", {})


def test_no_credential_reaches_another_origin_or_an_error_message() -> None:
    c = client(api_key="bt_4", credentials=CREDENTIALS)
    errors = []
    for q in ("redirect", "fail"):
        with pytest.raises(VaultError) as caught:
            c.call("getQuery", {"q": q})
        errors.append(caught.value)
    with pytest.raises(VaultError) as down:
        Vault(base_url=ECHO["closed"] + "/v1", max_retries=0, credentials=CREDENTIALS).call("getBoth", {})
    errors.append(down.value)
    for e in errors:
        text = f"{e} {e!r}"
        assert "api_key" not in text and "hk_1" not in text and "q+k" not in text and "q%20k" not in text, text
    # Downloads: the API's origin gets the document's default credential (a header, never the query
    # key); a link elsewhere, or redirected elsewhere, none (security.test.ts checks `elsewhere`).
    with c.download(ECHO["api"] + "/v1/files/a?sig=1") as d:
        got = json.loads(b"".join(d.iter_bytes()))
    assert {k: got[k] for k in ("query", "apiKey", "authorization", "cookie")} == {"query": {"sig": "1"}, "apiKey": "hk_1", "authorization": None, "cookie": None}
    with c.download(ECHO["elsewhere"] + "/file") as d:
        b"".join(d.iter_bytes())
    with c.download(ECHO["api"] + "/v1/files/away") as d:
        b"".join(d.iter_bytes())
