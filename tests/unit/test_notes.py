"""Clinical notes (seq2rx.notes): hand-written notes whose facts we know, ConText's assertions on them
(negspaCy, one NegEx per category), NegEx's annotation format, the readers (TSV, OMOP DuckDB, OMOP CSV
folder), the fields notes fill (ECOG, smoking), and that a note's text never reaches an output."""

from __future__ import annotations

import json
import re

import pytest

from seq2rx.cli import main
from seq2rx.core.errors import InputError
from seq2rx.notes import (
    Note,
    assert_rows,
    build_pipeline,
    extract_notes,
    find_concept,
    load_context_terms,
    load_targets,
    note_fields,
    read_annotations,
    read_notes,
)

NOTE = (
    "Oncology clinic follow-up.\n"
    "No rash on carbamazepine. Mother had breast cancer at 52.\n"
    "ECOG 1.  Former smoker, 30 pack-years.\n"
    "Previously treated with carboplatin and pemetrexed.\n"
    "If she develops a rash on cetuximab we will stop it.\n"
    "Developed hives on allopurinol in 2019. Denies tobacco use at present."
)


def items_of(text: str) -> list[dict]:
    return extract_notes([Note("n1", "P1", "2024-03-01", text)])["items"]


def one(items: list[dict], concept: str, value: str) -> dict:
    found = [i for i in items if i["concept"] == concept and i["value"] == value]
    assert len(found) == 1, (concept, value, items)
    return found[0]


@pytest.fixture(scope="module")
def items() -> list[dict]:
    return items_of(NOTE)


def test_a_negated_adverse_drug_reaction(items):
    adr = one(items, "adr", "carbamazepine")
    assert adr["fields"] == {"drug": "carbamazepine", "reaction": "rash"}
    assert adr["assertion"] == "negated" and adr["negation"] == "negated"
    assert NOTE[adr["start"] : adr["end"]] == "rash on carbamazepine"
    hives = one(items, "adr", "allopurinol")
    assert hives["assertion"] == "affirmed" and hives["fields"]["reaction"] == "hives"


def test_family_history_of_cancer_is_someone_elses(items):
    cancer = one(items, "cancer", "breast")
    assert cancer["assertion"] == "family" and cancer["experiencer"] == "other"
    assert cancer["negation"] == "affirmed"
    assert NOTE[cancer["start"] : cancer["end"]] == "breast cancer"


def test_ecog_has_its_value_and_former_smoking_is_historical(items):
    ecog = one(items, "ecog", "1")
    assert ecog["assertion"] == "affirmed" and NOTE[ecog["start"] : ecog["end"]] == "ECOG 1"
    smoking = one(items, "smoking", "former")
    assert smoking["assertion"] == "historical" and smoking["temporality"] == "historical"
    denied = [i for i in items if i["concept"] == "smoking" and i["value"] is None]
    assert [i["assertion"] for i in denied] == ["negated"]  # "Denies tobacco use"


def test_prior_therapies_are_historical_and_a_conditional_one_hypothetical(items):
    for drug in ("carboplatin", "pemetrexed"):
        assert one(items, "therapy", drug)["assertion"] == "historical"
    rash = one(items, "adr", "cetuximab")  # "If she develops a rash on cetuximab"
    assert rash["assertion"] == "hypothetical" and rash["temporality"] == "hypothetical"
    assert rash["negation"] == "affirmed" and rash["fields"]["reaction"] == "rash"


def test_spans_are_offsets_into_the_original_text_when_spaces_are_padded():
    text = "ECOG   performance status:\n 2.   No  rash   on   carbamazepine."
    found = items_of(text)
    ecog, adr = one(found, "ecog", "2"), one(found, "adr", "carbamazepine")
    assert text[ecog["start"] : ecog["end"]].startswith("ECOG") and text[ecog["end"] - 1] == "2"
    assert text[adr["start"] : adr["end"]] == "rash   on   carbamazepine" and adr["assertion"] == "negated"


