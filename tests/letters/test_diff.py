"""The readable diff between two letter texts: what it marks, and that it escapes everything."""

from __future__ import annotations

from signatory.letters.diff import compare, flowed, normalise, to_html, to_text


def test_identical_texts_have_no_changes():
    text = "First paragraph.\n\nSecond paragraph."
    assert not compare(text, text).changed


def test_line_endings_and_trailing_space_are_not_changes():
    assert not compare("One.\n\nTwo.\n", "One.\r\n\r\nTwo.  \r\n").changed


def test_a_changed_word_is_marked_inside_its_paragraph():
    result = compare("We ask the Committee to act.", "We urge the Committee to act.")
    assert to_text(result) == "We [-ask-]{+urge+} the Committee to act."


def test_neighbouring_changed_words_read_as_one_change():
    result = compare("The quick brown fox.", "The slow red fox.")
    assert to_text(result) == "The [-quick brown-]{+slow red+} fox."


def test_a_changed_comma_is_shown_as_punctuation_not_a_changed_word():
    result = compare("Open, fair and public.", "Open; fair and public.")
    assert to_text(result) == "Open[-,-]{+;+} fair and public."


def test_an_added_paragraph_is_a_whole_block_beside_an_edited_one():
    result = compare("Keep.\n\nDrop this.", "Keep.\n\nAdd this.\n\nAnd this.")
    assert [block.status for block in result.blocks] == ["same", "changed", "added"]
    assert to_text(result) == "Keep.\n\n[-Drop-]{+Add+} this.\n\n{+And this.+}"


def test_a_removed_paragraph_is_a_whole_block():
    result = compare("One.\n\nTwo is going.\n\nThree.", "One.\n\nThree.")
    assert [block.status for block in result.blocks] == ["same", "removed", "same"]
    assert to_text(result) == "One.\n\n[-Two is going.-]\n\nThree."


def test_a_split_paragraph_pairs_its_first_half_and_adds_the_second():
    result = compare(
        "We ask the Committee to open its sessions to observers.",
        "We ask the Committee to open its sessions.\n\nObservers must be admitted.",
    )
    assert [block.status for block in result.blocks] == ["changed", "added"]


def test_an_unrelated_rewrite_is_shown_as_removed_then_added():
    result = compare("Alpha beta gamma.", "Completely different wording here!")
    assert [block.status for block in result.blocks] == ["removed", "added"]


def test_html_marks_changes_with_ins_and_del():
    html = str(to_html(compare("We ask.", "We urge.")))
    assert "<del>ask</del><ins>urge</ins>" in html
    assert 'class="diff-block diff-changed"' in html


def test_markup_in_the_text_is_escaped_never_raw():
    old = "Plain text."
    new = 'Plain <script>alert("x")</script> <img src=x onerror=alert(1)> text.'
    html = str(to_html(compare(old, new)))
    assert "<script" not in html
    assert "<img" not in html
    assert "&lt;script&gt;" in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html


def test_markup_in_unchanged_and_removed_text_is_escaped_too():
    old = "<b>kept</b>\n\n<i>gone entirely, nothing alike</i>"
    new = "<b>kept</b>\n\nZzz qqq."
    html = str(to_html(compare(old, new)))
    assert "<b>" not in html and "<i>" not in html
    assert "&lt;b&gt;kept&lt;/b&gt;" in html
    assert "&lt;i&gt;gone" in html


def test_email_html_uses_inline_styles_and_no_classes():
    html = str(to_html(compare("We ask.", "We urge."), email=True))
    assert "class=" not in html
    assert '<ins style="' in html and '<del style="' in html


def test_shortened_comparison_replaces_far_unchanged_paragraphs_with_a_gap():
    old = "\n\n".join(f"Paragraph {n}." for n in range(1, 8))
    new = old.replace("Paragraph 7.", "Paragraph seven.")
    text = to_text(compare(old, new), context=1)
    assert text.startswith("[… 5 unchanged paragraphs …]")
    assert "Paragraph 6." in text
    assert "Paragraph 1." not in text


def test_line_breaks_inside_a_paragraph_become_br_in_html():
    html = str(to_html(compare("1. One\n2. Two", "1. One\n2. Three")))
    assert "<br>" in html


def test_normalise_keeps_leading_indentation():
    assert normalise("    code\r\n") == "    code"


WRAPPED_OLD = """We, the undersigned organizations, ask the Committee to keep the
safeguards of Article 6 in the draft convention, and to hear civil
society before every reading."""
WRAPPED_NEW = """We, the undersigned organizations, urge the Committee to keep the
safeguards of Article 6 in the draft convention, and to hear civil
society before every reading."""


def test_a_hard_wrapped_paragraph_is_compared_and_shown_as_one_flowing_line():
    result = compare(WRAPPED_OLD, WRAPPED_NEW)
    html = str(to_html(result))

    assert "<br>" not in html
    assert to_text(result) == (
        "We, the undersigned organizations, [-ask-]{+urge+} the Committee to keep the "
        "safeguards of Article 6 in the draft convention, and to hear civil society "
        "before every reading."
    )


def test_a_paragraph_only_rewrapped_is_not_a_change():
    rewrapped = "We, the undersigned\norganizations, ask the Committee to keep the safeguards"
    assert not compare(
        "We, the undersigned organizations, ask the\nCommittee to keep the safeguards", rewrapped
    ).changed


def test_breaks_that_mean_something_are_kept():
    # List items and quotes start their own lines; a continuation line of an item flows.
    assert flowed("We ask:\n- one\n  more\n* two\n3) three\n> quoted") == (
        "We ask:\n- one more\n* two\n3) three\n> quoted"
    )
    # A hard break (two trailing spaces, or a backslash) stays.
    assert flowed("Signed  \nGeneva\\\nAugust") == "Signed  \nGeneva\\\nAugust"
    # Code keeps every line.
    assert flowed("```\na\nb\n```") == "```\na\nb\n```"
    assert flowed("    a = 1\n    b = 2") == "    a = 1\n    b = 2"
    assert flowed("# Title\ntext") == "# Title\ntext"
