"""The CDS Hooks service on FastAPI: discovery, the ``order-select`` and ``order-sign`` services,
the client's JWT checked on every call, a body-size limit enforced before anything is parsed, and a
log of method, path, status and latency only (never a patient id, a body or a token).

Status codes: 200 with ``{"cards": [...]}`` (empty for an unknown patient or a drug without
guidance); 400 for a body that is not JSON or not a call of the service's hook; 401 with a
``WWW-Authenticate`` header for a missing or unacceptable token; 404 for an unknown service; 405
for another method; 413 for a body over the limit; 503 when the replay cache is full.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import logging
import socket
import time
from pathlib import Path
from urllib.parse import urlsplit

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect

from seq2rx.cds.auth import ReplayCacheFull, Unauthorized, Verifier, load_jwks
from seq2rx.cds.cards import SERVICES, BadRequest, DrugTable, cards_for, discovery, parse_request
from seq2rx.core.errors import InputError

#: the largest request body read by default (1 MiB); larger ones get 413 before any parsing
MAX_BODY = 1 << 20
#: a body over the limit is still read (and dropped) up to this many times the limit, so that the
#: client sees the 413 rather than a reset connection; beyond it the connection is closed
DRAIN_FACTOR = 8
#: the largest --max-body accepted
MAX_BODY_CAP = 64 << 20
#: seconds a request body may take to arrive once its headers are in (then 408)
BODY_SECONDS = 10
#: connections served at once; more are answered 503 by uvicorn
CONCURRENCY = 200
#: seconds an idle keep-alive connection is kept
KEEP_ALIVE_SECONDS = 5
LOG = logging.getLogger("seq2rx.cds")
#: the paths logged as they are; any other path is logged as "(other path)" (it could carry anything)
_KNOWN_PATHS = {"/cds-services", "/cds-services/order-select", "/cds-services/order-sign"}
_REALM = 'Bearer realm="seq2rx-cds"'
#: headers on every response: nothing is cached (the cards are about a patient), nothing sniffed
SECURITY_HEADERS = [(b"cache-control", b"no-store"), (b"x-content-type-options", b"nosniff")]


class AccessLog:
    """Outermost ASGI layer: one log line per request (method, path, status, milliseconds), the
    security headers on every response, and any unexpected error answered as a bare 500 and logged
    by its class name only (its message could hold request data)."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        state = {"status": 500, "started": False}

        async def send_wrapper(message) -> None:
            if message["type"] == "http.response.start":
                state["status"], state["started"] = message["status"], True
                message = {**message, "headers": [*message.get("headers", []), *SECURITY_HEADERS]}
            await send(message)

        failure = ""
        try:
            await self.app(scope, receive, send_wrapper)
        except ClientDisconnect:
            state["status"], failure = 499, " client went away"
        except Exception as exc:  # noqa: BLE001 - the last line of defence: no traceback, no data
            failure = f" error={exc.__class__.__name__}"
            state["status"] = 500
            if not state["started"]:
                body = b'{"error":"internal error"}'
                await send({"type": "http.response.start", "status": 500,
                            "headers": [(b"content-type", b"application/json"), *SECURITY_HEADERS]})  # fmt: skip
                await send({"type": "http.response.body", "body": body})
        finally:
            path = scope.get("path", "")
            shown = path if path in _KNOWN_PATHS else "(other path)"
            ms = (time.perf_counter() - start) * 1000
            LOG.info("%s %s %d %.1fms%s", scope.get("method", "-"), shown, state["status"], ms, failure)


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def base_url(host: str, port: int, public_url: str | None) -> str:
    """The URL clients call, without ``/cds-services``: ``--public-url`` when given (behind a proxy),
    else ``http://HOST:PORT``. The specification wants HTTPS: plain HTTP is served only on a
    loopback address (a sandbox on the same machine, or a TLS terminator in front of it); on any
    other address ``--public-url`` must be the ``https://`` URL of the TLS terminator, whose
    address the tokens' ``aud`` names."""
    if public_url:
        parts = urlsplit(public_url)
        if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
            raise InputError("--public-url", f"{public_url!r} is not an http(s) base URL",
                             hint="e.g. https://cds.example.org (the service answers at .../cds-services)")  # fmt: skip
        if parts.scheme != "https" and not _loopback(parts.hostname or ""):
            raise InputError("--public-url", f"{public_url!r} is plain HTTP on a network address",
                             hint="CDS Hooks calls carry patient data and must use HTTPS: give the https:// URL "
                             "of the TLS terminator in front of the service")  # fmt: skip
        return public_url.rstrip("/")
    if not _loopback(host):
        raise InputError("--host", f"{host or '(empty)'} is not a loopback address, and the service speaks plain HTTP",
                         hint="serve on 127.0.0.1 behind a TLS terminator and give --public-url https://..., the URL "
                         "clients call (their tokens' aud names it)")  # fmt: skip
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}"


