"""The CDS Hooks service's parts without a server: the index built from findings documents, the cards
for a hook request, and the client's JWT (keys made here with cryptography, RS384 and ES384)."""

from __future__ import annotations

import json
import sqlite3
import time
import uuid
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from seq2rx.cds import (
    BadRequest,
    DrugTable,
    Index,
    ReplayCache,
    Unauthorized,
    Verifier,
    build_index,
    cards_for,
    load_jwks,
    parse_request,
)
from seq2rx.cds.app import base_url
from seq2rx.cds.auth import ReplayCacheFull
from seq2rx.cds.cards import md_escape, summary
from seq2rx.cds.index import RXNORM, Recommendation
from seq2rx.cli import main
from seq2rx.core.errors import InputError

ISS = "https://ehr.example.org/"
AUD = "http://127.0.0.1:8080/cds-services/order-sign"
CLOPIDOGREL_URL = "https://cpicpgx.org/guidelines/guideline-for-clopidogrel-and-cyp2c19/"
CBZ_URL = "https://cpicpgx.org/guidelines/guideline-for-carbamazepine-and-hla-b/"
#: RxNorm ingredient RxCUIs (RxNav): clopidogrel, abacavir, carbamazepine
CODES = {"clopidogrel": "32968", "abacavir": "190521", "carbamazepine": "2002"}


# --- findings documents like the demo's P1 and P3, by hand -------------------------------------------


def rec(drug, genes, phenotype, text, *, strength="Strong", actionable=True, source="", **extra) -> dict:
    return {"drug": drug, "genes": genes, "phenotype": phenotype, "recommendation": text, "strength": strength,
            "actionable": actionable, "caveats": [], "source": source, **extra}  # fmt: skip


def findings(patient: str, genes: dict[str, str], recs: list[dict]) -> dict:
    calls = [{"gene": g, "diplotypes": [d], "phenotype": None, "status": "called"} for g, d in genes.items()]
    return {"patient": patient, "pgx": {"status": "done", "genes": calls, "recommendations": recs}}


CLOPIDOGREL_PM = (
    "ACS/PCI: clopidogrel is largely not activated; avoid it where possible and use prasugrel or ticagrelor "
    "at usual doses unless contraindicated."
)


def p1_like(patient: str = "P1") -> dict:
    """CYP2C19 *2/*2 and HLA-B*57:01: clopidogrel (no indicator yet: the fallback), abacavir (critical),
    atorvastatin (not actionable), fluvastatin (actionable but indicator null)."""
    return findings(
        patient,
        {"CYP2C19": "*2/*2", "HLA-B": "*57:01/*07:02", "SLCO1B1": "*1/*1"},
        [
            rec("clopidogrel", ["CYP2C19"], "CYP2C19 Poor Metabolizer", CLOPIDOGREL_PM,
                source=f"CPIC CYP2C19–clopidogrel 2022 update (Lee CR et al.); {CLOPIDOGREL_URL} (2022-02)"),
            rec("abacavir", ["HLA-B"], "HLA-B carrier *57:01", "Do not use abacavir; choose another antiretroviral.",
                source="CPIC HLA-B–abacavir 2014 update (Martin MA et al.)", indicator="critical",
                rxnorm="190521", url="https://cpicpgx.org/guidelines/guideline-for-abacavir-and-hla-b/"),
            rec("atorvastatin", ["SLCO1B1"], "SLCO1B1 Normal Function", "Use the usual dose.", actionable=False),
            rec("fluvastatin", ["SLCO1B1"], "SLCO1B1 Normal Function", "Usual dose.", indicator=None),
        ],
    )  # fmt: skip


def p3_like(patient: str = "P3") -> dict:
    """HLA-B*15:02 and HLA-A*31:01: carbamazepine critical (HLA-B) and warning (HLA-A)."""
    src = f"CPIC HLA-B/HLA-A–carbamazepine and oxcarbazepine 2017 update (Phillips EJ et al.); {CBZ_URL} (2017-12)"
    return findings(
        patient,
        {"HLA-A": "*31:01/*02:01", "HLA-B": "*15:02/*40:01"},
        [
            rec("carbamazepine", ["HLA-A"], "HLA-A carrier *31:01", "If there is no alternative, monitor closely.",
                source=src, indicator="warning"),
            rec("carbamazepine", ["HLA-B"], "HLA-B carrier *15:02", "Do not start carbamazepine.", source=src,
                indicator="critical"),
        ],
    )  # fmt: skip


