"""Browsers without custom properties (NetSurf, old phones) drop a whole
declaration that uses `var()`, even with a fallback inside it: the buttons,
the header and the focus rings would vanish there. Every such declaration
follows the same property with a plain value, which those browsers keep."""

from __future__ import annotations

import tinycss2

from app.settings import ROOT

STYLESHEET = ROOT / "static" / "app.css"


def _uses_var(tokens) -> bool:
    for token in tokens:
        if token.type == "function" and (token.lower_name == "var" or _uses_var(token.arguments)):
            return True
        if token.type in ("() block", "[] block", "{} block") and _uses_var(token.content):
            return True
    return False


def _blocks(rules, where: str = ""):
    """Each block of declarations, with the selector (and conditions) it is under."""
    for rule in rules:
        if rule.type == "qualified-rule":
            selector = tinycss2.serialize(rule.prelude).strip()
            yield f"{where}{selector}", tinycss2.parse_blocks_contents(rule.content, True, True)
        elif rule.type == "at-rule" and rule.content is not None:
            condition = f"{where}@{rule.lower_at_keyword} {tinycss2.serialize(rule.prelude).strip()} > "
            yield from _blocks(tinycss2.parse_rule_list(rule.content, True, True), condition)


def _unprotected(css: str) -> list[str]:
    found = []
    for selector, items in _blocks(tinycss2.parse_stylesheet(css, True, True)):
        declarations = [d for d in items if d.type == "declaration"]
        for before, declaration in zip([None, *declarations], declarations, strict=False):
            if declaration.lower_name.startswith("--") or not _uses_var(declaration.value):
                continue
            plain = before is not None and before.lower_name == declaration.lower_name and not _uses_var(before.value)
            if not plain:
                found.append(
                    f"{selector} {{ {declaration.lower_name}: {tinycss2.serialize(declaration.value).strip()} }}"
                )
    return found


def test_every_custom_property_follows_a_plain_value_old_browsers_keep():
    css = STYLESHEET.read_text()
    assert "var(" in css  # the stylesheet does use custom properties
    assert _unprotected(css) == []


def test_the_check_finds_a_declaration_without_its_plain_value():
    css = """
    .a { color: #123; color: var(--ink); }
    .b { background: var(--green); }
    @media (min-width: 48rem) { .c { border: 1px solid var(--line); } }
    .d { color: #123; padding: 0; color: var(--ink); }
    """
    assert _unprotected(css) == [
        ".b { background: var(--green) }",
        "@media (min-width: 48rem) > .c { border: 1px solid var(--line) }",
        ".d { color: var(--ink) }",
    ]
