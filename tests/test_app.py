"""The Streamlit app through AppTest: every page and flow, widgets found by key.

Each test drives the real `app.py` (navigation included) and asserts that no exception reached the
page after every run.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

import engine.render as render
from engine import KnowledgeBase, dump_case, parse_case, parse_text
from engine.case import Answer
from engine.knowledge import Position
from engine.vignettes import Vignette, default_vignettes
from ui.form import form_steps
from ui.state import Workspace, build_case

APP = str(Path(__file__).resolve().parents[1] / "app.py")
PAGES = {"assessment": "Assessment", "triage": "Quick triage", "results": "Results",
         "case_io": "Case file and report", "self_check": "Clinician self-check",
         "catalogue": "Rule catalogue", "training": "Training vignettes"}
VIGNETTES = default_vignettes()
PLACED = [v for v in VIGNETTES if v.expected("position") is not None]


def ok(at: AppTest) -> AppTest:
    """No exception on the page, and not the app's own 'something went wrong' either."""
    assert not at.exception, [e.value for e in at.exception]
    assert not [e.value for e in at.error if "Something went wrong" in e.value]
    return at


def run(at: AppTest) -> AppTest:
    return ok(at.run())


def goto(at: AppTest, page: str) -> AppTest:
    return run(at.switch_page(f"ui/{page}.py"))


def plain(text: str) -> str:
    """Markdown source without its escapes."""
    return text.replace("\\", "")


def texts(at: AppTest) -> str:
    """Every piece of text on the page, for content checks."""
    parts: list[str] = []
    for kind in ("title", "header", "subheader", "markdown", "caption", "info", "success", "warning",
                 "error", "html", "expander"):
        for el in getattr(at, kind):
            parts.append(str(getattr(el, "label", "") or "") + " " + str(getattr(el, "value", "") or ""))
    return plain("\n".join(parts))


@pytest.fixture
def at() -> AppTest:
    """A fresh session of the app on its first page."""
    return run(AppTest.from_file(APP, default_timeout=30))


def client(at: AppTest) -> Workspace:
    ws = at.session_state["workspace_client"]
    assert isinstance(ws, Workspace)
    return ws


def step_of(kb: KnowledgeBase, qid: str, prefix: str = "q_") -> int:
    ws = Workspace("client" if prefix == "q_" else "self", prefix,
                   None if prefix == "q_" else "clinician_self")
    for i, (_, qs) in enumerate(form_steps(ws, kb)):
        if any(q.id == qid for q in qs):
            return i
    raise AssertionError(f"{qid} is on no step")


def set_answer(at: AppTest, kb: KnowledgeBase, qid: str, value: Answer | None, prefix: str = "q_") -> None:
    """Answer one question through the form: go to its step, then set its widget."""
    at.radio(key=f"{prefix}_step").set_value(step_of(kb, qid, prefix))
    run(at)
    q = kb.questions[qid]
    key = f"{prefix}{qid}"
    if q.kind == "integer":
        at.number_input(key=key).set_value(value)
    elif key in [r.key for r in at.radio]:
        at.radio(key=key).set_value("unknown" if value is None else value)
    else:
        at.selectbox(key=key).set_value("unknown" if value is None else value)
    run(at)


def upload(at: AppTest, name: str, content: bytes, which: str = "client") -> AppTest:
    goto(at, "case_io")
    if which != "client":
        at.radio(key="io_workspace").set_value(which)
        run(at)
    at.file_uploader(key=f"io_{which}_upload").upload(name, content, "application/octet-stream")
    return run(at)


def load_vignette(at: AppTest, v: Vignette) -> None:
    upload(at, f"{v.id}.json", json.dumps(v.case).encode())
    assert not at.error, [e.value for e in at.error]


def expected_label(kb: KnowledgeBase, v: Vignette) -> str:
    return kb.catalogue["spectrum"][v.expected("position")].label


# ---- pages -----------------------------------------------------------------------------------