def write_results(folder: Path, docs: list[dict]) -> Path:
    (folder / "findings").mkdir(parents=True, exist_ok=True)
    for doc in docs:
        (folder / "findings" / f"{doc['patient']}.json").write_text(json.dumps(doc))
    return folder


def drug_codes(path: Path) -> Path:
    rows = [f"{d}\t{c}\tRxNav (NLM), ingredient RxCUI\t2025-01" for d, c in sorted(CODES.items())]
    path.write_text("drug\trxnorm\tsource\tdate\n" + "\n".join(rows) + "\n")
    return path


@pytest.fixture
def index(tmp_path) -> Index:
    res = write_results(tmp_path / "results", [p1_like(), p3_like()])
    build_index(sorted((res / "findings").glob("*.json")), tmp_path / "index.sqlite",
                drug_codes=drug_codes(tmp_path / "codes.tsv"))  # fmt: skip
    return Index(tmp_path / "index.sqlite")


# --- requests ---------------------------------------------------------------------------------------------


def med(rid: str, display: str, code: str | None = None, *, text: str | None = None) -> dict:
    concept = {"coding": [{"system": RXNORM, "code": code or "999999", "display": display}]}
    if text is not None:
        concept["text"] = text
    return {"resourceType": "MedicationRequest", "id": rid, "status": "draft", "intent": "order",
            "medicationCodeableConcept": concept, "subject": {"reference": "Patient/x"}}  # fmt: skip


def hook_body(hook: str, patient: str, resources: list[dict], *, selections=None, instance="hi-1") -> dict:
    context = {"userId": "Practitioner/1", "patientId": patient,
               "draftOrders": {"resourceType": "Bundle", "entry": [{"resource": r} for r in resources]}}  # fmt: skip
    if hook == "order-select":
        context["selections"] = (
            selections if selections is not None else [f"MedicationRequest/{r['id']}" for r in resources]
        )
    return {"hook": hook, "hookInstance": instance, "context": context}


def answer(index: Index, hook: str, patient: str, resources: list[dict], **kw) -> list[dict]:
    req = parse_request(hook, hook_body(hook, patient, resources, **kw))
    return cards_for(req, index.recommendations, DrugTable(index.drugs))["cards"]


# --- the index --------------------------------------------------------------------------------------------


def test_the_index_holds_card_making_rows_only_and_the_same_bytes_on_a_rebuild(tmp_path, index):
    con = sqlite3.connect(index.path)
    rows = con.execute(
        "SELECT patient, drug, indicator, url FROM recommendation ORDER BY patient, drug, ord"
    ).fetchall()
    assert rows == [
        ("P1", "abacavir", "critical", "https://cpicpgx.org/guidelines/guideline-for-abacavir-and-hla-b/"),
        ("P1", "clopidogrel", "warning", CLOPIDOGREL_URL),  # no indicator in the findings: actionable -> warning
        ("P3", "carbamazepine", "warning", CBZ_URL),
        ("P3", "carbamazepine", "critical", CBZ_URL),
    ]  # atorvastatin (not actionable) and fluvastatin (indicator null) make no card
    assert dict(con.execute("SELECT name, rxnorm FROM drug")) == {
        "abacavir": "190521", "atorvastatin": None, "carbamazepine": "2002", "clopidogrel": "32968",
        "fluvastatin": None,
    }  # fmt: skip
    assert con.execute("SELECT genotype FROM recommendation WHERE drug = 'clopidogrel'").fetchone() == (
        "CYP2C19 *2/*2",
    )
    con.close()
    again = tmp_path / "again.sqlite"
    build_index(sorted((tmp_path / "results/findings").glob("*.json")), again, drug_codes=tmp_path / "codes.tsv")
    assert again.read_bytes() == index.path.read_bytes()
    assert not list(tmp_path.glob(".tmp.*")), "the temporary file was renamed into place"


def test_the_index_is_opened_read_only(index):
    with pytest.raises(sqlite3.OperationalError, match="readonly"):
        index._connection().execute("CREATE TABLE t (a)")
    assert index.has_patient("P1") and not index.has_patient("P1' OR '1'='1")