def check_cors_origin(origin: str) -> str:
    """One browser origin, ``https://host[:port]`` (``http://`` only for a loopback host); never
    ``*`` or ``null``, and no path."""
    parts = urlsplit(origin)
    exact = f"{parts.scheme}://{parts.netloc}" == origin and parts.hostname
    if not exact or parts.scheme not in ("http", "https") or (parts.scheme == "http" and not _loopback(parts.hostname)):
        raise InputError("--cors-origin", f"{origin!r} is not one https origin",
                         hint="e.g. https://ehr.example.org (scheme and host, no path or trailing slash; * is refused)")  # fmt: skip
    return origin


def _no_repeated_keys(pairs: list[tuple[str, object]]) -> dict:
    keys = [k for k, _ in pairs]
    if len(set(keys)) != len(keys):
        raise ValueError("a key is repeated in an object")
    return dict(pairs)


def _no_constant(name: str):
    raise ValueError(f"{name} is not JSON")


def strict_json(raw: bytes):
    """The body as JSON, strictly: UTF-8, no repeated key in an object (two ``patientId``s could be
    read differently by a proxy and by the service), no NaN or Infinity."""
    return json.loads(raw.decode("utf-8"), object_pairs_hook=_no_repeated_keys, parse_constant=_no_constant)


def _problem(status: int, error: str, detail: str | None = None, headers: dict | None = None) -> JSONResponse:
    body = {"error": error, **({"detail": detail} if detail else {})}
    return JSONResponse(body, status_code=status, headers=headers)