@pytest.mark.parametrize("page", list(PAGES))
def test_every_page_renders_with_the_notice(at: AppTest, page: str) -> None:
    goto(at, page)
    assert [t.value for t in at.title] == [PAGES[page]]
    assert any("supports clinical judgment" in c.value for c in at.sidebar.caption)


def test_every_input_is_labelled_and_every_question_has_help_and_source(
        at: AppTest, kb: KnowledgeBase) -> None:
    steps = form_steps(Workspace("client", "q_"), kb)
    seen: set[str] = set()
    at.toggle(key="show_question_sources").set_value(True)
    run(at)
    for i, (_, questions) in enumerate(steps):
        at.radio(key="q__step").set_value(i)
        run(at)
        inputs = ("radio", "selectbox", "number_input", "date_input")
        widgets = {w.key: w for kind in inputs for w in getattr(at, kind)}
        captions = [plain(c.value) for c in at.caption]
        for q in questions:
            w = widgets[f"q_{q.id}"]
            assert w.label == q.prompt
            assert not w.help, "no help icon: it would be a tab stop of its own"
            assert any(q.source.quote in c for c in captions), q.id  # shown on request
            assert q.help in captions
            if q.section != "subject":
                assert w.value is None or w.value == "unknown", f"{q.id} does not start unknown"
            seen.add(q.id)
        for kind in ("radio", "selectbox", "number_input", "text_input", "text_area", "multiselect",
                     "date_input"):
            for w in getattr(at, kind):
                assert w.label.strip(), f"unlabelled {kind} {w.key}"
    assert seen == set(kb.questions), "every catalogue question is asked somewhere"


def test_progress_indicator_follows_steps_and_answers(at: AppTest, kb: KnowledgeBase) -> None:
    total = len(form_steps(Workspace("client", "q_"), kb)) + 1
    assert at.progress[0].text.startswith(f"Step 1 of {total}")
    at.button(key="q__next").click()
    run(at)
    assert at.progress[0].text.startswith(f"Step 2 of {total}")
    assert " 0 of " in at.progress[0].text
    set_answer(at, kb, "stressor", "ongoing")
    assert " 1 of " in at.progress[0].text
    at.button(key="q__back").click()
    run(at)
    assert at.progress[0].text.startswith(f"Step 1 of {total}")


def test_answers_survive_steps_pages_and_reruns(at: AppTest, kb: KnowledgeBase) -> None:
    choice = next(q for q in kb.questions.values() if q.section == "criteria")
    finding = next(q for q in kb.questions.values() if q.section == "findings")
    number = next(q for q in kb.questions.values() if q.kind == "integer" and not q.requires)
    set_answer(at, kb, choice.id, "no")
    set_answer(at, kb, finding.id, "present")
    set_answer(at, kb, number.id, 30)
    for page in PAGES:
        goto(at, page)
    goto(at, "assessment")
    run(at)
    for q, value in ((choice, "no"), (finding, "present"), (number, 30)):
        at.radio(key="q__step").set_value(step_of(kb, q.id))
        run(at)
        widget = at.number_input(key=f"q_{q.id}") if q.kind == "integer" else at.radio(key=f"q_{q.id}")
        assert widget.value == value
    assert client(at).answers[choice.id] == "no"
    # Back to unknown removes the answer.
    set_answer(at, kb, choice.id, None)
    assert choice.id not in client(at).answers


def test_requirement_disables_the_question_and_keeps_the_case_valid(at: AppTest, kb: KnowledgeBase) -> None:
    dependent = next(q for q in kb.questions.values() if q.requires)
    (other, allowed), = dependent.requires.items()
    blocked = next(o for o in kb.questions[other].allowed_options() if o not in allowed and o != "unknown")
    set_answer(at, kb, other, allowed[0])
    assert not at.number_input(key=f"q_{dependent.id}").disabled
    set_answer(at, kb, dependent.id, 26)
    set_answer(at, kb, other, blocked)
    assert at.number_input(key=f"q_{dependent.id}").disabled
    assert at.number_input(key=f"q_{dependent.id}").value == 26  # kept, not lost
    assert any("Only asked when" in c.value for c in at.caption)
    case, aside = build_case(client(at), kb)
    assert dependent.id not in case.answers and aside == [dependent.id]
    goto(at, "results")
    assert not at.error
    assert "Kept aside" in texts(at)


