"""Accessibility helpers for every page: readable contrast, a visible focus ring, focus moves.

Streamlit's default captions are grey (drawn at 60 % opacity) at about 3.3:1 on white; WCAG AA
asks 4.5:1 for text, so captions (help, the provisional position, "Only asked when...") are drawn
darker and opaque. Every control gets a visible focus ring, radio options included (their input
is visually hidden, so the ring goes on the label that holds the focused input).
"""

from __future__ import annotations

import json

import streamlit as st

INK_MUTED = "#374151"   # 10.3:1 on white
FOCUS = "#1d4ed8"       # 6.7:1 on white

STYLE = f"""<style>
[data-testid="stCaptionContainer"], [data-testid="stCaptionContainer"] p,
[data-testid="stWidgetLabel"] p, .stProgress p {{ color: {INK_MUTED} !important; }}
[data-testid="stCaptionContainer"] {{ opacity: 1 !important; }}
[data-testid="stSidebar"] [data-testid="stCaptionContainer"] p {{ color: {INK_MUTED} !important; }}
a:focus-visible, button:focus-visible, input:focus-visible, textarea:focus-visible,
select:focus-visible, [role="combobox"]:focus-visible, [tabindex]:focus-visible,
summary:focus-visible {{
  outline: 3px solid {FOCUS} !important; outline-offset: 2px !important;
}}
label:has(input[type="radio"]:focus-visible), label:has(input[type="checkbox"]:focus-visible) {{
  outline: 3px solid {FOCUS} !important; outline-offset: 2px; border-radius: 4px;
}}
h3[tabindex="-1"]:focus {{ outline: 3px solid {FOCUS}; outline-offset: 4px; }}
</style>"""


# Streamlit's sidebar navigation puts its section headers and items in <div>s directly inside
# its <ul>, which is not a valid list (axe: list, listitem). Each section becomes a labelled group
# of links instead; a MutationObserver keeps it so when the sidebar is drawn again.
NAV_FIX = """<script>
(function () {
  function fix() {
    const ul = document.querySelector('[data-testid="stSidebarNavItems"]');
    if (!ul) return;
    ul.setAttribute("role", "none");
    Array.from(ul.children).forEach((section, i) => {
      if (section.tagName === "LI") { section.setAttribute("role", "none"); return; }
      section.setAttribute("role", "group");
      const header = section.querySelector('[data-testid="stNavSectionHeader"]');
      if (header) {
        header.id = header.id || ("nav-section-" + i);
        section.setAttribute("aria-labelledby", header.id);
      }
      section.querySelectorAll("li").forEach((li) => li.setAttribute("role", "none"));
    });
  }
  fix();
  if (!window.__navFix) {
    window.__navFix = new MutationObserver(fix);
    window.__navFix.observe(document.body, {childList: true, subtree: true});
  }
})();
</script>"""


def page_style() -> None:
    """Add the accessibility style (and the navigation's list fix) to the page; nothing is fetched."""
    st.html(STYLE)
    st.html(NAV_FIX, unsafe_allow_javascript=True)


def focus_heading(label: str, nonce: int) -> None:
    """Scroll the page to its top and move keyboard focus to the heading `label` (a new step).

    `nonce` makes each call a new element, so the script runs again for every step change.
    """
    script = f"""<script data-nonce="{nonce}">
(function () {{
  const label = {json.dumps(label)};
  function go(tries) {{
    const heading = Array.from(document.querySelectorAll("h3")).find(
      (h) => h.textContent.trim() === label);
    const main = document.querySelector('[data-testid="stMain"]');
    if (main) main.scrollTo(0, 0);
    window.scrollTo(0, 0);
    if (heading) {{
      heading.setAttribute("tabindex", "-1");
      heading.focus({{preventScroll: true}});
    }} else if (tries > 0) {{
      setTimeout(() => go(tries - 1), 60);
    }}
  }}
  setTimeout(() => go(20), 30);
}})();
</script>"""
    st.html(script, unsafe_allow_javascript=True)
