"""Streamlit front end (thin): collects a case, calls the engine, shows the reasoning."""

from __future__ import annotations

import streamlit as st

from engine import CaseError, KnowledgeBaseError, assess, default_knowledge_base, new_evaluator, parse_text
from engine.render import NOTICE

st.set_page_config(page_title="Emotional detachment CDS", layout="wide")
st.title("Emotional detachment: clinical decision support")
st.info(NOTICE)

try:
    kb = default_knowledge_base()
except KnowledgeBaseError as exc:
    st.error("The knowledge base is broken; no advice can be given until it is fixed.")
    st.code("\n".join(exc.lines()))
    st.stop()

if "evaluator" not in st.session_state:
    st.session_state["evaluator"] = new_evaluator(kb)  # one engine per session, never shared

text = st.text_area("Case file (YAML or JSON, schema_version: 1)", key="case_text", height=300)
if st.button("Assess", key="assess") and text.strip():
    try:
        case = parse_text(text, kb)
    except CaseError as exc:
        st.error("The case is invalid; nothing was assessed:\n\n" + "\n".join(f"- {x}" for x in exc.lines()))
    else:
        report = assess(case, st.session_state["evaluator"])
        st.subheader(f"Spectrum position: {report.spectrum.label}")
        st.json(report.to_json_dict(), expanded=False)
