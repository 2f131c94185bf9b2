"""Which credentials a request carries: the first alternative of the operation's security
requirement the client holds every credential for, each sent the way its scheme says (Bearer,
Basic, an API key in a header, the query or a cookie). A value that would break the request (CR
or LF in a header, `;` in a cookie, `:` in a Basic username) is refused before anything is sent;
messages name the scheme, never the value. Part of the Python SDK runtime: standard library only."""
from __future__ import annotations

import base64
import re
from dataclasses import dataclass, field
from typing import Dict, List, Literal, Mapping, NotRequired, Optional, Sequence, Tuple, TypedDict


class BasicCredentials(TypedDict):
    """HTTP Basic: sent as `Authorization: Basic base64(utf8(username:password))`."""

    username: str
    password: str


class SecurityScheme(TypedDict):
    """How a scheme's credential travels (generated from the spec's securitySchemes)."""

    type: Literal["bearer", "basic", "apiKey"]
    location: NotRequired[Literal["header", "query", "cookie"]]
    name: NotRequired[str]


SecurityRequirement = Sequence[Sequence[str]]


@dataclass
class AuthParts:
    headers: Dict[str, str] = field(default_factory=dict)
    query: List[Tuple[str, str]] = field(default_factory=list)
    cookies: List[Tuple[str, str]] = field(default_factory=list)


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_BREAKS_HEADER = re.compile(r"[\x00\r\n]")
# RFC 6265 cookie-octets: anything else (`;`, `,`, space, quote) would end or split the cookie.
_COOKIE_OCTETS = re.compile(r"[\x21\x23-\x2b\x2d-\x3a\x3c-\x5b\x5d-\x7e]*")


def _credential_of(name: str, schemes: Mapping[str, SecurityScheme], credentials: Mapping[str, object],
                   api_key: Optional[str]) -> object:
    scheme = schemes.get(name)
    if scheme is None:  # a scheme the SDK cannot send (digest, mutualTLS)
        return None
    given = credentials.get(name)
    if given is not None:
        return given
    return (api_key or None) if scheme["type"] == "bearer" else None


def credentials_for(requirement: Optional[SecurityRequirement], schemes: Mapping[str, SecurityScheme],
                    credentials: Mapping[str, object], api_key: Optional[str]) -> AuthParts:
    """The credentials for a request under `requirement`: those of its first alternative the client
    has every credential for (alternatives naming schemes come before an empty, optional one). None
    when no alternative can be met: the server's 401 then says what is missing. Without a
    requirement (a spec whose schemes are all Bearer) the API key, as Bearer, always."""
    parts = AuthParts()
    if requirement is None:
        if api_key:
            parts.headers["authorization"] = f"Bearer {api_key}"
        return parts
    for alternative in requirement:
        values = [_credential_of(name, schemes, credentials, api_key) for name in alternative]
        if alternative and all(v is not None for v in values):
            for name, value in zip(alternative, values):
                _add(parts, name, schemes[name], value)
            break
    return parts


def _add(parts: AuthParts, name: str, scheme: SecurityScheme, value: object) -> None:
    if scheme["type"] == "basic":
        if not isinstance(value, Mapping) or not isinstance(value.get("username"), str) or not isinstance(value.get("password"), str):
            raise TypeError(f"credentials[{name!r}]: HTTP Basic takes {{'username': ..., 'password': ...}}")
        username, password = str(value["username"]), str(value["password"])
        if ":" in username:
            raise ValueError(f"credentials[{name!r}]: a Basic username cannot contain ':' (RFC 7617)")
        if _CONTROL.search(username + password):
            raise ValueError(f"credentials[{name!r}]: a control character (CR, LF, ...) in the username or password")
        token = base64.b64encode(f"{username}:{password}".encode("utf-8")).decode("ascii")
        parts.headers["authorization"] = f"Basic {token}"
        return
    if not isinstance(value, str):
        raise TypeError(f"credentials[{name!r}]: takes a string")
    if _BREAKS_HEADER.search(value):
        raise ValueError(f"credentials[{name!r}]: a CR, LF or NUL, which no header or URL of the SDK carries")
    location = scheme.get("location")
    if scheme["type"] == "bearer":
        parts.headers["authorization"] = f"Bearer {value}"
    elif location == "header":
        parts.headers[scheme.get("name", "").lower()] = value
    elif location == "query":
        parts.query.append((scheme.get("name", ""), value))
    else:
        if not _COOKIE_OCTETS.fullmatch(value):
            raise ValueError(f"credentials[{name!r}]: a cookie value cannot hold spaces, quotes, ',', ';', '\\' or non-ASCII")
        parts.cookies.append((scheme.get("name", ""), value))


def apply_auth_headers(headers: Dict[str, str], parts: AuthParts) -> None:
    """Sets the credentials' headers and cookies on `headers` (lowercase names; a cookie joins any
    Cookie already there)."""
    headers.update(parts.headers)
    if parts.cookies:
        cookie = "; ".join(f"{k}={v}" for k, v in parts.cookies)
        before = headers.get("cookie")
        headers["cookie"] = f"{before}; {cookie}" if before else cookie