def test_spans_survive_newlines_and_a_section_header_starts_a_sentence():
    text = (
        "Social  history:\n\n   former\n smoker\nAllergies: no known drug allergies\nAssessment: rash\ton   phenytoin"
    )
    found = items_of(text)
    smoking, adr = one(found, "smoking", "former"), one(found, "adr", "phenytoin")
    assert text[smoking["start"] : smoking["end"]] == "former\n smoker" and smoking["temporality"] == "historical"
    # "no" of the line above does not reach past the header that opens the next line
    assert text[adr["start"] : adr["end"]] == "rash\ton   phenytoin" and adr["assertion"] == "affirmed"
    assert one(items_of("Allergies: no rash on phenytoin"), "adr", "phenytoin")["assertion"] == "negated"


def test_possible_and_the_patient_again_after_a_relative():
    assert one(items_of("Rule out pneumonitis on pembrolizumab."), "adr", "pembrolizumab")["assertion"] == "possible"
    found = items_of("Her mother had breast cancer. The patient has ovarian cancer.")
    assert one(found, "cancer", "breast")["assertion"] == "family"
    assert one(found, "cancer", "ovarian")["assertion"] == "affirmed"


def test_other_values_are_not_ecog():
    assert [
        i
        for i in items_of("WHO grade 2 astrocytoma. Creatinine 1.4. ECOG 1.5 is not a grade.")
        if i["concept"] == "ecog"
    ] == []


def test_notes_from_a_tsv(tmp_path):
    tsv = tmp_path / "notes.tsv"
    tsv.write_text("patient\tdate\ttext\nP1\t2024-01-01\tECOG 0.\\nNever smoker.\nP2\t2024-01-02\tNever smoker.\n")
    notes = read_notes(tsv)
    assert [(n.note_id, n.patient, n.date) for n in notes] == [
        ("P1-1", "P1", "2024-01-01"),
        ("P2-2", "P2", "2024-01-02"),
    ]
    assert notes[0].text == "ECOG 0.\nNever smoker."  # \\n in the file is a line break


def _cdm_rows():
    return [(7, 42, "2024-02-03", "Her father had colon cancer."), (3, 43, "2024-01-05", "ECOG 2, no rash on abacavir")]


def test_notes_from_an_omop_duckdb_file_linked_by_source_value_or_person_id(tmp_path):
    duckdb = pytest.importorskip("duckdb")
    db = tmp_path / "cdm.duckdb"
    con = duckdb.connect(str(db))
    con.execute("CREATE TABLE NOTE (NOTE_ID BIGINT, PERSON_ID BIGINT, NOTE_DATE DATE, NOTE_TEXT VARCHAR)")
    con.executemany("INSERT INTO NOTE VALUES (?, ?, CAST(? AS DATE), ?)", _cdm_rows())
    con.close()
    # no person table: the default link has nothing to link by, and says so rather than use person_id
    with pytest.raises(InputError, match="no person table with person_source_value"):
        read_notes(db)
    assert [(n.note_id, n.patient, n.date) for n in read_notes(db, link="person_id")] == [
        ("3", "43", "2024-01-05"),
        ("7", "42", "2024-02-03"),
    ]
    con = duckdb.connect(str(db))
    con.execute("CREATE TABLE person (person_id BIGINT, person_source_value VARCHAR)")
    con.execute("INSERT INTO person VALUES (42, 'P7'), (43, NULL)")
    con.close()
    notes = read_notes(db, link="person_source_value")
    # person 43 has no source value: its note is left out and counted, never linked as "43"
    assert [(n.note_id, n.patient) for n in notes] == [("7", "P7")]
    assert (notes.unlinked, notes.unlinked_persons) == (1, 1)
    by_id = read_notes(db, link="person_id")
    assert [n.patient for n in by_id] == ["43", "42"] and by_id.unlinked == 0
    items = extract_notes(by_id)["items"]
    assert [(i["note_id"], i["patient"], i["concept"], i["value"], i["assertion"]) for i in items] == [
        ("3", "43", "ecog", "2", "affirmed"),
        ("3", "43", "adr", "abacavir", "negated"),
        ("7", "42", "cancer", "colon", "family"),
    ]
    with pytest.raises(InputError, match="field 'link'"):
        read_notes(db, link="person_source")


