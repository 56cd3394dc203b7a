"""Detachment CDS engine: case model, knowledge base, experta inference, reports.

The engine holds no clinical content; all of it lives in `knowledge_base/`.
"""

from engine.assessment import assess, new_evaluator
from engine.case import Case, case_from_answers, dump_case, parse_case, parse_text, read_case
from engine.errors import CaseError, KnowledgeBaseError, Problem
from engine.kb_loader import KnowledgeBase, default_knowledge_base, load
from engine.report import Report
from engine.version import ENGINE_VERSION

__all__ = [
    "ENGINE_VERSION",
    "Case",
    "CaseError",
    "KnowledgeBase",
    "KnowledgeBaseError",
    "Problem",
    "Report",
    "assess",
    "case_from_answers",
    "default_knowledge_base",
    "dump_case",
    "load",
    "new_evaluator",
    "parse_case",
    "parse_text",
    "read_case",
]