def test_invalid_case_id_is_named_and_nothing_breaks(at: AppTest) -> None:
    at.text_input(key="q__case_id").input("Jane Doe")
    run(at)
    assert any("pseudonymous" in e.value for e in at.error)
    goto(at, "results")
    assert any("case_id" in plain(e.value) for e in at.error)
    goto(at, "assessment")
    assert at.text_input(key="q__case_id").value == "Jane Doe"


# ---- results -----------------------------------------------------------------------------------

@pytest.mark.parametrize("v", PLACED, ids=lambda v: v.id)
def test_results_show_the_vignette_position_with_reasoning(
        at: AppTest, kb: KnowledgeBase, v: Vignette) -> None:
    load_vignette(at, v)
    goto(at, "results")
    label = expected_label(kb, v)
    assert f"Spectrum position: {label}" in [s.value for s in at.subheader]
    picture = "\n".join(h.value for h in at.html)
    position = kb.catalogue["spectrum"][v.expected("position")]
    assert isinstance(position, Position)
    if position.rank is not None:
        assert f"▲ This case: {label}" in picture
    else:
        assert f"Not placed: {label}" in picture
    assert 'role="img"' in picture and "aria-label" in picture
    body = texts(at)
    assert "Evidence for" in body and "Evidence against" in body
    expanders = [e.label for e in at.expander]
    assert f"How “{label}” was reached" in expanders
    assert "Why not another position" in expanders
    assert "What would change the spectrum position" in expanders
    assert any(x.startswith("Full reasoning") for x in expanders)
    assert "Reasoning graph for this case" in expanders
    assert at.get("graphviz_chart"), "the case's reasoning graph is drawn"
    report = client(at)._memo and next(iter(client(at)._memo.values())).report
    assert report is not None and report.spectrum.position == v.expected("position")
    for c in report.cautions:  # each caution as a card with its level in words
        assert any(c.title in el.value and el.value.startswith(f"**{c.level.capitalize()}")
                   for el in [*at.error, *at.warning, *at.info])
    for approach in {r.approach_label for r in report.recommendations}:
        assert f"##### {approach}" in [m.value for m in at.markdown]
    for rec in report.recommendations:
        assert any(rec.title in m.value and "*Pacing:*" in m.value for m in at.markdown)
    for ref in [f"driver.{d}" for d in report.drivers] + [f"origin.{o}" for o in report.origins]:
        assert f"How “{kb.entry(ref).label}” was reached" in expanders


def test_explanations_are_rendered_from_the_engine(at: AppTest, kb: KnowledgeBase) -> None:
    v = max(VIGNETTES, key=lambda v: len(v.case.get("findings", {})))
    load_vignette(at, v)
    goto(at, "results")
    report = next(iter(client(at)._memo.values())).report
    assert report is not None
    if not report.explanations:
        pytest.fail("the engine gave no explanations")
    body = texts(at)
    # why not: the reasons in words; what would change it: a change and a result; no engine words
    assert "was not reached" in body
    assert "✓ met" not in body and "answer given:" not in body
    if report.explanations["what_would_change"]["spectrum"]:
        assert "- If “" in body
    assert "Open questions" in [s.value for s in at.subheader]


# ---- case in and out -----------------------------------------------------------------------------

