"""Streamlit views: one module per page, plus small presentation helpers.

Data flows one way: knowledge_base -> engine -> ui. Nothing here decides anything clinical;
every id, prompt and text shown comes from the knowledge base or the engine's report.
"""
