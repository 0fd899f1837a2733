"""Text from commits and models, made inert: checked with a real GFM renderer (cmark-gfm, GitHub's own).

GitHub turns `@name` into a ping in any rendered text that is not inside a link, code or pre element;
the checks below look for the same, a little more strictly than GitHub does.
"""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from patchpush.notes.render import safe_text
from tests.hostile_checks import markdown_problems, rendered


def assert_inert(markdown: str) -> None:
    assert markdown_problems(markdown) == [], markdown


# (Split from one string: a literal list of fifty one-character strings reads worse.)
_MARKDOWN = r"""` `` ``` \ @ @alice @octo-org/team < > <b> </b> ![ ! [ ] ( ) x.png * _ & &#64; &#x40;
    &commat; &lt; &#x200B; a foo é www. .com www.x.com/ https://a.b/ ftp:// mailto: a.b@c.d http://
    <http://x> #1 : | - 1. ~ ~~ \@bob \` \\""".split()  # noqa: SIM905
_PIECES = st.sampled_from(
    [*_MARKDOWN, " ", "\n", "\t", "\u202e", "\u200b", "\u2066", "\ufeff", "<img src=x>"]
)
hostile_text = st.one_of(st.lists(_PIECES, max_size=24).map("".join), st.text(max_size=60))


@given(hostile_text)
def test_safe_text_renders_inert_in_a_list_item_a_heading_and_a_paragraph(text: str) -> None:
    made_safe = safe_text(text)
    assert "\n" not in made_safe
    for markdown in (f"- {made_safe} ([#1](https://github.com/o/r/pull/1))", f"## {made_safe}", made_safe):
        assert_inert(markdown)


@given(hostile_text)
def test_safe_text_is_idempotent(text: str) -> None:
    once = safe_text(text)
    assert safe_text(once) == once


@given(st.lists(st.sampled_from(["a", "b", "<", "@x", " ", "&"]), max_size=12).map("".join))
def test_code_spans_print_what_the_commit_wrote(code: str) -> None:
    code = " ".join(code.split())  # one line: safe_text folds whitespace, in code too
    if not code:
        return
    page = rendered(safe_text(f"use `{code}` now"))
    assert "".join(page.all_text).strip() == f"use {code} now"


def test_an_odd_number_of_backticks_does_not_unfence_a_mention() -> None:
    for text in ("a ` b @alice", "`@alice", "``@alice`", "fix `x` @alice ` y", "@bob@alice", "`x`@alice"):
        assert_inert(f"- {safe_text(text)}")


def test_common_text_is_left_as_written() -> None:
    assert safe_text("feat(api): add users endpoint -> faster") == "feat(api): add users endpoint -> faster"
    assert safe_text("fix `Vec<T>` parsing") == "fix `Vec<T>` parsing"
    assert safe_text("mail me at dev@example.com") == "mail me at dev@example.com"
    assert safe_text("thanks @alice") == "thanks `@alice`"
    assert safe_text("a <b>bold</b> claim") == "a &lt;b>bold&lt;/b> claim"
    assert safe_text("&#64;erin &amp; &lt;") == "&amp;#64;erin &amp; &lt;"


def test_bidi_and_zero_width_characters_are_removed_but_emoji_and_persian_joiners_stay() -> None:
    assert safe_text("admin\u202e\u2066txt.exe\u200b") == "admintxt.exe"
    family = "\U0001f468\u200d\U0001f469\u200d\U0001f467"
    assert safe_text(f"for the {family}") == f"for the {family}"
    assert (
        safe_text("\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645")
        == "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645"
    )
    assert safe_text("ASCII\U000e0041\U000e0042 smuggling") == "ASCII smuggling"


def test_a_long_text_is_clipped_to_one_changelog_line() -> None:
    clipped = safe_text("word " * 100_000)
    assert len(clipped) <= 1002 and clipped.endswith(" …")
