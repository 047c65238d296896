"""The CDS Hooks service as an EHR meets it: ``seq2rx serve`` started for real (uvicorn on 127.0.0.1,
a free port) and driven over HTTP with httpx: discovery, cards, every 4xx answer, the hooks' own
example requests, and requests built to break it. One server for the whole file."""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import pytest
from test_cds import CODES, ISS, med, new_key, p1_like, p3_like, public_jwk, sign, write_results

from seq2rx.cds import build_index

HOOKS = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "fhir" / "cds-hooks"
MAX_BODY = 64 * 1024
#: patient ids that appear nowhere but in requests: the server's log must not hold them
PATIENTS = {"P1": "pt-7f3a91", "P3": "pt-c0ffee", "spec": "1288992"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def keys() -> dict:
    """The CDS client's signing keys, one of each algorithm the specification recommends."""
    return {"RS384": new_key("RS384"), "ES384": new_key("ES384")}


@pytest.fixture(scope="module")
def server(tmp_path_factory, keys):
    """``seq2rx serve`` on a free port over an index of P1- and P3-like patients, and the patient of
    the hooks' examples (CYP2C19 poor metabolizer, like P1)."""
    tmp = tmp_path_factory.mktemp("cds_server")
    res = write_results(tmp / "results", [p1_like(PATIENTS["P1"]), p3_like(PATIENTS["P3"]), p1_like(PATIENTS["spec"])])
    codes = tmp / "codes.tsv"
    codes.write_text("drug\trxnorm\tsource\tdate\n" + "".join(f"{d}\t{c}\tRxNav\t2025-01\n" for d, c in CODES.items()))
    build_index(sorted((res / "findings").glob("*.json")), res / "cds" / "index.sqlite", drug_codes=codes)
    jwks = tmp / "jwks.json"
    jwks.write_text(
        json.dumps({"keys": [public_jwk(keys["RS384"], "rsa-1", "RS384"), public_jwk(keys["ES384"], "ec-1")]})
    )
    port = free_port()
    log = (tmp / "server.log").open("w+")
    cmd = [sys.executable, "-c", "import sys; from seq2rx.cli import main; sys.exit(main(sys.argv[1:]))", "serve",
           "--results", str(res), "--host", "127.0.0.1", "--port", str(port), "--jwks", str(jwks), "--issuer", ISS,
           "--max-body", str(MAX_BODY)]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            httpx.get(base + "/cds-services", timeout=1)
            break
        except httpx.TransportError:
            if proc.poll() is not None or time.monotonic() > deadline:
                log.seek(0)
                pytest.fail(f"the server did not start:\n{log.read()[-3000:]}")
            time.sleep(0.1)
    state = {"base": base, "tokens": [], "log": log, "proc": proc}
    with httpx.Client(base_url=base, timeout=10) as client:
        state["client"] = client
        yield state
    proc.terminate()
    proc.wait(timeout=10)
    log.close()


def token(server, keys, path: str, *, alg: str = "ES384", **claims) -> dict:
    kid = {"ES384": "ec-1", "RS384": "rsa-1"}[alg]
    tok = sign(keys[alg], kid, alg, aud=server["base"] + path, **claims)
    server["tokens"].append(tok)
    return {"Authorization": f"Bearer {tok}"}


def call(server, keys, service: str, body, *, headers=None, **claims) -> httpx.Response:
    path = f"/cds-services/{service}"
    auth = token(server, keys, path, **claims)
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return server["client"].post(path, content=content, headers={**auth, "Content-Type": "application/json",
                                                                 **(headers or {})})  # fmt: skip


def hook(name: str, patient: str, resources: list[dict], **context) -> dict:
    ctx = {"userId": "PractitionerRole/123", "patientId": patient,
           "draftOrders": {"resourceType": "Bundle", "entry": [{"resource": r} for r in resources]}, **context}  # fmt: skip
    if name == "order-select" and "selections" not in ctx:
        ctx["selections"] = [f"MedicationRequest/{r['id']}" for r in resources]
    return {"hook": name, "hookInstance": str(uuid.uuid4()), "context": ctx}


# --- what an EHR gets ----------------------------------------------------------------------------------


@pytest.mark.parametrize("alg", ["RS384", "ES384"])
def test_discovery_lists_the_two_services(server, keys, alg):
    r = server["client"].get("/cds-services", headers=token(server, keys, "/cds-services", alg=alg))
    assert r.status_code == 200
    services = {s["id"]: s for s in r.json()["services"]}
    assert {sid: s["hook"] for sid, s in services.items()} == {
        "order-select": "order-select",
        "order-sign": "order-sign",
    }
    assert all(s["title"] and s["description"] and "prefetch" not in s for s in services.values())
    assert r.headers["cache-control"] == "no-store"
    assert "access-control-allow-origin" not in r.headers  # CORS off by default


@pytest.mark.parametrize("service", ["order-select", "order-sign"])
def test_cards_for_the_demo_like_patients(server, keys, service):
    cases = [
        (PATIENTS["P1"], med("m1", "clopidogrel 75 MG Oral Tablet", CODES["clopidogrel"]), "warning", "ticagrelor"),
        (PATIENTS["P1"], med("m2", "Abacavir 300 MG Oral Tablet"), "critical", "another antiretroviral"),
        (PATIENTS["P3"], med("m3", "carbamazepine 200 MG", CODES["carbamazepine"]), "critical", "Do not start"),
    ]
    for patient, order, indicator, words in cases:
        r = call(server, keys, service, hook(service, patient, [order]))
        assert r.status_code == 200, r.text
        [card] = r.json()["cards"]
        assert card["indicator"] == indicator and words in card["detail"]
        assert card["source"]["url"].startswith("https://cpicpgx.org/guidelines/")
        assert len(card["summary"]) < 140


def test_no_card_for_a_drug_without_guidance_or_an_unknown_patient(server, keys):
    amoxicillin = med("a", "Amoxicillin 500 MG Oral Capsule", "308182")
    r = call(server, keys, "order-sign", hook("order-sign", PATIENTS["P1"], [amoxicillin]))
    assert (r.status_code, r.json()) == (200, {"cards": []})
    clopidogrel = med("c", "clopidogrel 75 MG", CODES["clopidogrel"])
    r = call(server, keys, "order-sign", hook("order-sign", "never-seen", [clopidogrel]))
    assert (r.status_code, r.json()) == (200, {"cards": []})


def _spec_examples(page: str) -> list[dict]:
    """The JSON examples of a hook's page (R4, STU3, DSTU2); the DSTU2 one is a bare ``"context": {...}``."""
    text = (HOOKS / page).read_text()
    blocks = re.findall(r"```json\n(.*?)```", text, flags=re.S)
    return [json.loads(b if b.lstrip().startswith("{") else "{" + b + "}") for b in blocks]


@pytest.mark.parametrize("service", ["order-select", "order-sign"])
def test_the_hook_pages_example_requests(server, keys, service):
    if not HOOKS.is_dir():
        pytest.skip(f"the CDS Hooks pages are not at {HOOKS}")
    examples = _spec_examples(f"{service}.md")
    assert len(examples) == 3
    for example in examples:
        body = {"hook": service, "hookInstance": "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea", **example}
        r = call(server, keys, service, body)
        assert (r.status_code, r.json()) == (200, {"cards": []})  # amoxicillin/clavulanate: no PGx guidance
        # the same request with the medication made clopidogrel: the example's patient is a poor metabolizer
        for entry in body["context"]["draftOrders"]["entry"]:
            concept = entry["resource"].get("medicationCodeableConcept")
            if concept:
                concept["coding"][0].update(code=CODES["clopidogrel"], display="clopidogrel 75 MG Oral Tablet")
                concept["text"] = "clopidogrel 75 MG Oral Tablet"
        body["hookInstance"] = str(uuid.uuid4())
        r = call(server, keys, service, body)
        assert r.status_code == 200 and [c["indicator"] for c in r.json()["cards"]] == ["warning"]


# --- every refusal --------------------------------------------------------------------------------------


def test_every_token_problem_is_a_401_with_a_challenge_and_nothing_else(server, keys):
    client, path = server["client"], "/cds-services/order-sign"
    body = json.dumps(hook("order-sign", PATIENTS["P1"], [med("m", "clopidogrel")]))
    aud = server["base"] + path
    now = time.time()
    other = new_key("ES384")
    replayed = sign(keys["ES384"], "ec-1", "ES384", aud=aud)
    assert client.post(path, content=body, headers={"Authorization": f"Bearer {replayed}"}).status_code == 200
    import jwt

    bad = {
        "no token": None,
        "expired": sign(keys["ES384"], "ec-1", "ES384", aud=aud, now=now - 600),
        "wrong aud": sign(keys["ES384"], "ec-1", "ES384", aud=server["base"] + "/cds-services"),
        "wrong aud (another host)": sign(keys["ES384"], "ec-1", "ES384", aud="https://cds.example.org/cds-services/order-sign"),
        "wrong iss": sign(keys["RS384"], "rsa-1", "RS384", aud=aud, iss="https://evil.example/"),
        "unknown kid": sign(keys["ES384"], "nope", "ES384", aud=aud),
        "bad signature": sign(other, "ec-1", "ES384", aud=aud),
        "HS256": jwt.encode({"iss": ISS, "aud": aud, "exp": int(now) + 60, "iat": int(now), "jti": "h"}, "k" * 32,
                            algorithm="HS256", headers={"kid": "ec-1"}),
        "none": jwt.encode({"iss": ISS, "aud": aud, "exp": int(now) + 60, "iat": int(now), "jti": "n"}, None,
                           algorithm="none", headers={"kid": "ec-1"}),
        "replayed jti": replayed,
    }  # fmt: skip
    for name, tok in bad.items():
        headers = {"Authorization": f"Bearer {tok}"} if tok else {}
        r = client.post(path, content=body, headers=headers)
        assert r.status_code == 401, name
        assert r.headers["www-authenticate"].startswith('Bearer realm="seq2rx-cds"'), name
        assert ('error="invalid_token"' in r.headers["www-authenticate"]) == (tok is not None), name
        assert r.json() == {
            "error": "unauthorized",
            "detail": "a valid Bearer JWT from a trusted CDS client is required",
        }
    assert client.get("/cds-services").status_code == 401


def test_bodies_that_are_too_big_not_json_or_the_wrong_shape(server, keys):
    patient = PATIENTS["P1"]
    big = json.dumps(hook("order-sign", patient, [med("m", "x" * (MAX_BODY + 10))])).encode()
    r = call(server, keys, "order-sign", big)
    assert r.status_code == 413 and r.json()["error"] == "payload too large"

    def chunks():  # no Content-Length: the limit holds while the body streams in
        for _ in range(4):
            yield b" " * (MAX_BODY // 2)

    path = "/cds-services/order-sign"
    r = server["client"].post(path, content=chunks(), headers=token(server, keys, path))
    assert r.status_code == 413
    for body in (b"{not json", b"\xff\xfe\x00", b"[" * 30_000 + b"]" * 30_000, b""):
        r = call(server, keys, "order-sign", body)
        assert r.status_code == 400 and r.json()["error"] == "bad request", body[:20]
    for body, detail in ((["a list"], "must be a JSON object"), ({"hook": "order-sign"}, "hookInstance is required"),
                         (hook("order-select", patient, []), "hook must be 'order-sign'")):  # fmt: skip
        r = call(server, keys, "order-sign", body)
        assert r.status_code == 400 and detail in r.json()["detail"], r.text
    wrong = hook("order-sign", patient, [med("m", "clopidogrel")])
    wrong["context"]["patientId"] = {"$ne": None}
    r = call(server, keys, "order-sign", wrong)
    assert r.status_code == 400 and "patientId" not in r.text.split('"detail"')[0]


def test_unknown_service_wrong_method_and_other_paths(server, keys):
    r = call(server, keys, "patient-view", hook("order-sign", PATIENTS["P1"], []))
    assert r.status_code == 404
    assert call(server, keys, "..%2F..%2Fetc%2Fpasswd", {}).status_code == 404
    client = server["client"]
    assert (
        client.get("/cds-services/order-sign", headers=token(server, keys, "/cds-services/order-sign")).status_code
        == 405
    )
    assert client.delete("/cds-services", headers=token(server, keys, "/cds-services")).status_code == 405
    assert client.post("/cds-services", content=b"{}").status_code == 405
    for path in ("/docs", "/openapi.json", "/cds-services/"):
        assert client.get(path).status_code == 404, path
    r = client.options(
        "/cds-services", headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"}
    )
    assert "access-control-allow-origin" not in r.headers


def test_injection_attempts_are_answered_without_a_500_and_never_run(server, keys):
    for patient in ("P1' OR '1'='1", "'; DROP TABLE recommendation; --", PATIENTS["P1"] + "\x00", "%s%s%n", "\u202e"):
        r = call(
            server, keys, "order-sign", hook("order-sign", patient, [med("m", "clopidogrel", CODES["clopidogrel"])])
        )
        assert (r.status_code, r.json()) == (200, {"cards": []}), patient
    script = "<script>alert('x')</script> clopidogrel 75 MG <img src=x onerror=alert(1)>"
    r = call(server, keys, "order-sign", hook("order-sign", PATIENTS["P1"], [med("<b>", script, text=script)]))
    assert r.status_code == 200
    [card] = r.json()["cards"]
    assert card["indicator"] == "warning" and "<" not in json.dumps(card) and "alert" not in json.dumps(card)
    # the index is intact: the same patient still gets the same card
    r = call(server, keys, "order-sign", hook("order-sign", PATIENTS["P1"], [med("m", "clopidogrel")]))
    assert [c["indicator"] for c in r.json()["cards"]] == ["warning"]


def test_the_log_holds_method_path_status_latency_and_no_patient_data(server, keys):
    call(server, keys, "order-sign", hook("order-sign", PATIENTS["P3"], [med("m", "carbamazepine")]))
    server["client"].post("/cds-services/%0Aforged%20line", content=b"{}")
    time.sleep(0.2)
    log = server["log"]
    log.flush()
    log.seek(0)
    text = log.read()
    lines = [ln for ln in text.splitlines() if "seq2rx.cds POST" in ln or "seq2rx.cds GET" in ln]
    known = r"(/cds-services|/cds-services/order-select|/cds-services/order-sign|\(other path\))"
    odd = [ln for ln in lines if not re.search(rf"seq2rx\.cds (GET|POST) {known} \d{{3}} \d+\.\dms$", ln)]
    assert lines and not odd, odd[:3]
    assert re.search(r"POST /cds-services/order-sign 200 ", text)
    for secret in [*PATIENTS.values(), "carbamazepine", "clopidogrel", "Bearer", "forged", "script"]:
        assert secret not in text, secret
    assert not any(tok.split(".")[2][:20] in text for tok in server["tokens"])
    assert "Traceback" not in text and " 500 " not in text


# --- found by a security review and a new user's test (issue 19) -------------------------------------------


def test_headers_that_never_end_are_cut_off_and_memory_does_not_grow(server):
    """A client that sends header bytes and never ends them: the connection is closed after the
    server's limit on an unfinished request (h11, 16 KiB), long before 4 MiB, and the server's
    memory is what it was."""

    def rss_kb() -> int:
        for line in open(f"/proc/{server['proc'].pid}/status"):
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        return 0

    before = rss_kb()
    host, port = server["base"].removeprefix("http://").split(":")
    sent = 0
    with socket.create_connection((host, int(port)), timeout=5) as s:
        s.sendall(b"POST /cds-services/order-sign HTTP/1.1\r\nHost: x\r\nX-Pad: ")
        try:
            while sent < 4 << 20:
                s.sendall(b"a" * 65536)
                sent += 65536
        except OSError:  # reset by the server
            pass
        s.settimeout(5)
        try:
            answer = s.recv(4096)
        except OSError:
            answer = b""
    assert sent < 4 << 20 and (answer == b"" or answer.startswith(b"HTTP/1.1 4")), (sent, answer[:80])
    assert rss_kb() - before < 20_000  # kB
    assert server["client"].get("/cds-services").status_code == 401  # still answering


def test_a_refused_token_says_why_in_the_log_and_nothing_else(server, keys):
    path = "/cds-services/order-sign"
    body = hook("order-sign", PATIENTS["P1"], [med("m", "clopidogrel")])
    wrong = sign(keys["ES384"], "ec-1", "ES384", aud=server["base"].replace("127.0.0.1", "localhost") + path)
    r = server["client"].post(path, json=body, headers={"Authorization": f"Bearer {wrong}"})
    assert r.status_code == 401 and "localhost" not in r.text
    time.sleep(0.2)
    log = server["log"]
    log.flush()
    log.seek(0)
    text = log.read()
    assert f"401 on {path}: aud is not {server['base']}{path} (the URL called, exactly)" in text
    assert PATIENTS["P1"] not in text and wrong.split(".")[2][:20] not in text


def test_repeated_keys_nan_and_lone_surrogates_are_400s(server, keys):
    good = json.dumps(hook("order-sign", PATIENTS["P1"], [med("m", "clopidogrel")]))
    twice = good.replace('"patientId": ', '"patientId": "NOPE", "patientId": ', 1).encode()
    assert call(server, keys, "order-sign", twice).status_code == 400
    assert (
        call(
            server, keys, "order-sign", good.replace('"hookInstance": "', '"n": NaN, "hookInstance": "', 1).encode()
        ).status_code
        == 400
    )
    surrogate = good.replace(f'"patientId": "{PATIENTS["P1"]}"', '"patientId": "\\ud800"').encode()
    r = call(server, keys, "order-sign", surrogate)
    assert r.status_code == 400 and "surrogate" in r.json()["detail"]


def test_a_port_in_use_is_a_message_not_a_crash(server, tmp_path, capsys):
    from seq2rx.cli import main

    host, port = server["base"].removeprefix("http://").split(":")
    results = tmp_path / "r"
    (results / "cds").mkdir(parents=True)
    served = Path(server["proc"].args[server["proc"].args.index("--results") + 1])
    (results / "cds" / "index.sqlite").write_bytes((served / "cds" / "index.sqlite").read_bytes())
    jwks = server["proc"].args[server["proc"].args.index("--jwks") + 1]
    assert main(["serve", "--results", str(results), "--host", host, "--port", port, "--jwks", jwks,
                 "--issuer", ISS]) == 2  # fmt: skip
    err = capsys.readouterr().err
    assert f"cannot listen on {host}:{port}" in err and "choose another with --port" in err and "Traceback" not in err