@pytest.mark.parametrize(
    ("doc", "problem"),
    [
        ({"pgx": {}}, "no patient id"),
        (findings("P9", {}, [rec("x", ["G"], "p", "t", indicator="urgent")]), "indicator 'urgent'"),
        (findings("P9", {}, [{"drug": "x"}]), "lacks drug, genes"),
        (findings("P9", {}, [rec("x", ["G"], "p", "t", rxnorm="12; DROP TABLE drug")]), "is not an RxNorm code"),
    ],
)
def test_bad_findings_are_named(tmp_path, doc, problem):
    path = tmp_path / "P9.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(InputError, match=problem) as err:
        build_index([path], tmp_path / "index.sqlite")
    assert "P9.json" in str(err.value)
    assert not (tmp_path / "index.sqlite").exists()


def test_an_index_that_is_not_one_is_refused(tmp_path):
    with pytest.raises(InputError, match="no CDS index here"):
        Index(tmp_path / "missing.sqlite")
    (tmp_path / "junk.sqlite").write_text("not a database " * 100)
    with pytest.raises(InputError, match="not a readable CDS index"):
        Index(tmp_path / "junk.sqlite")
    old = tmp_path / "old.sqlite"
    sqlite3.connect(old).execute("PRAGMA user_version = 7").connection.close()
    with pytest.raises(InputError, match="version 7, not 2"):
        Index(old)


# --- cards ------------------------------------------------------------------------------------------------


def test_a_poor_metabolizer_ordering_clopidogrel_gets_a_warning_with_the_alternative_and_the_guideline(index):
    for order in (med("m1", "clopidogrel 75 MG Oral Tablet", CODES["clopidogrel"]),  # the ingredient code
                  med("m1", "Clopidogrel 75 MG Oral Tablet", "309362"),  # a clinical-drug code: by name
                  med("m1", "Plavix", "0", text="clopidogrel bisulfate 75 mg")):  # fmt: skip
        [card] = answer(index, "order-sign", "P1", [order])
        assert card["indicator"] == "warning"
        assert "prasugrel or ticagrelor" in card["detail"]
        assert "CYP2C19 \\*2/\\*2" in card["detail"] and "Poor Metabolizer" in card["summary"]
        assert "PGx result from seq2rx" in card["detail"] and "CPIC recommendation (Strong)" in card["detail"]
        assert card["source"] == {"label": "CPIC CYP2C19–clopidogrel 2022 update (PGx result from seq2rx)",
                                  "url": CLOPIDOGREL_URL}  # fmt: skip
        assert card["links"][0]["url"] == CLOPIDOGREL_URL and card["links"][0]["type"] == "absolute"
        assert len(card["summary"]) < 140
        assert "suggestions" not in card  # a warning suggests nothing to remove


def test_hla_b_5701_and_abacavir_is_critical_with_a_suggestion_to_remove_the_order(index):
    [card] = answer(index, "order-select", "P1", [med("abc-1", "abacavir 300 MG / lamivudine 150 MG Oral Tablet")])
    assert card["indicator"] == "critical"
    assert card["summary"].startswith("Abacavir: HLA-B carrier *57:01 (*57:01/*07:02)")
    assert card["selectionBehavior"] == "at-most-one"
    [action] = card["suggestions"][0]["actions"]
    assert action == {"type": "delete", "description": "Remove the draft abacavir order",
                      "resourceId": "MedicationRequest/abc-1"}  # fmt: skip


def test_carbamazepine_in_an_hla_b_1502_carrier_is_critical_and_names_both_genes(index):
    [card] = answer(index, "order-sign", "P3", [med("c", "Carbamazepine 200 MG Oral Tablet", CODES["carbamazepine"])])
    assert card["indicator"] == "critical"
    assert "HLA-B carrier *15:02" in card["summary"]  # the critical row leads
    assert card["detail"].index("HLA-B carrier") < card["detail"].index("HLA-A carrier")
    assert card["source"]["url"] == CBZ_URL and len(card["links"]) == 1