def create_app(index, verifier: Verifier, *, base: str, max_body: int = MAX_BODY, cors_origin: str | None = None):
    """The ASGI application (wrapped in :class:`AccessLog`). ``index`` is a
    :class:`seq2rx.cds.index.Index` (or anything with ``recommendations(patient, drug)`` and
    ``drugs``); ``base`` the URL clients call, without ``/cds-services``."""
    app = FastAPI(title="seq2rx CDS Hooks service", docs_url=None, redoc_url=None, openapi_url=None)
    app.router.redirect_slashes = False
    table = DrugTable(index.drugs)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request, exc):  # 404 and 405 from routing, in the service's own shape
        names = {404: "not found", 405: "method not allowed"}
        return _problem(exc.status_code, names.get(exc.status_code, "error"), headers=getattr(exc, "headers", None))

    def authorise(request: Request, path: str):
        try:
            verifier.verify(request.headers.get("authorization"), base + path)
        except Unauthorized as exc:
            LOG.warning("401 on %s: %s", path if path in _KNOWN_PATHS else "(other path)", exc.reason)
            challenge = _REALM if exc.missing else _REALM + ', error="invalid_token"'
            return _problem(401, "unauthorized", "a valid Bearer JWT from a trusted CDS client is required",
                            {"WWW-Authenticate": challenge})  # fmt: skip
        except ReplayCacheFull:
            return _problem(503, "busy", "too many recent tokens; retry shortly", {"Retry-After": "5"})
        return None

    @app.get("/cds-services")
    async def discover(request: Request):
        denied = authorise(request, "/cds-services")
        return denied or JSONResponse(discovery())

    @app.post("/cds-services/{service_id}")
    async def call(service_id: str, request: Request):
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > max_body:
            return _problem(413, "payload too large", f"the body may be at most {max_body} bytes",
                            {"Connection": "close"})  # fmt: skip
        denied = authorise(request, f"/cds-services/{service_id}")
        if denied:
            return denied
        if service_id not in SERVICES:
            return _problem(404, "not found", f"services: {', '.join(SERVICES)}")
        chunks, size = [], 0
        try:
            async with asyncio.timeout(BODY_SECONDS):
                async for chunk in request.stream():
                    size += len(chunk)
                    if size <= max_body:
                        chunks.append(chunk)
                    elif size > max_body * DRAIN_FACTOR:
                        break
        except TimeoutError:
            return _problem(408, "request timeout", f"the body did not arrive within {BODY_SECONDS} s",
                            {"Connection": "close"})  # fmt: skip
        if size > max_body:
            return _problem(413, "payload too large", f"the body may be at most {max_body} bytes",
                            {"Connection": "close"})  # fmt: skip
        try:
            body = strict_json(b"".join(chunks))
        except (ValueError, RecursionError):
            return _problem(400, "bad request", "the body is not JSON (UTF-8, no repeated keys, no NaN)")
        try:
            hook = parse_request(service_id, body)
        except BadRequest as exc:
            return _problem(400, "bad request", str(exc))
        except RecursionError:
            return _problem(400, "bad request", "the body is nested too deeply")
        return JSONResponse(cards_for(hook, index.recommendations, table))  # no jsonable_encoder pass: plain data

    if cors_origin:
        check_cors_origin(cors_origin)
        from fastapi.middleware.cors import CORSMiddleware

        app.add_middleware(CORSMiddleware, allow_origins=[cors_origin], allow_methods=["GET", "POST"],
                           allow_headers=["Authorization", "Content-Type"], allow_credentials=False)  # fmt: skip
    return AccessLog(app)


def serve(results: str | Path, *, host: str, port: int, jwks: str | Path, issuer: str,
          public_url: str | None = None, max_body: int = MAX_BODY, cors_origin: str | None = None,
          index_path: str | Path | None = None) -> None:  # fmt: skip
    """Run the service until stopped. Everything is checked before the port is opened: the index
    (``RESULTS/cds/index.sqlite``), the JWK Set, the issuer, the public URL."""
    import sys

    import uvicorn

    from seq2rx.cds.index import Index

    if not issuer.strip():
        raise InputError("--issuer", "is empty", hint="give the iss your CDS client signs its JWTs with")
    if not 1024 <= max_body <= MAX_BODY_CAP:
        raise InputError("--max-body", f"{max_body} bytes is outside 1024 to {MAX_BODY_CAP}", hint="e.g. 1048576")
    if cors_origin is not None:
        check_cors_origin(cors_origin)
    base = base_url(host, port, public_url)
    verifier = Verifier(load_jwks(jwks), issuer)
    index = Index(Path(index_path) if index_path else Path(results) / "cds" / "index.sqlite")
    app = create_app(index, verifier, base=base, max_body=max_body, cors_origin=cors_origin)
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise InputError("--port", f"cannot listen on {host}:{port} ({exc.strerror or exc.__class__.__name__})",
                         hint="another program may be using the port: choose another with --port") from None  # fmt: skip
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(name)s %(message)s")
    LOG.info("%d patients indexed; %d keys; answering at %s/cds-services", index.patients, len(verifier.keys), base)
    # h11: its limit on an unfinished request (16 KiB of headers) stops a client that never ends its
    # headers from filling memory; httptools has no such limit
    config = uvicorn.Config(app, http="h11", access_log=False, log_config=None, server_header=False,
                            proxy_headers=False, limit_concurrency=CONCURRENCY,
                            timeout_keep_alive=KEEP_ALIVE_SECONDS)  # fmt: skip
    uvicorn.Server(config).run(sockets=[sock])
