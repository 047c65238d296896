"""The CDS Hooks service under load (issue 19: p99 under 100 ms, 0 errors, flat memory; kill and restart).

Simulates 10,000 patients' findings (every patient has ~35 card-making rows over the shipped
knowledge base's drugs, as the demo patients do, and one of four profiles that decides the card
for clopidogrel, abacavir and carbamazepine), builds the index (``seq2rx cds index``'s function),
starts ``seq2rx serve`` on 127.0.0.1 and sends it hook calls from httpx at 20 concurrent
connections, each with its own freshly signed token (RS384 and ES384 alternating, signed before
the timed phase so the client's signing does not share the two cores with the server during it).
Every 200 answer is checked against the card its patient's profile must get.

Phases: a warm-up of 200 calls; three rounds of 2,000 calls (latency from the client's side,
server RSS sampled every 50 ms); then 1,000 calls during which the server is killed (SIGKILL)
after 300 and restarted: calls that fail on the dead server are retried once it is back, and the
index's bytes and ``PRAGMA integrity_check`` are compared before and after.

    python benchmarks/bench_cds.py --json bench_cds.json [--patients 10000]
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import hashlib
import json
import os
import random
import re
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import httpx
import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
from seq2rx.cds import build_index  # noqa: E402
from seq2rx.core.data import data_path  # noqa: E402

ISS = "https://ehr.bench.example/"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
#: profile -> (drug, gene, diplotype, phenotype, indicator) of the one card that tells profiles apart
PROFILES = {
    "cyp2c19_pm": ("clopidogrel", "CYP2C19", "*2/*2", "CYP2C19 Poor Metabolizer", "warning"),
    "hla_b5701": ("abacavir", "HLA-B", "*57:01/*07:02", "HLA-B carrier *57:01", "critical"),
    "hla_b1502": ("carbamazepine", "HLA-B", "*15:02/*40:01", "HLA-B carrier *15:02", "critical"),
    "none": None,
}
PROBES = ("clopidogrel", "abacavir", "carbamazepine")


def kb_drugs() -> list[str]:
    with open(data_path("kb", "pgx", "drug_guidance.tsv"), newline="") as fh:
        return sorted({row["drug"] for row in csv.DictReader(fh, delimiter="\t")} - set(PROBES))


def simulate(n: int, folder: Path, seed: int = 19) -> dict[str, str]:
    """Write n findings documents; return patient -> profile."""
    rng = random.Random(seed)
    fillers = kb_drugs()
    (folder / "findings").mkdir(parents=True)
    profiles = {}
    for i in range(n):
        patient = f"BP{i:05d}"
        profile = rng.choice(sorted(PROFILES))
        profiles[patient] = profile
        recs = [{"drug": d, "genes": ["CYP2D6"], "phenotype": "CYP2D6 Poor Metabolizer", "actionable": True,
                 "recommendation": f"Synthetic guidance for {d}.", "strength": "Moderate", "caveats": [],
                 "source": "CPIC synthetic; https://cpicpgx.org/guidelines/ (2024-01)"}
                for d in rng.sample(fillers, 34)]  # fmt: skip
        if PROFILES[profile]:
            drug, gene, dip, phen, ind = PROFILES[profile]
            recs.append({"drug": drug, "genes": [gene], "phenotype": phen, "actionable": True, "indicator": ind,
                         "recommendation": f"Synthetic {ind} guidance for {drug}.", "strength": "Strong",
                         "caveats": [], "source": "CPIC synthetic; https://cpicpgx.org/guidelines/ (2024-01)"})  # fmt: skip
        genes = [{"gene": "CYP2D6", "diplotypes": ["*4/*4"]}]
        if PROFILES[profile]:
            genes.append({"gene": PROFILES[profile][1], "diplotypes": [PROFILES[profile][2]]})
        doc = {"patient": patient, "pgx": {"status": "done", "genes": genes, "recommendations": recs}}
        (folder / "findings" / f"{patient}.json").write_text(json.dumps(doc))
    return profiles


def expected(profile: str, drug: str) -> list[str]:
    spec = PROFILES[profile]
    return [spec[4]] if spec and spec[0] == drug else []


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


class Server:
    def __init__(self, index: Path, jwks: Path, port: int, log: Path) -> None:
        self.args = [sys.executable, "-c", "import sys; from seq2rx.cli import main; sys.exit(main(sys.argv[1:]))",
                     "serve", "--index", str(index), "--jwks", str(jwks), "--issuer", ISS, "--port", str(port)]  # fmt: skip
        self.base = f"http://127.0.0.1:{port}"
        self.log = log.open("a")
        self.proc = None

    def start(self) -> float:
        t0 = time.perf_counter()
        env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1] / "src")}
        self.proc = subprocess.Popen(self.args, stdout=self.log, stderr=subprocess.STDOUT, env=env)
        while True:
            try:
                httpx.get(self.base + "/cds-services", timeout=0.5)
                return time.perf_counter() - t0
            except httpx.TransportError:
                if self.proc.poll() is not None:
                    raise RuntimeError("the server died at start") from None
                time.sleep(0.05)

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)


def signer(base: str, lifetime: int = 290):
    keys = {"RS384": rsa.generate_private_key(public_exponent=65537, key_size=2048),
            "ES384": ec.generate_private_key(ec.SECP384R1())}  # fmt: skip
    jwks = []
    for alg, key in keys.items():
        maker = jwt.algorithms.RSAAlgorithm if alg == "RS384" else jwt.algorithms.ECAlgorithm
        jwks.append({**maker.to_jwk(key.public_key(), as_dict=True), "kid": alg, "use": "sig", "alg": alg})
    counter = iter(range(10**9))

    def sign(service: str) -> str:
        alg = "RS384" if next(counter) % 2 else "ES384"
        now = int(time.time())
        claims = {"iss": ISS, "aud": f"{base}/cds-services/{service}", "iat": now, "exp": now + lifetime,
                  "jti": str(uuid.uuid4())}  # fmt: skip
        return jwt.encode(claims, keys[alg], algorithm=alg, headers={"kid": alg, "typ": "JWT"})

    return sign, {"keys": jwks}


def drug_codes() -> dict[str, str]:
    with open(data_path("kb", "pgx", "drug_codes.tsv"), newline="") as fh:
        return {row["drug"]: row["rxnorm"] for row in csv.DictReader(fh, delimiter="\t")}


CODES = drug_codes()


def make_calls(n: int, profiles: dict[str, str], sign, rng: random.Random) -> list[dict]:
    """Hook calls: half name the drug by its RxNorm ingredient code (and a display), half by a
    display only (an unknown code), as EHRs send clinical-drug codes the service does not know."""
    patients = sorted(profiles)
    calls = []
    for _ in range(n):
        patient = rng.choice(patients) if rng.random() > 0.05 else f"UNKNOWN{rng.randrange(10**6)}"
        drug = rng.choice([*PROBES, "amoxicillin"])
        service = rng.choice(["order-select", "order-sign"])
        code = CODES.get(drug, "0") if rng.random() < 0.5 else "0"
        order = {"resourceType": "MedicationRequest", "id": "m1", "status": "draft", "intent": "order",
                 "medicationCodeableConcept": {"coding": [{"system": RXNORM, "code": code,
                                                           "display": f"{drug} 100 MG Oral Tablet"}]}}  # fmt: skip
        context = {"userId": "Practitioner/1", "patientId": patient,
                   "draftOrders": {"resourceType": "Bundle", "entry": [{"resource": order}]}}  # fmt: skip
        if service == "order-select":
            context["selections"] = ["MedicationRequest/m1"]
        body = {"hook": service, "hookInstance": str(uuid.uuid4()), "context": context}
        want = expected(profiles[patient], drug) if patient in profiles else []
        calls.append({"service": service, "body": json.dumps(body), "token": sign(service), "want": want})
    return calls


async def run(base: str, calls: list[dict], *, concurrency: int = 20, on_done=None) -> list[dict]:
    """Send the calls from `concurrency` connections; return one result per call."""
    queue: asyncio.Queue = asyncio.Queue()
    for k, c in enumerate(calls):
        queue.put_nowait((k, c))
    results: list[dict | None] = [None] * len(calls)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=10) as client:

        async def worker():
            while not queue.empty():
                k, c = queue.get_nowait()
                t0 = time.perf_counter()
                try:
                    r = await client.post(f"/cds-services/{c['service']}", content=c["body"],
                                          headers={"Authorization": f"Bearer {c['token']}",
                                                   "Content-Type": "application/json"})  # fmt: skip
                    status, cards = r.status_code, (r.json()["cards"] if r.status_code == 200 else None)
                except httpx.HTTPError as exc:
                    status, cards = type(exc).__name__, None
                ms = (time.perf_counter() - t0) * 1000
                wrong = status == 200 and [x["indicator"] for x in cards] != c["want"]
                results[k] = {"status": status, "ms": ms, "wrong": wrong}
                if on_done:
                    on_done()

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return results


async def run_raw(base: str, calls: list[dict], *, concurrency: int = 20, on_done=None) -> list[dict]:
    """The same calls from `concurrency` keep-alive HTTP/1.1 connections written on asyncio streams:
    a load generator that costs the shared cores little (httpx's client costs about as much CPU per
    call as the service), so that the latency measured is the service's. Responses are read by their
    Content-Length; a connection that fails is reopened for the next call."""
    host, port = base.removeprefix("http://").rsplit(":", 1)
    queue: asyncio.Queue = asyncio.Queue()
    for k, c in enumerate(calls):
        queue.put_nowait((k, c))
    results: list[dict | None] = [None] * len(calls)

    async def worker():
        reader = writer = None
        while not queue.empty():
            k, c = queue.get_nowait()
            body = c["body"].encode()
            head = (f"POST /cds-services/{c['service']} HTTP/1.1\r\nHost: {host}:{port}\r\n"
                    f"Authorization: Bearer {c['token']}\r\nContent-Type: application/json\r\n"
                    f"Content-Length: {len(body)}\r\n\r\n").encode()  # fmt: skip
            t0 = time.perf_counter()
            try:
                if writer is None:
                    reader, writer = await asyncio.open_connection(host, int(port))
                writer.write(head + body)
                await writer.drain()
                status_line = await reader.readuntil(b"\r\n")
                status = int(status_line.split()[1])
                length = 0
                while (line := await reader.readuntil(b"\r\n")) != b"\r\n":
                    name, _, value = line.decode("latin-1").partition(":")
                    if name.strip().lower() == "content-length":
                        length = int(value)
                payload = await reader.readexactly(length)
                cards = json.loads(payload)["cards"] if status == 200 else None
            except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
                status, cards = type(exc).__name__, None
                if writer is not None:
                    writer.close()
                reader = writer = None
            ms = (time.perf_counter() - t0) * 1000
            wrong = status == 200 and [x["indicator"] for x in cards] != c["want"]
            results[k] = {"status": status, "ms": ms, "wrong": wrong}
            if on_done:
                on_done()
        if writer is not None:
            writer.close()

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return results


def pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=1000, method="inclusive")[int(q * 10) - 1] if len(values) > 1 else values[0]


def summarise(results: list[dict], seconds: float) -> dict:
    ok = [r["ms"] for r in results if r["status"] == 200]
    return {
        "requests": len(results),
        "ok": len(ok),
        "errors": sum(1 for r in results if r["status"] != 200),
        "wrong_cards": sum(1 for r in results if r["wrong"]),
        "p50_ms": round(pct(ok, 50), 2),
        "p99_ms": round(pct(ok, 99), 2),
        "max_ms": round(max(ok), 2),
        "throughput_rps": round(len(results) / seconds, 1),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--patients", type=int, default=10_000)
    ap.add_argument("--requests", type=int, default=2_000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--concurrency", type=int, default=20)
    ap.add_argument("--json", required=True, metavar="OUT")
    ap.add_argument(
        "--token-lifetime",
        type=int,
        default=290,
        metavar="S",
        help="seconds from a token's iat to its exp (the replay cache keeps each jti that long)",
    )
    ap.add_argument(
        "--client",
        choices=("raw", "httpx"),
        default="raw",
        help="the load generator: lean asyncio HTTP/1.1 (default) or httpx's AsyncClient",
    )
    args = ap.parse_args()
    rng = random.Random(7)
    send = run_raw if args.client == "raw" else run
    out: dict = {"patients": args.patients, "concurrency": args.concurrency, "client": args.client,
                 "token_lifetime_s": args.token_lifetime,
                 "load_average_at_start": Path("/proc/loadavg").read_text().split()[:3]}  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        t0 = time.perf_counter()
        profiles = simulate(args.patients, tmp / "results")
        out["simulate_s"] = round(time.perf_counter() - t0, 1)
        index = tmp / "results" / "cds" / "index.sqlite"
        t0 = time.perf_counter()
        counts = build_index(sorted((tmp / "results" / "findings").glob("*.json")), index,
                             drug_codes=data_path("kb", "pgx", "drug_codes.tsv"))  # fmt: skip
        out["index"] = {**counts, "build_s": round(time.perf_counter() - t0, 1), "bytes": index.stat().st_size}
        digest = hashlib.sha256(index.read_bytes()).hexdigest()
        port = free_port()
        server = Server(index, tmp / "jwks.json", port, tmp / "server.log")
        sign, jwks = signer(server.base, args.token_lifetime)
        (tmp / "jwks.json").write_text(json.dumps(jwks))
        out["startup_s"] = round(server.start(), 2)
        try:
            asyncio.run(send(server.base, make_calls(200, profiles, sign, rng), concurrency=args.concurrency))
            rss = [rss_kb(server.proc.pid)]
            out["rss_kb_after_warmup"] = rss[0]
            out["rounds"] = []
            for _ in range(args.rounds):
                calls = make_calls(args.requests, profiles, sign, rng)
                samples, stop = [], threading.Event()

                def sample(samples=samples, stop=stop):
                    while not stop.is_set():
                        samples.append(rss_kb(server.proc.pid))
                        time.sleep(0.05)

                th = threading.Thread(target=sample)
                th.start()
                t0 = time.perf_counter()
                results = asyncio.run(send(server.base, calls, concurrency=args.concurrency))
                seconds = time.perf_counter() - t0
                stop.set()
                th.join()
                out["rounds"].append({**summarise(results, seconds), "rss_kb_first": samples[0],
                                      "rss_kb_last": samples[-1], "rss_kb_max": max(samples)})  # fmt: skip
                print(json.dumps(out["rounds"][-1]), flush=True)
            # kill mid-load, restart, retry what failed on the dead server
            calls = make_calls(1_000, profiles, sign, rng)
            done = {"n": 0}

            def on_done():
                done["n"] += 1
                if done["n"] == 300:
                    server.kill()

            first = asyncio.run(send(server.base, calls, concurrency=args.concurrency, on_done=on_done))
            restart_s = server.start()
            failed = [k for k, r in enumerate(first) if r["status"] != 200]
            retry = [{**calls[k], "token": sign(calls[k]["service"])} for k in failed]
            again = asyncio.run(send(server.base, retry, concurrency=args.concurrency)) if retry else []
            con = sqlite3.connect(index.resolve().as_uri() + "?mode=ro", uri=True)
            integrity = con.execute("PRAGMA integrity_check").fetchone()[0]
            con.close()
            out["kill_restart"] = {
                "requests": len(calls),
                "ok_before_kill_or_in_flight": sum(1 for r in first if r["status"] == 200),
                "failed_on_dead_server": len(failed),
                "failure_kinds": sorted({str(first[k]["status"]) for k in failed}),
                "restart_s": round(restart_s, 2),
                "retried_ok": sum(1 for r in again if r["status"] == 200),
                "wrong_cards": sum(1 for r in first + again if r["wrong"]),
                "index_integrity": integrity,
                "index_bytes_unchanged": hashlib.sha256(index.read_bytes()).hexdigest() == digest,
            }
            print(json.dumps(out["kill_restart"]), flush=True)
        finally:
            server.stop()
        log = (tmp / "server.log").read_text()
        out["log_mentions_a_patient"] = any(p in log for p in list(profiles)[:200])
        # the server's own view: handling time from its access log (method path status ms), POSTs that got 200
        served = [float(m) for m in re.findall(r"POST /cds-services/order-\w+ 200 ([\d.]+)ms", log)]
        out["server_side"] = {"requests": len(served), "p50_ms": round(pct(served, 50), 2),
                              "p99_ms": round(pct(served, 99), 2)}  # fmt: skip
    out["cpus"] = os.cpu_count()
    out["load_average_at_end"] = Path("/proc/loadavg").read_text().split()[:3]
    Path(args.json).write_text(json.dumps(out, indent=2) + "\n")
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