def test_no_card_without_a_relevant_finding_and_for_an_unknown_patient(index):
    assert answer(index, "order-sign", "P1", [med("a", "Amoxicillin 500 MG Oral Capsule", "308182")]) == []
    assert answer(index, "order-sign", "P1", [med("a", "atorvastatin 20 MG Oral Tablet")]) == []  # not actionable
    assert answer(index, "order-sign", "P1", [med("a", "fluvastatin 20 MG")]) == []  # indicator null
    assert answer(index, "order-sign", "P3", [med("a", "clopidogrel 75 MG", CODES["clopidogrel"])]) == []
    assert answer(index, "order-sign", "nobody", [med("a", "clopidogrel 75 MG", CODES["clopidogrel"])]) == []
    assert answer(index, "order-sign", "P1", [med("a", "clopidogrelx 75 MG")]) == []  # whole words only


def test_order_select_answers_for_the_selected_orders_and_order_sign_for_all(index):
    orders = [med("old", "abacavir 300 MG"), med("new", "clopidogrel 75 MG")]
    selected = answer(index, "order-select", "P1", orders, selections=["MedicationRequest/new"])
    assert [c["indicator"] for c in selected] == ["warning"]
    assert [c["indicator"] for c in answer(index, "order-sign", "P1", orders)] == ["critical", "warning"]


def test_card_uuids_are_deterministic_per_hook_instance(index):
    order = [med("m", "clopidogrel 75 MG")]
    first = answer(index, "order-sign", "P1", order, instance="h-1")[0]["uuid"]
    assert answer(index, "order-sign", "P1", order, instance="h-1")[0]["uuid"] == first
    assert answer(index, "order-sign", "P1", order, instance="h-2")[0]["uuid"] != first
    assert uuid.UUID(first).version == 5


def test_the_summary_stays_under_140_characters():
    long = Recommendation("rosuvastatin", ("SLCO1B1", "ABCG2"), "SLCO1B1 *1/*5; ABCG2 rs2231142 reference (G)/variant (T)",
                          "SLCO1B1 Decreased Function; ABCG2 Decreased Function " * 3, "t", "Moderate", "warning",
                          None, "")  # fmt: skip
    text = summary("rosuvastatin", [long], "warning")
    assert len(text) < 140 and text.startswith("Rosuvastatin: SLCO1B1 Decreased Function")


def test_the_summary_names_every_finding_at_the_cards_indicator():
    """P3 and carbamazepine: HLA-A *31:01 and HLA-B *15:02 are both critical; the summary names both,
    not only the first; a warning behind them is left to the detail."""

    def r(genes, genotype, phenotype, indicator):
        return Recommendation("carbamazepine", genes, genotype, phenotype, "t", "Strong", indicator, None, "")

    recs = [r(("HLA-A",), "HLA-A *31:01/*02:01", "HLA-A carrier *31:01", "critical"),
            r(("HLA-B",), "HLA-B *15:02/*40:01", "HLA-B carrier *15:02", "critical"),
            r(("CYP2C9",), "CYP2C9 *3/*3", "CYP2C9 Poor Metabolizer", "warning")]  # fmt: skip
    text = summary("carbamazepine", recs, "critical")
    assert "HLA-A carrier *31:01" in text and "HLA-B carrier *15:02" in text and "CYP2C9" not in text
    assert len(text) < 140 and text.endswith("advises against it")


def test_details_escape_markdown_and_html():
    assert md_escape("<script>alert(1)</script> *2/*2 [x](javascript:y)") == (
        "&lt;script&gt;alert(1)&lt;/script&gt; \\*2/\\*2 \\[x\\](javascript:y)"
    )


def test_request_text_never_reaches_a_card(index):
    evil = "<script>alert(1)</script> clopidogrel"
    [card] = answer(index, "order-sign", "P1", [med("m", evil, text=evil)])
    assert "script" not in json.dumps(card)


