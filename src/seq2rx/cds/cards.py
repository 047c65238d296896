"""CDS Hooks cards from a hook request and the patient's indexed PGx recommendations. Pure: the
request is checked and read here, the index is reached through a lookup function, nothing is
logged and nothing from the request is echoed into a card's text.

The two services follow the hooks' pages (CDS Hooks 2.0; order-select 1.0, order-sign 1.0):
``order-select`` answers for the orders in ``context.selections`` (the ones just picked),
``order-sign`` for every draft order. A draft order's drug is found by its RxNorm ingredient code,
or failing that by the drug's name among the words of the coding display or the text.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from seq2rx.cds.index import INDICATORS, RXNORM, Recommendation

#: the services of the discovery document: id -> hook, title, description (no prefetch: the index
#: holds all the service needs, so the client is asked for no FHIR data)
SERVICES = {
    "order-select": {
        "hook": "order-select",
        "title": "seq2rx pharmacogenomics: drug selected",
        "description": "Warns when a newly selected medication has CPIC guidance for this patient's "
        "pharmacogenomic result (genotype and phenotype from seq2rx).",
    },
    "order-sign": {
        "hook": "order-sign",
        "title": "seq2rx pharmacogenomics: before signing",
        "description": "Checks every draft medication order against CPIC guidance for this patient's "
        "pharmacogenomic result (genotype and phenotype from seq2rx) before the orders are signed.",
    },
}
#: FHIR resources that order a medication (R4/STU3, and DSTU2's MedicationOrder)
MEDICATION_ORDERS = ("MedicationRequest", "MedicationOrder")
#: the longest id, hookInstance or patient id taken (FHIR ids are at most 64 characters)
MAX_ID = 256
#: the namespace of the cards' uuids (uuid5 of the request's hookInstance and the card's content)
CARD_NAMESPACE = uuid.UUID("6f1c9a3e-5d0b-5e7a-9c43-2b8f0d6a1e57")
_FHIR_ID = re.compile(r"[A-Za-z0-9\-.]{1,64}")
_WORD = re.compile(r"[a-z0-9]+")
#: characters with a meaning in GitHub Flavored Markdown (or HTML inside it): escaped in details
_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>&|~#])")
_MD_ENTITY = {"<": "&lt;", ">": "&gt;", "&": "&amp;"}


class BadRequest(ValueError):
    """A request that is not a hook call of the right shape. The message names the field and what
    is wrong; it never repeats a value from the request."""


@dataclass(frozen=True)
class Order:
    """One medication order of the request: its reference (``MedicationRequest/id``; None without a
    usable id), its RxNorm codes and its texts (coding displays and the concept's text)."""

    ref: str | None
    codes: tuple[str, ...]
    texts: tuple[str, ...]


@dataclass(frozen=True)
class HookRequest:
    service: str
    hook_instance: str
    patient: str
    orders: tuple[Order, ...]


def discovery() -> dict:
    """The discovery document (``GET {base}/cds-services``)."""
    return {"services": [{"id": sid, **spec} for sid, spec in SERVICES.items()]}


def _need(obj: dict, key: str, kind: type | tuple, where: str, *, required: bool = True):
    value = obj.get(key)
    if value is None:
        if required:
            raise BadRequest(f"{where}{key} is required")
        return None
    if not isinstance(value, kind) or isinstance(value, bool) and kind is not bool:
        names = {dict: "an object", list: "an array", str: "a string"}
        raise BadRequest(f"{where}{key} must be {names.get(kind, 'of another type')}")
    return value


def _identifier(obj: dict, key: str, where: str) -> str:
    value = _need(obj, key, str, where)
    if not value or len(value) > MAX_ID:
        raise BadRequest(f"{where}{key} must be 1 to {MAX_ID} characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise BadRequest(f"{where}{key} is not text (a lone surrogate)") from None
    return value


def _contained_medication(resource: dict, reference: dict) -> dict | None:
    """The ``Medication`` a ``medicationReference`` of ``#id`` points at in ``resource.contained``."""
    target = reference.get("reference")
    if not isinstance(target, str) or not target.startswith("#"):
        return None
    for item in resource.get("contained") or []:
        if isinstance(item, dict) and item.get("resourceType") == "Medication" and item.get("id") == target[1:]:
            return item
    return None


def _order(resource: dict, where: str) -> Order:
    rid = resource.get("id")
    ref = f"{resource['resourceType']}/{rid}" if isinstance(rid, str) and _FHIR_ID.fullmatch(rid) else None
    codes, texts = [], []
    concept = _need(resource, "medicationCodeableConcept", dict, where, required=False)
    reference = _need(resource, "medicationReference", dict, where, required=False)
    if concept is None and reference is not None:  # a contained Medication's code (R4: Medication.code)
        medication = _contained_medication(resource, reference)
        if medication is not None:
            concept = _need(medication, "code", dict, f"{where}contained Medication.", required=False)
    if concept is not None:
        for k, coding in enumerate(
            _need(concept, "coding", list, f"{where}medicationCodeableConcept.", required=False) or []
        ):
            if not isinstance(coding, dict):
                raise BadRequest(f"{where}medicationCodeableConcept.coding[{k}] must be an object")
            code, display = coding.get("code"), coding.get("display")
            if coding.get("system") == RXNORM and isinstance(code, str):
                codes.append(code.strip())
            if isinstance(display, str):
                texts.append(display)
        if isinstance(concept.get("text"), str):
            texts.append(concept["text"])
    if reference is not None and isinstance(reference.get("display"), str):
        texts.append(reference["display"])
    return Order(ref, tuple(codes), tuple(texts))


def parse_request(service: str, body: object) -> HookRequest:
    """Check a hook call's body against its hook's context and read its medication orders.

    Raises :class:`BadRequest` when a field the hook requires is missing or of the wrong type.
    Orders of other kinds (NutritionOrder, ServiceRequest) are passed over; ``fhirServer``,
    ``fhirAuthorization`` and ``prefetch`` are not used (the service calls no FHIR server).
    """
    hook = SERVICES[service]["hook"]
    if not isinstance(body, dict):
        raise BadRequest("the body must be a JSON object")
    if _need(body, "hook", str, "") != hook:
        raise BadRequest(f"hook must be {hook!r} for this service")
    instance = _identifier(body, "hookInstance", "")
    context = _need(body, "context", dict, "")
    patient = _identifier(context, "patientId", "context.")
    bundle = _need(context, "draftOrders", dict, "context.")
    if bundle.get("resourceType") != "Bundle":
        raise BadRequest("context.draftOrders must be a FHIR Bundle (resourceType 'Bundle')")
    selections = None
    if hook == "order-select":
        selections = _need(context, "selections", list, "context.")
        if not all(isinstance(s, str) for s in selections):
            raise BadRequest("context.selections must be an array of strings")
        selections = set(selections)
    orders = []
    for k, entry in enumerate(_need(bundle, "entry", list, "context.draftOrders.", required=False) or []):
        where = f"context.draftOrders.entry[{k}]."
        if not isinstance(entry, dict):
            raise BadRequest(f"context.draftOrders.entry[{k}] must be an object")
        resource = _need(entry, "resource", dict, where)
        kind = _need(resource, "resourceType", str, f"{where}resource.")
        if kind not in MEDICATION_ORDERS:
            continue
        rid = resource.get("id")
        if selections is not None and not (isinstance(rid, str) and f"{kind}/{rid}" in selections):
            continue
        orders.append(_order(resource, f"{where}resource."))
    return HookRequest(service, instance, patient, tuple(orders))


def _words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


class DrugTable:
    """The indexed drugs: name -> RxNorm ingredient code (or None), and the reverse."""

    def __init__(self, drugs: dict[str, str | None]) -> None:
        self.drugs = dict(drugs)
        self.by_rxnorm = {code: name for name, code in sorted(drugs.items()) if code}
        self._phrases = [(" " + " ".join(_words(name)) + " ", name) for name in sorted(drugs) if _words(name)]

    def match(self, order: Order) -> list[str]:
        """The drug names an order is for: by RxNorm ingredient code when one of its codes is one;
        otherwise each drug whose name's words appear, in order and together, among the words of
        the order's texts (``Clopidogrel 75 MG Oral Tablet`` is clopidogrel; ``abacavir /
        lamivudine`` is abacavir). Empty when nothing matches."""
        found = sorted({self.by_rxnorm[c] for c in order.codes if c in self.by_rxnorm})
        if found:
            return found
        names = set()
        for text in order.texts:
            joined = " " + " ".join(_words(text)) + " "
            names |= {name for phrase, name in self._phrases if phrase in joined}
        return sorted(names)


def md_escape(text: str) -> str:
    """``text`` on one line (line breaks become spaces, so no list, heading or code block can
    start) with GitHub Flavored Markdown's and HTML's special characters escaped, so that a detail
    shows the words and never formats, links or runs them."""
    text = " ".join(text.split())
    return _MD_SPECIAL.sub(lambda m: _MD_ENTITY.get(m.group(1), "\\" + m.group(1)), text)


def _guideline(rec: Recommendation) -> str:
    return rec.source.split(" (")[0].split(";")[0].strip() or "CPIC guideline"


def _genotype_short(rec: Recommendation) -> str:
    """``*2/*2`` for one gene (its name is in the phenotype); the whole genotype for several."""
    if len(rec.genes) == 1 and rec.genotype.startswith(rec.genes[0] + " "):
        return rec.genotype[len(rec.genes[0]) + 1 :]
    return rec.genotype


_TAIL = {
    "critical": "high risk: CPIC ({s}) advises against it",
    "warning": "review CPIC ({s}) guidance",
    "info": "CPIC ({s}) guidance",
}


def summary(drug: str, recs: list[Recommendation], indicator: str) -> str:
    """One line under 140 characters: the drug, the phenotype of each recommendation at the card's
    indicator (HLA-B *15:02 and HLA-A *31:01 for carbamazepine), the genotype when it fits, and
    what the indicator means."""
    lead = [r for r in recs if r.indicator == indicator] or recs[:1]
    tail = _TAIL[indicator].format(s=lead[0].strength)
    name = drug[:1].upper() + drug[1:]
    phenotypes = "; ".join(r.phenotype for r in lead)
    with_genotype = "; ".join(f"{r.phenotype} ({_genotype_short(r)})" for r in lead)
    for text in (f"{name}: {with_genotype} - {tail}", f"{name}: {phenotypes} - {tail}"):
        if len(text) < 140:
            return text
    return f"{name}: {phenotypes}"[:130].rstrip() + "... - PGx"


#: the last line of every card's detail, as the reports and the FHIR bundle say it
RESEARCH_USE = ("Research use only: produced by an automated research workflow, not a clinical test result; "
                "confirm in an accredited laboratory before acting on it.")  # fmt: skip


def _detail(recs: list[Recommendation]) -> str:
    blocks = []
    for rec in recs:
        block = (
            f"**PGx result from seq2rx:** {md_escape(rec.genotype)} ({md_escape(rec.phenotype)}).\n\n"
            f"**CPIC recommendation ({md_escape(rec.strength)}):** {md_escape(rec.recommendation)}\n\n"
            f"Source: {md_escape(rec.source or _guideline(rec))}"
        )
        if rec.caveats:
            block += "\n\n**Caveats:** " + " ".join(
                md_escape(c) + ("" if c.endswith(".") else ".") for c in rec.caveats
            )
        blocks.append(block)
    return "\n\n---\n\n".join(blocks) + "\n\n" + md_escape(RESEARCH_USE)


def drug_card(request: HookRequest, drug: str, recs: list[Recommendation], orders: list[Order]) -> dict:
    """The one card for a drug: its most urgent recommendation leads; every recommendation is in the
    detail; each guideline is linked; a critical card suggests removing the draft order(s)."""
    recs = sorted(recs, key=lambda r: -INDICATORS.index(r.indicator))  # stable: the findings' order within
    lead = recs[0]
    indicator = lead.indicator
    refs = sorted({o.ref for o in orders if o.ref})
    key = "\x1f".join([request.hook_instance, request.service, drug, indicator, *refs])
    card = {
        "uuid": str(uuid.uuid5(CARD_NAMESPACE, key)),
        "summary": summary(drug, recs, indicator),
        "indicator": indicator,
        "detail": _detail(recs),
        "source": {"label": f"{_guideline(lead)} (PGx result from seq2rx)"},
    }
    if lead.url:
        card["source"]["url"] = lead.url
    links, seen = [], set()
    for rec in recs:
        if rec.url and rec.url not in seen:
            seen.add(rec.url)
            links.append({"label": f"{_guideline(rec)} (full guideline)", "url": rec.url, "type": "absolute"})
    if links:
        card["links"] = links
    if indicator == "critical" and refs:
        card["selectionBehavior"] = "at-most-one"
        card["suggestions"] = [
            {
                "label": f"Remove the draft {drug} order" + ("s" if len(refs) > 1 else ""),
                "uuid": str(uuid.uuid5(CARD_NAMESPACE, key + "\x1fremove")),
                "actions": [
                    {"type": "delete", "description": f"Remove the draft {drug} order", "resourceId": ref}
                    for ref in refs
                ],  # fmt: skip
            }
        ]
    return card


def cards_for(
    request: HookRequest,
    lookup: Callable[[str, str], list[Recommendation]],
    table: DrugTable,
) -> dict:
    """The response ``{"cards": [...]}``: one card per drug of the orders that has card-making
    recommendations for the patient, most urgent first, then by drug name. An unknown patient, a drug
    without guidance, or no medication order gives ``{"cards": []}``."""
    per_drug: dict[str, list[Order]] = {}
    for order in request.orders:
        for drug in table.match(order):
            per_drug.setdefault(drug, []).append(order)
    cards = []
    for drug in sorted(per_drug):
        recs = lookup(request.patient, drug)
        if recs:
            cards.append(drug_card(request, drug, recs, per_drug[drug]))
    cards.sort(key=lambda c: -INDICATORS.index(c["indicator"]))
    return {"cards": cards}
