"""Interoperability: the question catalogue as a FHIR R4B Questionnaire, QuestionnaireResponse <->
case file, and a CDS Hooks 2.0 service (FastAPI on uvicorn) whose cards come from `engine.assess`.

service/ calls engine/, never the reverse; it holds no clinical content: the items, options,
cards and their wording all come from the knowledge base and the report.
"""