@pytest.mark.parametrize(
    ("hook", "mutate", "problem"),
    [
        ("order-sign", lambda b: [], "must be a JSON object"),
        ("order-sign", lambda b: {**b, "hook": "patient-view"}, "hook must be 'order-sign'"),
        ("order-sign", lambda b: {k: v for k, v in b.items() if k != "hookInstance"}, "hookInstance is required"),
        ("order-sign", lambda b: {**b, "context": "P1"}, "context must be an object"),
        ("order-sign", lambda b: {**b, "context": {**b["context"], "patientId": 12}}, "patientId must be a string"),
        ("order-sign", lambda b: {**b, "context": {**b["context"], "patientId": "x" * 300}}, "1 to 256 characters"),
        ("order-sign", lambda b: {**b, "context": {**b["context"], "draftOrders": {"resourceType": "List"}}},
         "must be a FHIR Bundle"),
        ("order-sign", lambda b: {**b, "context": {**b["context"], "draftOrders": {"resourceType": "Bundle",
                                                                                   "entry": ["x"]}}},
         "entry[0] must be an object"),
        ("order-select", lambda b: {**b, "context": {k: v for k, v in b["context"].items() if k != "selections"}},
         "selections is required"),
        ("order-select", lambda b: {**b, "context": {**b["context"], "selections": [1]}}, "array of strings"),
    ],
)  # fmt: skip
def test_requests_of_the_wrong_shape_are_bad_requests_that_echo_nothing(hook, mutate, problem):
    body = mutate(hook_body(hook, "SECRET-PATIENT", [med("m", "clopidogrel")]))
    with pytest.raises(BadRequest, match=problem.replace("[", r"\[").replace("]", r"\]")) as err:
        parse_request(hook, body)
    assert "SECRET" not in str(err.value)


# --- the client's token -------------------------------------------------------------------------------------


def new_key(alg: str):
    return (
        rsa.generate_private_key(public_exponent=65537, key_size=2048)
        if alg == "RS384"
        else ec.generate_private_key(ec.SECP384R1())
    )


def public_jwk(private, kid: str, alg: str | None = None) -> dict:
    maker = jwt.algorithms.RSAAlgorithm if isinstance(private, rsa.RSAPrivateKey) else jwt.algorithms.ECAlgorithm
    jwk = maker.to_jwk(private.public_key(), as_dict=True)
    return {**jwk, "kid": kid, "use": "sig", **({"alg": alg} if alg else {})}


def sign(private, kid: str, alg: str, aud=AUD, *, now: float | None = None, headers=None, **claims) -> str:
    now = time.time() if now is None else now
    payload = {"iss": ISS, "aud": aud, "iat": int(now), "exp": int(now) + 120, "jti": str(uuid.uuid4()), **claims}
    payload = {k: v for k, v in payload.items() if v is not None}
    return jwt.encode(payload, private, algorithm=alg, headers={"kid": kid, "typ": "JWT", **(headers or {})})


@pytest.fixture(scope="module")
def keys() -> dict:
    return {"RS384": new_key("RS384"), "ES384": new_key("ES384")}


@pytest.fixture
def verifier(tmp_path, keys) -> Verifier:
    path = tmp_path / "jwks.json"
    path.write_text(
        json.dumps({"keys": [public_jwk(keys["RS384"], "rsa-1", "RS384"), public_jwk(keys["ES384"], "ec-1")]})
    )
    return Verifier(load_jwks(path), ISS)


@pytest.mark.parametrize(("alg", "kid"), [("RS384", "rsa-1"), ("ES384", "ec-1")])
def test_tokens_signed_with_the_clients_keys_pass(verifier, keys, alg, kid):
    claims = verifier.verify("Bearer " + sign(keys[alg], kid, alg), AUD)
    assert claims["iss"] == ISS
    assert verifier.verify("Bearer " + sign(keys[alg], kid, alg, aud=["https://other/", AUD]), AUD)["aud"][1] == AUD