def test_notes_from_an_omop_csv_folder_linked_by_source_value_or_person_id(tmp_path, capsys):
    folder = tmp_path / "cdm"
    folder.mkdir()
    lines = ["NOTE_ID,PERSON_ID,NOTE_DATE,NOTE_DATETIME,NOTE_TEXT"]
    lines += [f'{n},{p},{d},{d} 10:00:00,"{t}"' for n, p, d, t in [*_cdm_rows(), (9, 44, "2024-03-01", "ECOG 0")]]
    (folder / "NOTE.csv").write_text("\n".join(lines) + "\n")
    with pytest.raises(InputError, match="holds no person.csv"):
        read_notes(folder)
    (folder / "person.csv").write_text(
        "person_id,year_of_birth,person_source_value\n42,1960,P7\n43,1970,P8\n44,1980,\n"
    )
    notes = read_notes(folder)
    assert [(n.note_id, n.patient, n.date, n.text) for n in notes] == [
        ("3", "P8", "2024-01-05", "ECOG 2, no rash on abacavir"),
        ("7", "P7", "2024-02-03", "Her father had colon cancer."),
    ]
    assert (notes.unlinked, notes.unlinked_persons) == (1, 1)  # person 44's note
    assert [(n.note_id, n.patient) for n in read_notes(folder, link="person_id")] == [
        ("3", "43"),
        ("7", "42"),
        ("9", "44"),
    ]
    out = tmp_path / "items.json"
    assert main(["notes", "extract", "--notes", str(folder), "--json", str(out)]) == 0
    assert "1 notes of 1 persons without a person_source_value left out" in capsys.readouterr().out
    assert {i["patient"] for i in json.loads(out.read_text())["items"]} == {"P7", "P8"}
    assert main(["notes", "extract", "--notes", str(folder), "--json", str(out), "--link", "person_id"]) == 0
    assert {i["patient"] for i in json.loads(out.read_text())["items"]} == {"42", "43", "44"}


def test_a_tsv_ignores_the_link(tmp_path):
    tsv = tmp_path / "notes.tsv"
    tsv.write_text("patient\tdate\ttext\nP1\t2024-01-01\tECOG 0.\n")
    assert [n.patient for n in read_notes(tsv, link="person_id")] == [n.patient for n in read_notes(tsv)] == ["P1"]