def test_save_and_load_round_trip_exactly(at: AppTest, kb: KnowledgeBase) -> None:
    v = max(VIGNETTES, key=lambda v: len(parse_case(v.case, kb).answers))
    load_vignette(at, v)
    goto(at, "assessment")
    at.text_input(key="q__case_id").input("RT-01")
    at.text_area(key="q__notes").input("Free notes: <b>not HTML</b> & *not markdown*")
    run(at)
    goto(at, "case_io")
    labels = [d.label for d in at.download_button]
    assert "Download the case (JSON)" in labels and "Download the case (YAML)" in labels
    assert "Download the report (Markdown)" in labels
    before = dict(client(at).answers)
    case, _ = build_case(client(at), kb)
    for fmt in ("json", "yaml"):
        saved = dump_case(case, fmt)  # what the download buttons offer
        upload(at, f"RT-01.{fmt}", saved.encode())
        assert any("Loaded" in s.value for s in at.success)
        assert client(at).answers == before
        assert client(at).case_id == "RT-01" and client(at).notes.startswith("Free notes")
        again, _ = build_case(client(at), kb)
        assert dump_case(again, fmt) == saved
        assert parse_text(saved, kb).answers == case.answers


@pytest.mark.parametrize("content, named", [
    (b"schema_version: 1\ntimeline: {stressor: [\n", "is not valid YAML"),
    (b'{"schema_version": 1, "criteria": {"situation_specific": "maybe"}}', "criteria.situation_specific"),
    (b"schema_version: 1\nfindings: {numbnes: present}\n", "findings.numbnes"),
    (b"schema_version: 1\nmeasures: {tas20_total: 500}\n", "measures.tas20_total"),
    (b"schema_version: 1\ntimeline: {stressor: ongoing, weeks_since_stressor_ended: 3}\n",
     "timeline.weeks_since_stressor_ended"),
    (b"\xff\xfe\x00binary", "not UTF-8"),
    (b"- just\n- a list\n", "case"),
])
def test_bad_upload_names_the_problem_and_keeps_the_answers(
        at: AppTest, kb: KnowledgeBase, content: bytes, named: str) -> None:
    set_answer(at, kb, "stressor", "ongoing")
    before = dict(client(at).answers)
    upload(at, "bad.yaml", content)
    errors = [e.value for e in at.error]
    assert errors and "not loaded" in errors[0] and named in plain(errors[0]), errors
    assert client(at).answers == before
    goto(at, "assessment")
    at.radio(key="q__step").set_value(step_of(kb, "stressor"))
    run(at)
    assert at.radio(key="q_stressor").value == "ongoing"


