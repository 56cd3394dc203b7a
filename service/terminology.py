"""Canonical URLs and codes: the local code systems, and the HL7 codes used where HL7 has them.

The local URLs live under one base that names no real host (`.example` is reserved, RFC 2606):
replace `CANONICAL_BASE` when the Questionnaire is published under an organisation's own domain.
"""

from __future__ import annotations

from typing import Final

from engine.knowledge import UNKNOWN

CANONICAL_BASE: Final = "https://detachment-cds.example/fhir"
QUESTIONNAIRE_URL: Final = f"{CANONICAL_BASE}/Questionnaire/case"
CASE_ID_SYSTEM: Final = f"{CANONICAL_BASE}/NamingSystem/case-id"
SOURCE_EXTENSION: Final = f"{CANONICAL_BASE}/StructureDefinition/source"
PROMPT_SELF_EXTENSION: Final = f"{CANONICAL_BASE}/StructureDefinition/prompt-self"

# FHIR and SDC extensions for question items.
MIN_VALUE: Final = "http://hl7.org/fhir/StructureDefinition/minValue"
MAX_VALUE: Final = "http://hl7.org/fhir/StructureDefinition/maxValue"
REGEX: Final = "http://hl7.org/fhir/StructureDefinition/regex"
ITEM_CONTROL: Final = "http://hl7.org/fhir/StructureDefinition/questionnaire-itemControl"
ITEM_CONTROL_SYSTEM: Final = "http://hl7.org/fhir/questionnaire-item-control"
ENABLE_WHEN_EXPRESSION: Final = (
    "http://hl7.org/fhir/uv/sdc/StructureDefinition/sdc-questionnaire-enableWhenExpression")

# HL7's yes / no / don't know (the R4B value set http://hl7.org/fhir/ValueSet/yesnodontknow:
# v2-0136 Y and N, and data-absent-reason asked-unknown). FHIR's boolean cannot say unknown.
V2_0136: Final = "http://terminology.hl7.org/CodeSystem/v2-0136"
DATA_ABSENT_REASON: Final = "http://terminology.hl7.org/CodeSystem/data-absent-reason"
HL7_OPTION_CODES: Final[dict[str, tuple[str, str, str]]] = {
    "yes": (V2_0136, "Y", "Yes"),
    "no": (V2_0136, "N", "No"),
    UNKNOWN: (DATA_ABSENT_REASON, "asked-unknown", "Don't know"),
}

# CDS Hooks override reasons: HL7's non-adherence reason codes (see override_reasons.json).
NON_ADHERENCE_SYSTEM: Final = "http://terminology.hl7.org/CodeSystem/non-adherence-reason-codes"


def option_system(question_id: str) -> str:
    """The local code system of one question's options (options mean different things per question)."""
    return f"{CANONICAL_BASE}/CodeSystem/{question_id}"
