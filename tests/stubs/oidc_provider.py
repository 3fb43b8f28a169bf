"""A local stand-in for a company's OpenID Connect provider, in a thread on a free port.

It answers as a real provider does for the authorization code flow with PKCE (OpenID Connect
Core 1.0, RFC 7636): the authorization endpoint signs `person` in (no page: the browser is sent
straight back to the registered redirect URI with a code and the state), the token endpoint
checks the client's id and secret (HTTP Basic or in the form), the code, the redirect URI and
the code verifier, and answers an RS256 id_token; the userinfo endpoint answers the access
token's claims, and the JWKS endpoint the public key (generated with `cryptography` for each
stand-in). A test may change what it signs with (`signing_key`), what the id_token says
(`id_token_changes`) or what userinfo says (`userinfo_changes`), and reads what it was asked
(`seen`, path and status).
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

CLIENT_ID = "releasebot-test"
CLIENT_SECRET = "oidc-client-s3cret-for-tests"
REDIRECT_URI = "http://testserver/oidc/callback/"
KID = "stub-key-1"


def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@dataclass
class Grant:
    """What an authorization code stands for, until the token endpoint takes it (once)."""

    claims: dict[str, Any]
    client_id: str
    redirect_uri: str
    nonce: str | None
    code_challenge: str | None
    code_challenge_method: str | None


@dataclass
class OIDCProvider:
    """Start with `with OIDCProvider() as op:`; `op.person` is who signs in next."""

    client_id: str = CLIENT_ID
    client_secret: str = CLIENT_SECRET
    redirect_uris: tuple[str, ...] = (REDIRECT_URI,)
    person: dict[str, Any] = field(default_factory=dict)
    id_token_changes: dict[str, Any] = field(default_factory=dict)
    userinfo_changes: dict[str, Any] = field(default_factory=dict)
    seen: list[tuple[str, int]] = field(default_factory=list)  # (path, status) of each request

    def __post_init__(self) -> None:
        self.key = rsa_key()
        self.signing_key = self.key  # what id_tokens are signed with; the JWKS serves `key`
        self.codes: dict[str, Grant] = {}
        self.tokens: dict[str, dict[str, Any]] = {}  # access token -> claims
        self.lock = threading.Lock()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.httpd.op = self  # type: ignore[attr-defined]
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def __enter__(self) -> OIDCProvider:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)

    @property
    def issuer(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_port}"

    def url(self, path: str) -> str:
        return f"{self.issuer}{path}"

    def endpoints(self) -> dict[str, str]:
        """The discovery document's endpoints, by the names Releasebot's variables give them."""
        return {
            "authorization_endpoint": self.url("/authorize"),
            "token_endpoint": self.url("/token"),
            "userinfo_endpoint": self.url("/userinfo"),
            "jwks_uri": self.url("/jwks"),
        }

    def paths(self) -> list[str]:
        return [path for path, _ in self.seen]

    # --- the endpoints ------------------------------------------------------------------

    def authorize(self, query: dict[str, str]) -> tuple[int, dict[str, str], dict]:
        """(status, headers, body): a redirect back with a code, or a 400 for a bad request."""
        redirect_uri = query.get("redirect_uri", "")
        if query.get("client_id") != self.client_id or redirect_uri not in self.redirect_uris:
            return 400, {}, {"error": "invalid_request"}  # never redirect to an unknown place
        if query.get("response_type") != "code" or "openid" not in query.get("scope", "").split():
            answer = {"error": "invalid_request", "state": query.get("state", "")}
            return 302, {"Location": f"{redirect_uri}?{urlencode(answer)}"}, {}
        code = secrets.token_urlsafe(24)
        with self.lock:
            self.codes[code] = Grant(
                claims=dict(self.person),
                client_id=self.client_id,
                redirect_uri=redirect_uri,
                nonce=query.get("nonce"),
                code_challenge=query.get("code_challenge"),
                code_challenge_method=query.get("code_challenge_method"),
            )
        back = urlencode({"code": code, "state": query.get("state", "")})
        return 302, {"Location": f"{redirect_uri}?{back}"}, {}

    def token(self, form: dict[str, str], authorization: str) -> tuple[int, dict]:
        client_id, client_secret = _client_credentials(form, authorization)
        if (client_id, client_secret) != (self.client_id, self.client_secret):
            return 401, {"error": "invalid_client"}
        with self.lock:
            grant = self.codes.pop(form.get("code", ""), None)  # a code is good once
        if (
            form.get("grant_type") != "authorization_code"
            or grant is None
            or grant.client_id != client_id
            or form.get("redirect_uri") != grant.redirect_uri
            or not _verifier_matches(grant, form.get("code_verifier"))
        ):
            return 400, {"error": "invalid_grant"}
        access_token = secrets.token_urlsafe(24)
        with self.lock:
            self.tokens[access_token] = grant.claims
        return 200, {
            "access_token": access_token,
            "token_type": "Bearer",
            "expires_in": 300,
            "id_token": self.id_token(grant),
        }

    def id_token(self, grant: Grant) -> str:
        now = int(time.time())
        claims = {
            **grant.claims,
            "iss": self.issuer,
            "aud": self.client_id,
            "iat": now,
            "exp": now + 300,
            **({"nonce": grant.nonce} if grant.nonce else {}),
            **self.id_token_changes,
        }
        return jwt.encode(claims, self.signing_key, algorithm="RS256", headers={"kid": KID})

    def userinfo(self, authorization: str) -> tuple[int, dict]:
        claims = self.tokens.get(authorization.removeprefix("Bearer "))
        if not authorization.startswith("Bearer ") or claims is None:
            return 401, {"error": "invalid_token"}
        return 200, {**claims, **self.userinfo_changes}

    def jwks(self) -> dict:
        jwk = RSAAlgorithm.to_jwk(self.key.public_key(), as_dict=True)
        return {"keys": [{**jwk, "kid": KID, "alg": "RS256", "use": "sig"}]}

    def discovery(self) -> dict:
        return {
            "issuer": self.issuer,
            **self.endpoints(),
            "code_challenge_methods_supported": ["S256"],
        }


def _client_credentials(form: dict[str, str], authorization: str) -> tuple[str, str]:
    """client_secret_basic (RFC 6749 2.3.1: each part form-encoded) or client_secret_post."""
    if authorization.startswith("Basic "):
        try:
            decoded = base64.b64decode(authorization.removeprefix("Basic ")).decode()
        except ValueError:
            return "", ""
        user, _, password = decoded.partition(":")
        return unquote(user), unquote(password)
    return form.get("client_id", ""), form.get("client_secret", "")


def _verifier_matches(grant: Grant, verifier: str | None) -> bool:
    if grant.code_challenge is None:
        return True  # the client did not use PKCE
    if not verifier or grant.code_challenge_method != "S256":
        return False
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode() == grant.code_challenge


class _Handler(BaseHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # quiet
        pass

    @property
    def op(self) -> OIDCProvider:
        return self.server.op  # type: ignore[attr-defined]

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        query = dict(parse_qsl(parts.query))
        authorization = self.headers.get("Authorization", "")
        if parts.path == "/authorize":
            status, headers, body = self.op.authorize(query)
            self._send(parts.path, status, body, headers)
        elif parts.path == "/userinfo":
            self._send(parts.path, *self.op.userinfo(authorization))
        elif parts.path == "/jwks":
            self._send(parts.path, 200, self.op.jwks())
        elif parts.path == "/.well-known/openid-configuration":
            self._send(parts.path, 200, self.op.discovery())
        else:
            self._send(parts.path, 404, {"error": "not_found"})

    def do_POST(self) -> None:
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        form = dict(parse_qsl(self.rfile.read(length).decode()))
        if parts.path == "/token":
            self._send(parts.path, *self.op.token(form, self.headers.get("Authorization", "")))
        else:
            self._send(parts.path, 404, {"error": "not_found"})

    def _send(self, path: str, status: int, body: dict, headers: dict | None = None) -> None:
        with self.op.lock:
            self.op.seen.append((path, status))
        payload = json.dumps(body).encode() if body else b""
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(payload)
