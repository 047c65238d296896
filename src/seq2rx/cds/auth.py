"""The CDS client's JSON Web Token, checked as the CDS Hooks specification asks ("Trusting CDS
Clients"): a Bearer JWT signed by the client with an asymmetric key (RS384 or ES384; never ``none``,
never an HMAC), the key found by ``kid`` in the client's JWK Set (given out of band: a ``jku`` in the
header is never fetched), ``iss`` the one trusted issuer, ``aud`` the URL of the endpoint called,
``exp`` in the future and at most five minutes away, ``iat`` not in the future, and ``jti`` never
seen before while the token could still be used (a replay cache bounded in size and time).
"""

from __future__ import annotations

import heapq
import json
import math
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import jwt

from seq2rx.core.errors import InputError

#: the algorithms the specification recommends; nothing else is accepted
ALGORITHMS = {"RS384": "RSA", "ES384": "EC"}
#: seconds of clock difference tolerated between client and service
LEEWAY = 30
#: the longest a token may live (exp - now), as the specification's example and common practice
MAX_LIFETIME = 300
#: tokens remembered for replay at most at once (about 300 requests a second over five minutes)
REPLAY_CAPACITY = 100_000
MIN_RSA_BITS = 2048


class Unauthorized(Exception):
    """The request's token is missing or not acceptable. ``reason`` is for the server's log and the
    tests, never sent to the caller; it holds no value taken from the token."""

    def __init__(self, reason: str, *, missing: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.missing = missing


class ReplayCacheFull(Exception):
    """More unexpired tokens than the replay cache holds: the service refuses rather than forget one."""


@dataclass(frozen=True)
class ClientKey:
    kid: str
    kty: str
    alg: str | None  # the JWK's own "alg", when it names one
    key: object = field(repr=False)


def load_jwks(path: str | Path) -> dict[str, ClientKey]:
    """kid -> public key, from the client's JWK Set (``{"keys": [...]}``). Keys for signing with RSA
    (at least 2048 bits) or EC P-384 are taken; a key marked for another use (``use`` not ``sig``) is
    passed over. A set holding a private key, two keys with one kid, or no usable key is refused."""
    path = Path(path)
    try:
        doc = json.loads(path.read_text())
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(str(path), f"is not a JSON Web Key Set ({exc.__class__.__name__})",
                         hint="give the CDS client's public JWK Set: {\"keys\": [...]}") from None  # fmt: skip
    if not isinstance(doc, dict) or not isinstance(doc.get("keys"), list):
        raise InputError(str(path), 'has no "keys" array', hint='a JWK Set is {"keys": [...]}')
    keys: dict[str, ClientKey] = {}
    for k, jwk in enumerate(doc["keys"]):
        where = f"keys[{k}]"
        if not isinstance(jwk, dict):
            raise InputError(str(path), "is not a JSON object", field=where)
        if "d" in jwk or "p" in jwk:
            raise InputError(str(path), "holds a private key", field=where,
                             hint="the service needs only the client's public keys; keep the private key with the client")  # fmt: skip
        kid, kty, alg = jwk.get("kid"), jwk.get("kty"), jwk.get("alg")
        if jwk.get("use", "sig") != "sig":
            continue
        if not isinstance(kid, str) or not kid:
            raise InputError(str(path), "has no kid", field=where, hint="each key needs a kid the client's JWTs name")
        if kid in keys:
            raise InputError(str(path), f"kid {kid!r} is used twice", field=where)
        if kty not in ("RSA", "EC") or alg is not None and alg not in ALGORITHMS:
            raise InputError(str(path), f"key {kid!r} is {kty}/{alg}; only RS384 (RSA) and ES384 (EC P-384) are accepted",
                             field=where)  # fmt: skip
        if kty == "EC" and jwk.get("crv") != "P-384":
            raise InputError(str(path), f"key {kid!r} is on curve {jwk.get('crv')!r}; ES384 needs P-384", field=where)
        try:
            key = jwt.PyJWK(jwk, algorithm="RS384" if kty == "RSA" else "ES384").key
        except (jwt.PyJWKError, ValueError, TypeError) as exc:
            raise InputError(str(path), f"key {kid!r} cannot be read ({exc.__class__.__name__})", field=where) from None
        if kty == "RSA" and key.key_size < MIN_RSA_BITS:
            raise InputError(str(path), f"key {kid!r} has {key.key_size} bits; at least {MIN_RSA_BITS} are needed",
                             field=where)  # fmt: skip
        keys[kid] = ClientKey(kid, kty, alg, key)
    if not keys:
        raise InputError(str(path), "holds no RS384 or ES384 signing key")
    return keys


class ReplayCache:
    """jti -> the time after which its token is dead; entries leave when that time passes."""

    def __init__(self, capacity: int = REPLAY_CAPACITY) -> None:
        self.capacity = capacity
        self._until: dict[str, float] = {}
        self._heap: list[tuple[float, str]] = []
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._until)

    def first_use(self, jti: str, until: float, now: float) -> bool:
        """Record ``jti``; False if it was seen before and is still remembered."""
        if not math.isfinite(until):
            raise ValueError("a jti's time to be forgotten must be finite")
        with self._lock:
            while self._heap and self._heap[0][0] < now:
                _, old = heapq.heappop(self._heap)
                self._until.pop(old, None)
            if jti in self._until:
                return False
            if len(self._until) >= self.capacity:
                raise ReplayCacheFull()
            self._until[jti] = until
            heapq.heappush(self._heap, (until, jti))
            return True