def test_each_bad_token_is_refused(verifier, keys):
    rsa_key, ec_key = keys["RS384"], keys["ES384"]
    other = new_key("ES384")
    now = time.time()
    cases = {
        "no header": None,
        "not bearer": "Basic dXNlcjpwYXNz",
        "empty bearer": "Bearer ",
        "garbage": "Bearer not.a.jwt",
        "HS256": "Bearer " + jwt.encode({"iss": ISS, "aud": AUD}, "secret" * 6, algorithm="HS256", headers={"kid": "rsa-1"}),
        "none": "Bearer " + jwt.encode({"iss": ISS, "aud": AUD, "exp": int(now) + 60}, None, algorithm="none",
                                       headers={"kid": "rsa-1"}),
        "RS256": "Bearer " + sign(rsa_key, "rsa-1", "RS256"),
        "unknown kid": "Bearer " + sign(ec_key, "ec-9", "ES384"),
        "kid of the other key type": "Bearer " + sign(ec_key, "rsa-1", "ES384"),
        "signed by another key": "Bearer " + sign(other, "ec-1", "ES384"),
        "wrong aud": "Bearer " + sign(ec_key, "ec-1", "ES384", aud="http://127.0.0.1:8080/cds-services/order-select"),
        "wrong iss": "Bearer " + sign(ec_key, "ec-1", "ES384", iss="https://evil.example/"),
        "expired": "Bearer " + sign(ec_key, "ec-1", "ES384", now=now - 400),
        "no exp": "Bearer " + sign(ec_key, "ec-1", "ES384", exp=None),
        "lives an hour": "Bearer " + sign(ec_key, "ec-1", "ES384", exp=int(now) + 3600),
        "issued in the future": "Bearer " + sign(ec_key, "ec-1", "ES384", iat=int(now) + 120, exp=int(now) + 200),
        "no jti": "Bearer " + sign(ec_key, "ec-1", "ES384", jti=None),
        "typ not JWT": "Bearer " + sign(ec_key, "ec-1", "ES384", headers={"typ": "at+jwt"}),
    }  # fmt: skip
    for name, header in cases.items():
        with pytest.raises(Unauthorized) as err:
            verifier.verify(header, AUD, now=now)
        assert err.value.missing == (name in ("no header", "not bearer", "empty bearer")), name
    assert len(verifier.replay) == 0, "no refused token took a place in the replay cache"


def test_a_replayed_jti_is_refused_until_its_token_is_dead(verifier, keys):
    now = time.time()
    token = "Bearer " + sign(keys["ES384"], "ec-1", "ES384", now=now, jti="once")
    verifier.verify(token, AUD, now=now)
    with pytest.raises(Unauthorized, match="used before"):
        verifier.verify(token, AUD, now=now + 1)
    fresh = "Bearer " + sign(keys["RS384"], "rsa-1", "RS384", now=now, jti="once")  # another key, same jti
    with pytest.raises(Unauthorized, match="used before"):
        verifier.verify(fresh, AUD, now=now + 1)


def test_the_replay_cache_is_bounded_and_forgets_dead_tokens():
    cache = ReplayCache(capacity=2)
    assert cache.first_use("a", 100, 0) and cache.first_use("b", 200, 0)
    with pytest.raises(ReplayCacheFull):
        cache.first_use("c", 100, 50)
    assert cache.first_use("c", 300, 150) and len(cache) == 2  # "a" died at 100
    assert not cache.first_use("b", 300, 150)


@pytest.mark.parametrize(
    ("make", "problem"),
    [
        (lambda: {"keys": [{**public_jwk(new_key("ES384"), "k"), "d": "secret"}]}, "holds a private key"),
        (lambda: {"keys": [public_jwk(new_key("ES384"), "k"), public_jwk(new_key("ES384"), "k")]}, "used twice"),
        (lambda: {"keys": [public_jwk(ec.generate_private_key(ec.SECP256R1()), "k")]}, "curve 'P-256'"),
        (lambda: {"keys": [public_jwk(rsa.generate_private_key(public_exponent=65537, key_size=1024), "k")]},
         "1024 bits"),
        (lambda: {"keys": [{**public_jwk(new_key("ES384"), "k"), "alg": "HS256"}]}, "only RS384"),
        (lambda: {"keys": [{"kty": "oct", "k": "c2VjcmV0", "kid": "k"}]}, "only RS384"),
        (lambda: {"keys": []}, "no RS384 or ES384 signing key"),
        (lambda: {"kty": "EC"}, 'no "keys" array'),
    ],
)  # fmt: skip
def test_a_bad_jwk_set_is_refused(tmp_path, make, problem):
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps(make()))
    with pytest.raises(InputError, match=problem):
        load_jwks(path)


# --- the command line -------------------------------------------------------------------------------------


def test_cds_index_command_writes_the_index(tmp_path, capsys):
    res = write_results(tmp_path / "results", [p1_like(), p3_like()])
    assert main(["cds", "index", "--results", str(res), "--drug-codes", str(drug_codes(tmp_path / "c.tsv"))]) == 0
    assert "2 patients, 4 card-making recommendations" in capsys.readouterr().out
    assert Index(res / "cds" / "index.sqlite").by_rxnorm["32968"] == "clopidogrel"
    assert main(["cds", "index", "--results", str(tmp_path / "empty")]) == 2
    assert "holds no findings documents" in capsys.readouterr().err