def test_no_sentence_of_a_note_reaches_the_output(tmp_path, capsys):
    tsv = tmp_path / "notes.tsv"
    tsv.write_text("note_id\tpatient\tdate\ttext\nN1\tP1\t2024-03-01\t" + NOTE.replace("\n", "\\n") + "\n")
    out = tmp_path / "items.json"
    assert main(["notes", "extract", "--notes", str(tsv), "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    written = out.read_text()
    doc = json.loads(written)
    assert doc["notes"] == 1 and len(doc["items"]) >= 9
    sentences = [s.strip() for line in NOTE.splitlines() for s in line.split(". ") if len(s.strip()) > 12]
    assert len(sentences) >= 8
    for sentence in sentences:
        assert sentence not in written and sentence not in printed, sentence
    again = tmp_path / "again.json"
    assert main(["notes", "extract", "--notes", str(tsv), "--json", str(again)]) == 0
    assert again.read_bytes() == out.read_bytes()


def test_find_concept_matches_runs_of_spaces_and_cut_sentences():
    sentence = "Positive for Staph  Bacteremia today."
    assert sentence[slice(*find_concept("staph   bacteremia", sentence))] == "Staph  Bacteremia"
    assert sentence[slice(*find_concept("bacteremia and sepsis", sentence))] == "Bacteremia"
    assert find_concept("pneumonia", sentence) is None


def test_notes_assert_writes_the_rows_with_negation(tmp_path, capsys):
    src = tmp_path / "a.tsv"
    rows = [
        ("1", "pneumonia", "No evidence of pneumonia.", "Affirmed"),  # the input's label: replaced, never read
        ("1", "chest pain", "She denies chest pain but reports nausea.", "Negated"),
        ("2", "nausea", "She denies chest pain but reports nausea.", "Negated"),
        ("2", "effusion", "FINDINGS: No pleural effusion is seen.", "Affirmed"),
        ("3", "fever", "Fever was ruled out.", "Affirmed"),
        ("3", "edema", "No change in the edema.", "Negated"),
    ]
    src.write_text("Report No.\tConcept\tSentence\tNegation\n" + "".join("\t".join(r) + "\n" for r in rows))
    out = tmp_path / "out.tsv"
    assert main(["notes", "assert", "--in", str(src), "--tsv", str(out)]) == 0
    lines = out.read_text().splitlines()
    assert lines[0] == "Report No.\tConcept\tSentence\tNegation"
    assert [line.split("\t")[:3] for line in lines[1:]] == [list(r[:3]) for r in rows]
    assert [line.split("\t")[3] for line in lines[1:]] == [
        "Negated",
        "Negated",
        "Affirmed",
        "Negated",
        "Negated",
        "Affirmed",
    ]
    assert "4 negated, 2 affirmed" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("content", "says"),
    [
        ("Report\tConcept\tSentence\n1\tx\ty\n", "misses the column(s) Report No."),
        ("Report No.\tConcept\tSentence\n1\tx\n", "line 2: has 2 fields, the header 3"),
        ("Report No.\tConcept\tSentence\n1\t \ty\n", "line 2, field 'Concept': is empty"),
    ],
)
def test_bad_annotation_files_are_named(tmp_path, capsys, content, says):
    src = tmp_path / "bad.tsv"
    src.write_text(content)
    with pytest.raises(InputError, match="bad.tsv"):
        read_annotations(src)
    assert main(["notes", "assert", "--in", str(src), "--tsv", str(tmp_path / "o.tsv")]) == 2
    assert says in capsys.readouterr().err
    assert not (tmp_path / "o.tsv").exists()


def test_bad_targets_are_named(tmp_path):
    targets = tmp_path / "t.tsv"
    targets.write_text("concept\tkind\tpattern\tvalue\timplies\tsource\tdate\necog\tregex\tECOG (\t\t\tme\t2026-05\n")
    with pytest.raises(InputError, match="line 2, field 'pattern': not a regular expression"):
        load_targets(targets)
    targets.write_text("concept\tkind\tpattern\tvalue\timplies\tsource\tdate\necog\tregex\tECOG\t\t\t\t2026-05\n")
    with pytest.raises(InputError, match="field 'source': is empty"):
        load_targets(targets)


def test_every_shipped_term_and_target_has_a_source_and_a_date():
    from seq2rx.core.data import data_path

    path = data_path("kb", "nlp", "context_terms.tsv")
    rows = [line.split("\t") for line in path.read_text(encoding="utf-8").splitlines()[1:]]
    assert len(rows) > 250 and all(r[3].strip() and r[4].strip() for r in rows)
    terms = load_context_terms()
    assert set(terms) == {"negated", "possible", "historical", "hypothetical", "family"}
    assert "no" in terms["negated"]["preceding_negations"] and "but" in terms["family"]["termination"]
    assert "if" in terms["hypothetical"]["preceding_negations"] and "mother" in terms["family"]["preceding_negations"]
    assert {t.concept for t in load_targets()} == {"ecog", "smoking", "therapy", "adr", "cancer"}


@pytest.mark.parametrize(
    ("row", "says"),
    [
        ("no\tnegated\tbefore\tme\t2026-12", "line 3, field 'direction': 'before' is not a direction"),
        ("no\tdenied\tpreceding\tme\t2026-12", "line 3, field 'category': 'denied' is not a ConText category"),
        ("no\tall\tpreceding\tme\t2026-12", "line 3, field 'category': category 'all' with direction 'preceding'"),
        ("no\tnegated\tpreceding\t\t2026-12", "line 3, field 'source': is empty"),
        ("no\tnegated\tpreceding\tme\tDec 2026", "line 3, field 'date': 'Dec 2026' is not a date"),
        ("NO\tnegated\tpreceding\tme\t2026-12", "line 3, field 'term': repeats line 2"),
    ],
)
def test_bad_term_lists_name_the_line_and_field(tmp_path, row, says):
    path = tmp_path / "terms.tsv"
    path.write_text(
        "term\tcategory\tdirection\tsource\tdate\tnote\nno\tnegated\tpreceding\tme\t2026-12\t\n" + row + "\n"
    )
    with pytest.raises(InputError, match=re.escape(says)):
        load_context_terms(path)


def _item(patient, date, concept, value, *, note="n", start=0, negation="affirmed", temporality="recent",
          experiencer="patient"):  # fmt: skip
    return {"note_id": note, "patient": patient, "date": date, "start": start, "end": start + 6, "concept": concept,
            "value": value, "negation": negation, "temporality": temporality, "experiencer": experiencer}  # fmt: skip


def test_note_fields_take_the_nearest_ecog_in_30_days_and_the_latest_smoking_before_the_index():
    items = [
        _item("P1", "2024-02-20", "ecog", "3", note="a"),  # 10 days before the index
        _item("P1", "2024-03-11", "ecog", "1", note="b"),  # 10 days after: the tie goes to the one before
        _item("P1", "2024-03-02", "ecog", "4", note="c", negation="negated"),  # "no ECOG 4": not counted
        _item("P1", "2024-03-03", "ecog", "0", note="d", temporality="hypothetical"),
        _item("P1", "2024-03-04", "ecog", "2", note="e", experiencer="other"),
        _item("P1", "2024-03-01", "ecog", "0", note="e2", temporality="historical"),  # "ECOG was 0 last year"
        _item("P1", "2023-01-01", "smoking", "current", note="f"),
        _item("P1", "2024-01-01", "smoking", "former", note="g", temporality="historical"),
        _item("P1", "2024-03-05", "smoking", "never", note="h"),  # after the index date
        _item("P1", "2024-02-01", "smoking", None, note="i"),  # "tobacco": no status
        _item("P2", "2024-05-01", "ecog", "1", note="j"),  # 61 days after P2's index
        _item("P3", "2024-01-01", "ecog", "1", note="k"),
    ]
    fields = note_fields(items, {"P1": "2024-03-01", "P2": "2024-03-01", "P3": None})
    assert fields["P1"]["ecog"] == {"value": 3, "note_id": "a", "date": "2024-02-20", "start": 0, "end": 6,
                                    "source": "note"}  # fmt: skip
    assert fields["P1"]["smoking"]["value"] == "former" and fields["P1"]["smoking"]["note_id"] == "g"
    assert fields["P2"] == {"ecog": None, "smoking": None}
    assert fields["P3"] == {"ecog": None, "smoking": None}  # no index date: nothing
    nearer = note_fields([*items, _item("P1", "2024-03-02", "ecog", "1", note="z")], {"P1": "2024-03-01"})
    assert nearer["P1"]["ecog"]["value"] == 1 and nearer["P1"]["ecog"]["note_id"] == "z"


def test_note_fields_from_extracted_notes():
    notes = [Note("n1", "P1", "2024-03-01", "ECOG 1. Former smoker."), Note("n2", "P1", "2024-06-01", "ECOG 3.")]
    fields = note_fields(extract_notes(notes)["items"], {"P1": "2024-03-15"})["P1"]
    assert fields["ecog"]["value"] == 1 and fields["ecog"]["note_id"] == "n1" and fields["ecog"]["source"] == "note"
    assert notes[0].text[fields["ecog"]["start"] : fields["ecog"]["end"]] == "ECOG 1"
    assert fields["smoking"]["value"] == "former"


def test_the_clinical_table_takes_a_smoking_column(tmp_path):
    from seq2rx.inputs.clinical import read_clinical

    header = "patient\tage\tecog\tstage\tegfr\tdiagnosis_date\tmedications\ttreatment\tresponse\ttime_months\tevent"
    good = tmp_path / "clinical.tsv"
    good.write_text(f"{header}\tsmoking\nP1\t60\t1\tIV\t80\t2024-01-02\tnone\tNA\tNA\tNA\tNA\tformer\n")
    assert read_clinical(good)["smoking"].tolist() == ["former"]
    bad = tmp_path / "bad.tsv"
    bad.write_text(f"{header}\tsmoking\nP1\t60\t1\tIV\t80\t2024-01-02\tnone\tNA\tNA\tNA\tNA\tsometimes\n")
    with pytest.raises(InputError, match="smoking"):
        read_clinical(bad)


def test_a_byte_order_mark_and_header_names_in_any_case_are_read(tmp_path):
    tsv = tmp_path / "excel.tsv"
    tsv.write_bytes("\ufeffPatient\tDate\tText\tNote_ID\nP1\t2024-01-01\tECOG 2.\tA\n".encode())
    assert [(n.note_id, n.patient, n.date, n.text) for n in read_notes(tsv)] == [("A", "P1", "2024-01-01", "ECOG 2.")]
    twice = tmp_path / "twice.tsv"
    twice.write_text("patient\tdate\tDate\ttext\nP1\t2024-01-01\t2024-01-02\tECOG 2.\n")
    with pytest.raises(InputError, match="line 1: names the column date twice"):
        read_notes(twice)


def test_a_comma_separated_notes_file_is_named_as_such(tmp_path, capsys):
    csv_file = tmp_path / "notes.csv"
    csv_file.write_text("patient,date,text\nP1,2024-01-01,ECOG 1\n")
    assert main(["notes", "extract", "--notes", str(csv_file), "--json", str(tmp_path / "o.json")]) == 2
    err = capsys.readouterr().err
    assert "notes.csv, line 1: is not tab-separated" in err and "Traceback" not in err
    assert not (tmp_path / "o.json").exists()


@pytest.fixture
def csv_default_field_limit():
    """csv's default field limit (131,072 characters), as a fresh process has it; restored after."""
    import csv

    before = csv.field_size_limit(131072)
    yield
    csv.field_size_limit(before)


def test_a_note_longer_than_csvs_default_field_limit_is_read(tmp_path, csv_default_field_limit):
    long = "Stable disease. " * 12_500 + "ECOG 1."  # 200,007 characters
    tsv = tmp_path / "notes.tsv"
    tsv.write_text(f"patient\tdate\ttext\nP1\t2024-01-01\t{long}\n")
    assert read_notes(tsv)[0].text == long
    folder = tmp_path / "cdm"
    folder.mkdir()
    (folder / "note.csv").write_text(f'note_id,person_id,note_date,note_text\n1,5,2024-01-01,"{long}"\n')
    assert read_notes(folder, link="person_id")[0].text == long
    annotations = tmp_path / "a.tsv"
    annotations.write_text(f"Report No.\tConcept\tSentence\n1\tdisease\t{long}\n")
    assert read_annotations(annotations)[1][0]["Sentence"] == long


def test_annotations_that_are_not_utf8_are_named(tmp_path, capsys):
    latin = tmp_path / "latin1.tsv"
    latin.write_bytes("Report No.\tConcept\tSentence\n1\tfever\tNo fièvre.\n".encode("latin-1"))
    with pytest.raises(InputError, match="latin1.tsv: is not UTF-8 text"):
        read_annotations(latin)
    assert main(["notes", "assert", "--in", str(latin), "--tsv", str(tmp_path / "o.tsv")]) == 2
    assert "is not UTF-8 text" in capsys.readouterr().err


def test_a_csv_error_is_a_message_with_its_line(tmp_path, monkeypatch, csv_default_field_limit):
    """csv's own errors (here its field limit, left at the default on purpose) name the file and line."""
    import seq2rx.notes._extract as extract

    monkeypatch.setattr(extract, "wide_fields", lambda: None)
    folder = tmp_path / "cdm"
    folder.mkdir()
    text = "x" * 140_000
    (folder / "note.csv").write_text(
        f'note_id,person_id,note_date,note_text\n1,5,2024-01-01,ECOG 1\n2,5,2024-01-01,"{text}"\n'
    )
    with pytest.raises(InputError, match=r"note.csv, line 3: cannot be read as delimited text \(field larger"):
        read_notes(folder, link="person_id")


@pytest.mark.parametrize("day", ["2024-13-45", "2024-02-30", "2023-02-29"])
def test_impossible_dates_are_refused_in_every_reader(tmp_path, day):
    duckdb = pytest.importorskip("duckdb")
    tsv = tmp_path / "notes.tsv"
    tsv.write_text(f"patient\tdate\ttext\nP1\t{day}\tECOG 1\n")
    with pytest.raises(InputError, match=f"line 2, field 'date': '{day}' is not a date"):
        read_notes(tsv)
    folder = tmp_path / "cdm"
    folder.mkdir()
    (folder / "note.csv").write_text(f"note_id,person_id,note_date,note_text\n1,5,{day},ECOG 1\n")
    with pytest.raises(InputError, match=f"line 2, field 'note_date': '{day}' is not a date"):
        read_notes(folder, link="person_id")
    db = tmp_path / "cdm.duckdb"
    con = duckdb.connect(str(db))
    con.execute("CREATE TABLE note (note_id BIGINT, person_id BIGINT, note_date VARCHAR, note_text VARCHAR)")
    con.execute("INSERT INTO note VALUES (1, 5, ?, 'ECOG 1')", [day])
    con.close()
    with pytest.raises(InputError, match=f"field 'note_date': note_id '1': '{day}' is not a date"):
        read_notes(db, link="person_id")


TEXTS = (
    "Patient denies chest pain and reports a rash on carbamazepine",
    "Mother had breast cancer at 52, father colon cancer at 60",
    "Former smoker, quit in 2001; ECOG 1 at today's visit",
)


def test_no_message_quotes_a_notes_files_text(tmp_path, capsys):
    """Bad notes files whose note text sits where an id, a date or a person goes: the message names
    the field and shows at most 10 characters, never a 20-character run of any text cell."""
    duckdb = pytest.importorskip("duckdb")
    a, b, c = TEXTS
    bad = {}
    bad["date.tsv"] = f"patient\tdate\ttext\nP1\t{a}\t{b}\n"
    bad["id.tsv"] = f"note_id\tpatient\tdate\ttext\n{c}\tP1\t2024-01-01\t{a}\n{c}\tP2\t2024-01-02\t{b}\n"
    bad["tab.tsv"] = f"patient\tdate\ttext\nP1\t2024-01-01\t{a}\t{b}\n"
    bad["comma.tsv"] = f"patient,date,text\nP1,2024-01-01,{c}\n"
    bad["shift.tsv"] = f"patient\tdate\ttext\n{a}\t{b}\t{c}\n"
    paths = []
    for name, content in bad.items():
        (tmp_path / name).write_text(content)
        paths.append(tmp_path / name)
    for name, row in (("person", f'1,"{a}",2024-01-01,x'), ("date", f'1,5,"{b}",x'), ("id", f'"{c}",5,2024-01-01,x')):
        folder = tmp_path / f"cdm-{name}"
        folder.mkdir()
        (folder / "note.csv").write_text(f"note_id,person_id,note_date,note_text\n{row}\n")
        (folder / "person.csv").write_text("person_id,person_source_value\n5,P1\n")
        paths.append(folder)
    db = tmp_path / "cdm.duckdb"
    con = duckdb.connect(str(db))
    con.execute("CREATE TABLE note (note_id VARCHAR, person_id BIGINT, note_date VARCHAR, note_text VARCHAR)")
    con.execute("INSERT INTO note VALUES (?, 5, ?, ?)", [c, a, b])
    con.close()
    paths.append(db)
    errors = []
    for path in paths:
        assert main(["notes", "extract", "--notes", str(path), "--json", str(tmp_path / "o.json"),
                     "--link", "person_id"]) == 2, path  # fmt: skip
        err = capsys.readouterr().err
        assert err.startswith("seq2rx:") and str(path.name) in err and "Traceback" not in err, err
        errors.append(err)
    assert not (tmp_path / "o.json").exists()
    stderr = "".join(errors)
    for text in TEXTS:
        for i in range(len(text) - 19):
            assert text[i : i + 20] not in stderr, (text[i : i + 20], stderr)
    # a misplaced text is shown cut, with its length
    assert "field 'date': 'Patient de'… (61 characters) is not a date" in stderr


def _assertions(text: str, concept: str) -> list[tuple[str, str | None, str]]:
    return [
        (text[i["start"] : i["end"]], i["value"], i["assertion"]) for i in items_of(text) if i["concept"] == concept
    ]


def test_a_past_ecog_is_historical_and_the_present_one_after_now_or_today_is_not():
    assert _assertions("ECOG performance status was 1 prior to chemotherapy; now ECOG 3.", "ecog") == [
        ("ECOG performance status was 1", "1", "historical"),
        ("ECOG 3", "3", "affirmed"),
    ]
    assert _assertions("ECOG performance status was 2 last year; today ECOG 1.", "ecog") == [
        ("ECOG performance status was 2", "2", "historical"),
        ("ECOG 1", "1", "affirmed"),
    ]
    found = items_of("Previously treated with carboplatin and pemetrexed; now on osimertinib.")
    assert [(i["value"], i["temporality"]) for i in found] == [
        ("carboplatin", "historical"),
        ("pemetrexed", "historical"),
        ("osimertinib", "recent"),
    ]
    assert _assertions("Colitis on ipilimumab 2 years ago.", "adr")[0][2] == "historical"


@pytest.mark.parametrize(
    "text",
    [
        "Possible hypersensitivity reaction to oxaliplatin.",
        "Probable rash on carbamazepine.",
        "Suspected pneumonitis on pembrolizumab.",
        "Pneumonitis on pembrolizumab is suspected.",
        "Cannot exclude pneumonitis on nivolumab.",  # uncertainty, not a negation
        "Concern for colitis on ipilimumab.",
    ],
)
def test_uncertain_reactions_are_possible(text):
    [adr] = [i for i in items_of(text) if i["concept"] == "adr"]
    assert (adr["assertion"], adr["negation"]) == ("possible", "possible"), text


def test_a_semicolon_ends_a_negation():
    assert _assertions("Patient is not a current smoker; former smoker.", "smoking") == [
        ("current smoker", "current", "negated"),
        ("former smoker", "former", "historical"),
    ]


def test_a_past_daily_smoker_is_a_former_smoker_in_the_fields():
    notes = [Note("n1", "P1", "2024-03-01", "She was previously a daily smoker.")]
    items = extract_notes(notes)["items"]
    assert [(i["value"], i["temporality"]) for i in items] == [("current", "historical")]
    assert note_fields(items, {"P1": "2024-03-15"})["P1"]["smoking"]["value"] == "former"
    now = extract_notes([Note("n2", "P1", "2024-03-01", "She is a daily smoker.")])["items"]
    assert note_fields(now, {"P1": "2024-03-15"})["P1"]["smoking"]["value"] == "current"


@pytest.mark.parametrize(
    ("text", "low", "high"),
    [
        ("ECOG 0-1.", "0", "1"),
        ("ECOG 1-2", "1", "2"),
        ("ECOG performance status 1 to 2.", "1", "2"),
        ("ECOG 2 or 3", "2", "3"),
    ],  # fmt: skip
)
def test_an_ecog_range_is_no_value(text, low, high):
    [ecog] = [i for i in items_of(text) if i["concept"] == "ecog"]
    assert ecog["value"] is None and ecog["fields"] == {"high": high, "low": low}
    assert text[ecog["start"] : ecog["end"]].endswith(high)
    assert note_fields([ecog], {"P1": "2024-03-01"})["P1"]["ecog"] is None
    assert [i["value"] for i in items_of("ECOG 1. Grade 2-3 neuropathy.") if i["concept"] == "ecog"] == ["1"]


def test_post_negations_of_presence_negate():
    """ "Chest pain is not present." was affirmed (a new user's sentence): presence denied after the
    finding is negated, and a termination term still ends the scope."""
    rows = [{"Report No.": "1", "Concept": c, "Sentence": s} for c, s in [
        ("chest pain", "Chest pain is not present."), ("pneumothorax", "Pneumothorax not seen."),
        ("metastases", "Metastases were absent."), ("fever", "Fever is not present but cough is."),
        ("cough", "Fever is not present but cough is."), ("rash", "Rash present."),
    ]]  # fmt: skip
    assert assert_rows(rows, build_pipeline(None)) == ["Negated", "Negated", "Negated", "Negated", "Affirmed",
                                                       "Affirmed"]  # fmt: skip
