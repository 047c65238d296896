"""Notes throughput (issue 20): ``seq2rx notes extract``'s library function against negspaCy run alone on
the same notes and the same entities, in the same run.

Notes are simulated from templates (no real note text): a few section lines (history, medications,
assessment) filled at random with ECOG values, smoking statements, therapies, drug reactions, family
history and routine findings, affirmed, negated, historical and hypothetical.

- "negspaCy alone": ``spacy.blank("en")`` + ``sentencizer`` + one ``negex`` (negspaCy's shipped
  ``en_clinical`` termset), over the same entities as ours (character spans found beforehand, outside
  the timer: negspaCy finds no entities of its own).
- ours: :func:`seq2rx.notes.extract_notes` (white-space normalisation, 80 target patterns, sentence
  rules, five negex components, values and spans).

Each side runs in its own process (so each peak RSS is its own), alternating, ``--rounds`` times.

    python benchmarks/bench_notes.py --notes 2000 --rounds 3 [--json bench_notes.json]
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

from seq2rx.notes import Note

DRUGS = ["carbamazepine", "allopurinol", "abacavir", "phenytoin", "penicillin", "capecitabine", "pembrolizumab"]
REACTIONS = ["rash", "hives", "angioedema", "neutropenia", "colitis", "nausea"]
SITES = ["breast", "ovarian", "colon", "prostate", "lung", "pancreatic"]
RELATIVES = ["mother", "father", "sister", "brother", "maternal aunt", "paternal grandfather"]
THERAPIES = ["carboplatin", "pemetrexed", "docetaxel", "osimertinib", "nivolumab", "FOLFOX", "radiotherapy"]
FINDINGS = [
    "Lungs are clear to auscultation bilaterally.", "Abdomen is soft and non-tender.", "No peripheral edema.",
    "Heart rate regular, no murmurs.", "She denies chest pain or shortness of breath.", "Vital signs are stable.",
    "Continue current medications.", "Follow up in {n} weeks with labs.", "Weight stable at {n}0 kg.",
    "Appetite is fair, sleeps well.", "No fever or chills.", "Mild fatigue after each cycle.",
]  # fmt: skip
TEMPLATES = [
    "ECOG {ecog}.", "ECOG performance status of {ecog}.", "Performance status: {ecog}.",
    "Former smoker, quit in 20{yy}.", "Never smoker.", "Current smoker, 1 pack per day.", "Denies tobacco use.",
    "Previously treated with {therapy} and {therapy2}.", "Plan to start {therapy}.",
    "No {reaction} on {drug}.", "Developed {reaction} on {drug} in 20{yy}.", "If she develops a {reaction} on {drug} "
    "we will stop it.", "Allergic to {drug}.", "Her {relative} had {site} cancer.",
    "Family history: {relative} with {site} cancer.", "No family history of cancer.", "History of {site} cancer.",
]  # fmt: skip


def make_notes(n: int, seed: int = 1) -> list[Note]:
    rng = random.Random(seed)
    notes = []
    for k in range(n):

        def fill(template: str) -> str:
            return template.format(
                ecog=rng.randint(0, 4), yy=rng.randint(10, 23), n=rng.randint(2, 9), drug=rng.choice(DRUGS),
                reaction=rng.choice(REACTIONS), site=rng.choice(SITES), relative=rng.choice(RELATIVES),
                therapy=rng.choice(THERAPIES), therapy2=rng.choice(THERAPIES),
            )  # fmt: skip

        sections = []
        for header in ("History", "Medications", "Examination", "Assessment"):
            body = [fill(t) for t in rng.sample(TEMPLATES, 2)] + [fill(t) for t in rng.sample(FINDINGS, 2)]
            rng.shuffle(body)
            sections.append(f"{header}: " + "  ".join(body))
        notes.append(Note(f"N{k}", f"P{k % 500}", f"2024-{1 + k % 12:02d}-15", "\n".join(sections)))
    return notes


def negspacy_alone(notes: list[Note]) -> dict:
    import negspacy.negation  # noqa: F401
    import spacy
    from negspacy.termsets import termset

    from seq2rx.notes import load_targets, normalize_space
    from seq2rx.notes._extract import _targets_in

    targets = load_targets()
    prepared = []
    for note in notes:  # the same entities as ours, found outside the timer
        text, _ = normalize_space(note.text)
        prepared.append((text, [(s, e, t.concept.upper()) for s, e, t, _g in _targets_in(text, targets)]))
    nlp = spacy.blank("en")
    sentencizer = nlp.add_pipe("sentencizer")
    negex = nlp.add_pipe("negex", config={"neg_termset": termset("en_clinical").get_patterns()})

    def run(batch):
        count = negated = 0
        for text, spans in batch:
            doc = sentencizer(nlp.make_doc(text))
            ents = [doc.char_span(s, e, label=label, alignment_mode="expand") for s, e, label in spans]
            doc.ents = spacy.util.filter_spans([x for x in ents if x is not None])
            doc = negex(doc)
            count += len(doc.ents)
            negated += sum(1 for ent in doc.ents if ent._.negex)
        return count, negated

    run(prepared[:50])  # warm-up
    start = time.perf_counter()
    count, negated = run(prepared)
    return {"seconds": time.perf_counter() - start, "entities": count, "negated": negated}


def ours(notes: list[Note]) -> dict:
    from seq2rx.notes import extract_notes

    extract_notes(notes[:50])  # warm-up (builds the pipeline once)
    start = time.perf_counter()
    doc = extract_notes(notes)
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "entities": len(doc["items"]),
            "negated": sum(1 for i in doc["items"] if i["negation"] == "negated")}  # fmt: skip


def child(side: str, n: int) -> None:
    notes = make_notes(n)
    result = (negspacy_alone if side == "negspacy" else ours)(notes)
    result["max_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    print(json.dumps(result))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--notes", type=int, default=2000, help="notes to process (default: 2000)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds, each side once per round (default: 3)")
    parser.add_argument("--json", help="write the numbers here")
    parser.add_argument("--side", choices=("negspacy", "ours"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.side:
        child(args.side, args.notes)
        return
    notes = make_notes(args.notes)
    runs: dict[str, list[dict]] = {"negspacy": [], "ours": []}
    for _ in range(args.rounds):
        for side in runs:
            out = subprocess.run([sys.executable, __file__, "--side", side, "--notes", str(args.notes)],
                                 check=True, capture_output=True, text=True).stdout  # fmt: skip
            runs[side].append(json.loads(out.splitlines()[-1]))
    rate = {side: [args.notes / r["seconds"] for r in rs] for side, rs in runs.items()}
    result = {
        "notes": args.notes, "mean_chars": round(sum(len(n.text) for n in notes) / len(notes)),
        "rounds": args.rounds,
        "negspacy_alone_notes_per_s": [round(x, 1) for x in rate["negspacy"]],
        "seq2rx_notes_per_s": [round(x, 1) for x in rate["ours"]],
        "median_ratio_ours_over_negspacy": round(statistics.median(rate["ours"]) / statistics.median(rate["negspacy"]), 2),
        "entities": {side: rs[0]["entities"] for side, rs in runs.items()},
        "negated": {side: rs[0]["negated"] for side, rs in runs.items()},
        "max_rss_mb": {side: max(r["max_rss_mb"] for r in rs) for side, rs in runs.items()},
    }  # fmt: skip
    print(json.dumps(result, indent=2))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