class Verifier:
    """Checks a request's ``Authorization`` header for one issuer and JWK Set."""

    def __init__(self, keys: dict[str, ClientKey], issuer: str, *, leeway: int = LEEWAY,
                 max_lifetime: int = MAX_LIFETIME, replay: ReplayCache | None = None) -> None:  # fmt: skip
        self.keys = keys
        self.issuer = issuer
        self.leeway = leeway
        self.max_lifetime = max_lifetime
        self.replay = replay if replay is not None else ReplayCache()

    def verify(self, authorization: str | None, audience: str, *, now: float | None = None) -> dict:
        """The token's claims, or :class:`Unauthorized` (its ``reason`` in plain words, for the
        server's log: never a claim value from the token). ``audience`` is the URL that was called."""
        try:
            return self._verify(authorization, audience, now)
        except (Unauthorized, ReplayCacheFull):
            raise
        except Exception as exc:  # noqa: BLE001 - a token that trips the parser is refused, not a 500
            raise Unauthorized(f"unreadable token ({exc.__class__.__name__})") from None

    def _verify(self, authorization: str | None, audience: str, now: float | None) -> dict:
        if not authorization:
            raise Unauthorized("no Authorization header", missing=True)
        scheme, _, token = authorization.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise Unauthorized("not a Bearer token", missing=True)
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise Unauthorized("not a JWT") from None
        alg, kid = header.get("alg"), header.get("kid")
        if not isinstance(alg, str) or alg not in ALGORITHMS:
            raise Unauthorized("the header's alg is not RS384 or ES384")
        if not isinstance(header.get("typ"), str) or header["typ"].upper() != "JWT":
            raise Unauthorized("the header's typ is not JWT (the specification requires it)")
        key = self.keys.get(kid) if isinstance(kid, str) else None
        if key is None:
            raise Unauthorized("the header's kid names no key of the JWK Set")
        if key.kty != ALGORITHMS[alg] or key.alg not in (None, alg):
            raise Unauthorized("the header's alg does not match the key's type")
        now = time.time() if now is None else now
        try:
            claims = jwt.decode(
                token,
                key.key,
                algorithms=[alg],
                audience=audience,
                issuer=self.issuer,
                leeway=self.leeway,
                options={"require": ["iss", "aud", "exp", "iat", "jti"], "verify_iat": False, "verify_exp": False},
            )
        except jwt.InvalidAudienceError:
            raise Unauthorized(f"aud is not {audience} (the URL called, exactly)") from None
        except jwt.InvalidIssuerError:
            raise Unauthorized("iss is not the trusted issuer (--issuer)") from None
        except jwt.MissingRequiredClaimError as exc:
            raise Unauthorized(f"the {exc.claim} claim is missing") from None
        except jwt.InvalidSignatureError:
            raise Unauthorized("the signature does not verify with the key its kid names") from None
        except jwt.PyJWTError as exc:
            raise Unauthorized(f"rejected by the JWT check ({exc.__class__.__name__})") from None
        exp, iat, jti = claims.get("exp"), claims.get("iat"), claims.get("jti")
        if not all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in (exp, iat)):
            raise Unauthorized("exp and iat must be finite numbers (seconds since 1970)")
        if exp + self.leeway <= now:
            raise Unauthorized(f"expired {now - exp:.0f} s ago (leeway {self.leeway} s)")
        if exp - now > self.max_lifetime + self.leeway:
            raise Unauthorized(f"exp is {exp - now:.0f} s ahead; at most {self.max_lifetime} s is accepted")
        if iat > now + self.leeway or iat > exp:
            raise Unauthorized(f"iat is {iat - now:.0f} s in the future (leeway {self.leeway} s)")
        if not isinstance(jti, str) or not jti or len(jti) > 256:
            raise Unauthorized("jti must be a string of 1 to 256 characters")
        if not self.replay.first_use(jti, exp + self.leeway, now):
            raise Unauthorized("this jti was used before: a token is good for one call")
        return claims