def test_serve_refuses_a_missing_index_or_a_bad_jwk_set_before_listening(tmp_path, capsys, keys):
    jwks = tmp_path / "jwks.json"
    jwks.write_text(json.dumps({"keys": [public_jwk(keys["ES384"], "ec-1")]}))
    common = ["serve", "--port", "1", "--issuer", ISS]
    assert main([*common, "--results", str(tmp_path), "--jwks", str(jwks)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("seq2rx: error:") and "no CDS index here" in err and "Traceback" not in err
    res = write_results(tmp_path / "results", [p1_like()])
    assert main(["cds", "index", "--results", str(res)]) == 0
    (tmp_path / "bad.json").write_text('{"keys": [')
    assert main([*common, "--results", str(res), "--jwks", str(tmp_path / "bad.json")]) == 2
    assert "seq2rx: error:" in capsys.readouterr().err
    assert main([*common, "--results", str(res), "--jwks", str(tmp_path / "missing.json")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main([*common, "--results", str(res), "--jwks", str(jwks), "--host", "0.0.0.0"]) == 2
    assert "give --public-url" in capsys.readouterr().err


def test_the_audience_is_the_url_called():
    assert base_url("127.0.0.1", 8080, None) == "http://127.0.0.1:8080"
    assert base_url("::1", 8080, None) == "http://[::1]:8080"
    assert base_url("0.0.0.0", 8080, "https://cds.example.org/pgx/") == "https://cds.example.org/pgx"
    with pytest.raises(InputError, match="not an http"):
        base_url("127.0.0.1", 8080, "ftp://x")


def test_cors_answers_only_the_one_origin_given(index, verifier):
    import asyncio

    import httpx

    from seq2rx.cds.app import create_app

    preflight = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization"}

    async def allowed(app, origin: str) -> str | None:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            r = await c.options("/cds-services/order-sign", headers={"Origin": origin, **preflight})
            assert (await c.get("/cds-services")).status_code == 401  # CORS opens no door past the token
            return r.headers.get("access-control-allow-origin")

    app = create_app(index, verifier, base="http://testserver", cors_origin="https://ehr.example.org")
    assert asyncio.run(allowed(app, "https://ehr.example.org")) == "https://ehr.example.org"
    assert asyncio.run(allowed(app, "https://evil.example")) is None
    assert (
        asyncio.run(allowed(create_app(index, verifier, base="http://testserver"), "https://ehr.example.org")) is None
    )


# --- found by a security review and a new user's test (issue 19) -------------------------------------------


def test_a_contained_medication_and_the_patients_pgx_warnings_reach_the_card(tmp_path):
    """An order naming its drug through a contained Medication (medicationReference "#med") gets the
    card; a PGx result from tumour DNA says so in the card, and every card says research use only."""
    doc = p1_like()
    doc["pgx"]["warnings"] = ["genotypes come from tumour DNA: somatic changes can distort them"]
    doc["pgx"]["recommendations"][0]["caveats"] = ["CYP2C19 *17 not assessed"]
    res = write_results(tmp_path / "results", [doc])
    build_index(sorted((res / "findings").glob("*.json")), tmp_path / "i.sqlite",
                drug_codes=drug_codes(tmp_path / "codes.tsv"))  # fmt: skip
    idx = Index(tmp_path / "i.sqlite")
    order = {"resourceType": "MedicationRequest", "id": "m9", "status": "draft", "intent": "order",
             "contained": [{"resourceType": "Medication", "id": "med",
                            "code": {"coding": [{"system": RXNORM, "code": "32968"}]}}],
             "medicationReference": {"reference": "#med"}}  # fmt: skip
    (card,) = answer(idx, "order-sign", "P1", [order])
    assert card["indicator"] == "warning" and card["summary"].startswith("Clopidogrel: CYP2C19 Poor Metabolizer")
    assert "tumour DNA" in card["detail"] and "CYP2C19 \\*17 not assessed" in card["detail"]
    assert card["detail"].endswith("before acting on it.") and "Research use only" in card["detail"]


def test_values_from_the_index_stay_on_one_line_in_a_detail():
    assert md_escape("line1\n\n# Heading\n- item\n    code") == "line1 \\# Heading - item code"


@pytest.mark.parametrize("header", [{"alg": ["RS384"]}, {"alg": {}}, {"alg": "ES384", "kid": "ec-1"}])
def test_a_header_that_is_not_well_formed_is_a_401_not_an_error(verifier, header):
    """A list or object as alg (unhashable) and a token without typ (the spec requires typ: JWT)."""
    import base64

    def b64(obj) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()

    token = f"{b64(header)}.{b64({'iss': ISS})}.c2ln"
    with pytest.raises(Unauthorized):
        verifier.verify("Bearer " + token, AUD)


@pytest.mark.parametrize("claims", [{"exp": float("nan")}, {"iat": float("nan")}, {"exp": float("inf")}])
def test_an_exp_or_iat_that_is_not_a_finite_number_is_refused(verifier, keys, claims):
    """NaN compares false with everything: such a token would never expire and would jam the replay
    cache (a NaN at the top of its heap keeps every entry)."""
    token = sign(keys["ES384"], "ec-1", "ES384", **claims)
    with pytest.raises(Unauthorized, match="finite"):
        verifier.verify("Bearer " + token, AUD)


def test_the_reason_for_a_refusal_is_plain_and_holds_no_token_value(verifier, keys):
    wrong = "http://localhost:8080/cds-services/order-sign"
    with pytest.raises(Unauthorized) as err:
        verifier.verify("Bearer " + sign(keys["ES384"], "ec-1", "ES384", aud=wrong), AUD)
    assert err.value.reason == f"aud is not {AUD} (the URL called, exactly)" and "localhost" not in err.value.reason
    with pytest.raises(Unauthorized) as err:
        verifier.verify("Bearer " + sign(keys["ES384"], "ec-1", "ES384", now=time.time() - 400), AUD)
    assert err.value.reason.startswith("expired")


def test_plain_http_only_on_a_loopback_address():
    assert base_url("localhost", 8080, None) == "http://localhost:8080"
    for host in ("10.0.0.5", "0.0.0.0", "cds.example.org"):
        with pytest.raises(InputError, match="not a loopback address"):
            base_url(host, 8080, None)
    with pytest.raises(InputError, match="plain HTTP on a network address"):
        base_url("0.0.0.0", 8080, "http://cds.example.org")
    assert base_url("10.0.0.5", 8080, "https://cds.example.org") == "https://cds.example.org"


@pytest.mark.parametrize(
    "origin", ["*", "null", "https://ehr.example.org/", "http://ehr.example.org", "ehr.example.org"]
)
def test_a_cors_origin_must_be_one_https_origin(origin):
    from seq2rx.cds.app import check_cors_origin

    with pytest.raises(InputError, match="not one https origin"):
        check_cors_origin(origin)
    assert check_cors_origin("https://ehr.example.org:8443") == "https://ehr.example.org:8443"


def test_strict_json_refuses_repeated_keys_nan_and_other_encodings():
    from seq2rx.cds.app import strict_json

    assert strict_json(b'{"a": 1}') == {"a": 1}
    for raw in (b'{"patientId": "NOPE", "patientId": "P1"}', b'{"a": NaN}', '{"a": 1}'.encode("utf-16")):
        with pytest.raises(ValueError):
            strict_json(raw)


def test_a_body_that_never_arrives_is_a_408(index, verifier):
    import asyncio

    from seq2rx.cds import app as app_module

    app = app_module.create_app(index, verifier, base="http://t", max_body=4096)
    sent = []

    async def run() -> None:
        async def receive():
            await asyncio.sleep(3600)  # the body never comes

        async def send(message):
            sent.append(message)

        scope = {"type": "http", "method": "POST", "path": "/cds-services/order-sign", "raw_path": b"",
                 "query_string": b"", "root_path": "", "scheme": "http", "server": ("t", 80), "client": ("c", 1),
                 "http_version": "1.1", "headers": [(b"authorization", b"Bearer any"), (b"content-length", b"100")]}  # fmt: skip
        await app(scope, receive, send)

    verifier.verify = lambda *a, **k: {}  # the token is not what this test is about
    app_module.BODY_SECONDS, saved = 0.2, app_module.BODY_SECONDS
    try:
        asyncio.run(asyncio.wait_for(run(), 5))
    finally:
        app_module.BODY_SECONDS = saved
    assert sent[0]["status"] == 408