def test_report_formats_are_built_only_when_clicked(at: AppTest, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    real = render.render_markdown

    def counting(*args: Any, **kwargs: Any) -> str:
        calls.append("md")
        return real(*args, **kwargs)

    monkeypatch.setattr(render, "render_markdown", counting)
    goto(at, "case_io")
    goto(at, "results")
    assert calls == []
    from ui.downloads import report_formats

    report = next(iter(client(at)._memo.values())).report
    assert report is not None
    for label, _, _, build in report_formats(render_kb(), report, "a note"):
        data = build()
        assert data, label
    assert calls == ["md"]
    # a second download of the same report is served from the session's memory
    again = {label: build() for label, _, _, build in report_formats(render_kb(), report, "a note")}
    assert calls == ["md"] and all(again.values())


def render_kb() -> KnowledgeBase:
    from engine import default_knowledge_base

    return default_knowledge_base()


def test_self_check_file_is_refused_as_client_case_in_self_workspace(at: AppTest, kb: KnowledgeBase) -> None:
    upload(at, "client.yaml", b"schema_version: 1\nsubject: client\ncriteria: {situation_specific: 'no'}\n",
           which="self")
    assert any("not a self-check case file" in e.value for e in at.error)
    upload(at, "me.yaml", b"schema_version: 1\nsubject: clinician_self\nfindings: {numbness: present}\n",
           which="self")
    assert at.session_state["workspace_self"].answers == {"numbness": "present"}
    assert client(at).answers.get("numbness") is None


# ---- triage --------------------------------------------------------------------------------------

def _independent(kb: KnowledgeBase, answers: dict[str, Answer]) -> Any:
    """The report for these answers from an evaluator of the test's own (not the app's)."""
    from engine import assess, case_from_answers, new_evaluator

    given = {k: v for k, v in answers.items() if kb.questions[k].section != "subject"}
    return assess(case_from_answers(given, kb), new_evaluator(kb), explain=True)


def keys_in_order(at: AppTest) -> list[str]:
    """Widget keys in the order the page shows them."""
    out: list[str] = []

    def walk(node: Any) -> None:
        key = getattr(node, "key", None)
        if isinstance(key, str):
            out.append(key)
        for child in getattr(node, "children", {}).values():
            walk(child)

    walk(at.main)
    return out


def _widget(at: AppTest, key: str) -> Any:
    for kind in ("radio", "selectbox", "number_input"):
        if key in [w.key for w in getattr(at, kind)]:
            return getattr(at, kind)(key=key)
    raise AssertionError(f"no widget {key}")


def test_triage_asks_the_ranked_questions_and_updates(at: AppTest, kb: KnowledgeBase) -> None:
    from ui.triage import AT_ONCE

    v = next(v for v in VIGNETTES if v.expected("position") == "maladaptive")
    target = parse_case(v.case, kb).answers
    goto(at, "triage")
    asked: list[str] = []
    budget = client(at).triage_budget
    while True:
        report = _independent(kb, client(at).answers)
        assert f"Spectrum position: {report.spectrum.label}" in [s.value for s in at.subheader]
        stable = report.explanations["robustness"]["stable"]
        assert any(x.value.startswith("Stable:") for x in at.success) == stable
        assert any(x.value.startswith("Provisional:") for x in at.info) == (not stable)
        on_page = [k[2:] for k in keys_in_order(at) if k.startswith("q_")]
        assert on_page[:len(asked)] == asked, "questions answered here stay on the page"
        shown = on_page[len(asked):]
        given = client(at).answers
        ranked = [q.id for q in report.questions if q.needed and q.id not in given
                  and all(given.get(o) in allowed for o, allowed in kb.questions[q.id].requires.items())]
        assert shown == ranked[:min(AT_ONCE, budget - len(asked))]
        if not shown:
            break
        qid = shown[0]
        q = kb.questions[qid]
        value = target.get(qid) or (q.minimum if q.kind == "integer" else
                                    "absent" if q.section == "findings" else
                                    "no" if q.section == "criteria" else q.allowed_options()[0])
        _widget(at, f"q_{qid}").set_value(value)
        run(at)
        asked.append(qid)
        assert client(at).answers[qid] == value
        assert "Answered here" in [x.value for x in at.subheader]
    assert len(asked) == budget or not ranked
    if ranked:
        at.button(key="triage_more").click()
        run(at)
        assert client(at).triage_budget > budget


def test_triage_says_when_the_result_is_stable(at: AppTest, kb: KnowledgeBase) -> None:
    from engine import assess, new_evaluator

    ev = new_evaluator(kb)
    stable = [v for v in VIGNETTES
              if assess(parse_case(v.case, kb), ev, explain=True).explanations["robustness"]["stable"]]
    unstable = [v for v in VIGNETTES if v not in stable]
    if stable:
        load_vignette(at, stable[0])
        goto(at, "triage")
        assert any(s.value.startswith("Stable:") for s in at.success)
    load_vignette(at, unstable[0] if unstable else VIGNETTES[0])
    goto(at, "triage")
    assert any(i.value.startswith("Provisional:") for i in at.info) or not unstable
    assert stable or unstable


# ---- self-check ----------------------------------------------------------------------------------

def test_self_check_is_worded_for_the_clinician_and_kept_apart(at: AppTest, kb: KnowledgeBase) -> None:
    goto(at, "self_check")
    assert "self_q_subject" not in [r.key for r in at.radio], "the subject is fixed, not asked"
    worded = next(q for q in kb.questions.values() if q.prompt_self and q.section != "subject")
    at.radio(key="self_q__step").set_value(step_of(kb, worded.id, "self_q_"))
    run(at)
    widgets = {w.key: w for kind in ("radio", "selectbox", "number_input") for w in getattr(at, kind)}
    assert widgets[f"self_q_{worded.id}"].label == worded.prompt_self
    finding = next(q for q in kb.questions.values() if q.section == "findings")
    set_answer(at, kb, finding.id, "present", prefix="self_q_")
    assert at.session_state["workspace_self"].answers[finding.id] == "present"
    assert finding.id not in client(at).answers
    last = len(form_steps(at.session_state["workspace_self"], kb))
    at.radio(key="self_q__step").set_value(last)
    run(at)
    assert any(s.value.startswith("Spectrum position:") for s in at.subheader)
    report = next(iter(reversed(at.session_state["workspace_self"]._memo.values()))).report
    assert report.subject == "clinician_self"
    assert "Download the report (Markdown)" in [d.label for d in at.download_button]


# ---- learning ------------------------------------------------------------------------------------

def test_rule_catalogue_search_filters_and_graph(at: AppTest, kb: KnowledgeBase) -> None:
    goto(at, "catalogue")
    assert len(at.expander) == len(kb.rules)
    rule = kb.rules[0]
    at.text_input(key="cat_search").input(rule.title)
    run(at)
    assert 1 <= len(at.expander) < len(kb.rules) or len(kb.rules) == 1
    assert any(rule.title in e.label for e in at.expander)
    at.text_input(key="cat_search").input("")
    run(at)
    target = rule.then[0]
    at.multiselect(key="cat_concludes").set_value([target])
    run(at)
    assert len(at.expander) == len([r for r in kb.rules if target in r.then])
    body = texts(at)
    assert rule.source.quote in body or rule.title in body
    at.multiselect(key="cat_concludes").set_value([])
    at.multiselect(key="cat_sections").set_value([rule.source.section])
    run(at)
    assert len(at.expander) == len([r for r in kb.rules if r.source.section == rule.source.section])
    at.text_input(key="cat_search").input("zzzz-no-such-rule")
    run(at)
    assert "No rule matches these filters." in [m.value for m in at.markdown]


def test_inference_graph_overview_focus_and_listed(at: AppTest, kb: KnowledgeBase) -> None:
    from ui.catalogue import MAX_DETAILED
    from ui.graph import related_rules

    goto(at, "catalogue")
    charts = at.get("graphviz_chart")
    assert len(charts) == 1
    overview = charts[0].proto.spec
    used_steps = {kb.questions[c.answer].step for r in kb.rules for c in r.when if hasattr(c, "answer")}
    for step in kb.steps:
        assert (step.label in overview) == (step.id in used_steps), step.id
    at.radio(key="cat_graph_mode").set_value("focus")
    run(at)
    target = next(r for r in kb.rules if r.then[0].startswith("spectrum.")).then[0]
    at.selectbox(key="cat_graph_focus").set_value(target)
    run(at)
    dot = at.get("graphviz_chart")[0].proto.spec
    for rule in related_rules(kb, target):
        assert f'"rule:{rule.id}"' in dot
    assert f'"{target}" [penwidth=3' in dot
    at.radio(key="cat_graph_mode").set_value("listed")
    run(at)
    if len(kb.rules) > MAX_DETAILED:
        assert not at.get("graphviz_chart") and any("too many" in i.value for i in at.info)
    at.text_input(key="cat_search").input(kb.rules[0].title)
    run(at)
    assert f'"rule:{kb.rules[0].id}"' in at.get("graphviz_chart")[0].proto.spec


def test_training_prediction_first_then_reasoning_and_differences(at: AppTest, kb: KnowledgeBase) -> None:
    goto(at, "training")
    v = PLACED[0]
    at.selectbox(key="train_vignette").set_value(v.id)
    run(at)
    assert not [s for s in at.subheader if s.value.startswith("Spectrum position")], "no spoiler"
    wrong = next(p for p in kb.catalogue["spectrum"] if p != v.expected("position"))
    at.radio(key=f"train_{v.id}_spectrum").set_value(wrong)
    at.button(key=f"FormSubmitter:train_form_{v.id}-Commit my prediction").click()
    run(at)
    table = "\n".join(m.value for m in at.markdown)
    assert "✗ differs" in table
    assert f"Spectrum position: {expected_label(kb, v)}" in [s.value for s in at.subheader]
    for point in v.teaching_points:
        assert point in texts(at)
    at.button(key=f"train_{v.id}_again").click()
    run(at)
    at.radio(key=f"train_{v.id}_spectrum").set_value(v.expected("position"))
    at.button(key=f"FormSubmitter:train_form_{v.id}-Commit my prediction").click()
    run(at)
    assert "| Spectrum position |" in "\n".join(m.value for m in at.markdown)
    assert any("✓ same" in m.value for m in at.markdown)
    at.button(key=f"train_{v.id}_load").click()
    run(at)
    assert client(at).answers == {k: val for k, val in parse_case(v.case, kb).answers.items()}
    goto(at, "results")
    assert f"Spectrum position: {expected_label(kb, v)}" in [s.value for s in at.subheader]


# ---- privacy ---------------------------------------------------------------------------------------

def test_nothing_about_the_case_reaches_the_log(at: AppTest, kb: KnowledgeBase,
                                                 caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("DEBUG")
    at.text_input(key="q__case_id").input("LOG-4242")
    at.text_area(key="q__notes").input("quokka-secret-notes")
    run(at)
    load_vignette(at, VIGNETTES[-1])
    for page in PAGES:
        goto(at, page)
    upload(at, "bad.yaml", b"schema_version: 1\nnotes: quokka-secret-notes\nfindings: {x: 1}\n")
    assert "LOG-4242" not in caplog.text and "quokka-secret-notes" not in caplog.text
    assert repr(client(at)).startswith("Workspace(") and "LOG" not in repr(client(at))


def test_sessions_share_no_engine_and_no_case(kb: KnowledgeBase) -> None:
    a = run(AppTest.from_file(APP, default_timeout=30))
    b = run(AppTest.from_file(APP, default_timeout=30))
    load_vignette(a, VIGNETTES[0])
    goto(a, "results")
    goto(b, "results")
    assert "evaluator" not in a.session_state and "evaluator" not in b.session_state
    assert client(a).answers and client(b).answers != client(a).answers
    assert client(b).answers == {"subject": "client"} or client(b).answers == {}



def test_report_downloads_carry_the_escaped_notes_in_every_format(kb: KnowledgeBase) -> None:
    from engine import assess, parse_case
    from ui.downloads import report_formats

    report = assess(parse_case({"schema_version": 1, "findings": {"numbness": "present"}}, kb))
    built = {label: build() for label, _, _, build in report_formats(kb, report, "<b>note</b> & more")}
    assert set(built) == {"Markdown", "HTML", "PDF"}
    assert b"&lt;b&gt;note&lt;/b&gt; &amp; more" in built["HTML"]
    assert b"<b>note</b>" not in built["HTML"] and b"<b>note</b>" not in built["Markdown"]
    assert built["PDF"].startswith(b"%PDF")


def test_without_explanations_how_is_rebuilt_from_the_trace(
        at: AppTest, kb: KnowledgeBase, monkeypatch: pytest.MonkeyPatch) -> None:
    import engine.assessment

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("explanations unavailable")

    monkeypatch.setattr(engine.assessment, "add_explanations", broken)
    v = next(v for v in VIGNETTES if v.id == "bereaved_months_later")
    load_vignette(at, v)
    goto(at, "results")
    report = next(iter(client(at)._memo.values())).report
    assert report is not None and report.explanations == {}
    step = next(s for s in report.trace if s.asserted == ["spectrum.maladaptive"])
    label = kb.catalogue["spectrum"]["maladaptive"].label
    (how,) = [e for e in at.expander if e.label == f"How “{label}” was reached"]
    inside = "\n".join(m.value for m in how.markdown)
    assert step.title in inside  # the proof, rebuilt from the report's own trace
