"""Plate text: cleaning reads, the vote across reads, the search key and the fuzzy match."""

from __future__ import annotations

import pytest

from detection.plates.text import clean_read, display, match_distance, normalise, normalise_query, vote


def test_normalise_drops_case_spaces_and_separators() -> None:
    assert normalise("黑a·123 45") == "黑A12345"
    assert normalise("34a-368.37") == "34A36837"
    assert normalise("ＡＢ１２３") == "AB123"  # full-width forms, as some keyboards type them
    assert normalise("皖A:4X315") == normalise("皖A.4X315") == normalise("皖A 4X315") == "皖A4X315"


def test_display_forms() -> None:
    assert display("黑A12345") == "黑A·12345"
    assert display("34A36837", printed="34A-368.37") == "34A-368.37"
    assert display("34A36837", printed="34A-368.31") == "34A36837"  # a printed form of another plate is not used


@pytest.mark.parametrize(("raw", "expected"), [
    ("皖A·195K9", "皖A195K9"),
    ("皖云A·4X315", "云A4X315"),   # a sticker read before the province: the character next to the letters stays
    ("A-DE022", "ADE022"),
    ("粤B·1234警", "粤B1234警"),    # a police plate's suffix stays
    ("口", None),
    ("EANKE", None),               # no digits: a word, not a plate
    ("", None),
])
def test_clean_read(raw: str, expected: str | None) -> None:
    assert clean_read(raw) == expected


def test_vote_takes_each_character_from_the_reads_of_the_agreed_length() -> None:
    reads = [("新H·33327", 0.93), ("浙H33327", 0.88), ("新H·33321", 0.60), ("H3327", 0.80), ("新H·33327", 0.90)]
    agreed = vote(reads)
    assert agreed is not None
    assert agreed.norm == "新H33327"
    assert agreed.text == "新H·33327"
    assert agreed.reads == 5
    # Every read of five body characters agrees on four of them; the short read ("H3327") is not aligned.
    assert 0.5 < agreed.score < 1.0


def test_vote_fixes_a_character_one_read_got_wrong() -> None:
    agreed = vote([("34A-368.37", 0.9), ("34A-368.31", 0.7), ("34A-868.37", 0.6)])
    assert agreed is not None and agreed.norm == "34A36837" and agreed.text == "34A-368.37"


def test_vote_of_agreeing_reads_scores_higher_than_of_disagreeing_ones() -> None:
    same = vote([("晋A·P186W", 0.95), ("晋A·P186W", 0.95)])
    mixed = vote([("晋A·P186W", 0.95), ("晋A·P18GW", 0.95)])
    assert same is not None and mixed is not None and same.score > mixed.score


def test_vote_of_nothing_legible_is_none() -> None:
    assert vote([]) is None
    assert vote([("", 0.0), ("®", 0.23)]) is None


def test_province_is_optional_in_a_query() -> None:
    plate = "黑A12345"
    assert match_distance(normalise_query("a12345"), plate) == 0
    assert match_distance(normalise_query("黑A·12345"), plate) == 0
    assert match_distance(normalise_query("A-123 45"), plate) == 0
    # Given, the province counts like any character: a wrong one is the one tolerated error.
    assert match_distance(normalise_query("吉A12345"), plate) == 1
    assert match_distance(normalise_query("吉A12346"), plate) is None


def test_one_wrong_character_for_queries_of_five_or_more() -> None:
    plate = "川A35D98"
    assert match_distance(normalise_query("A35098"), plate) == 1      # substituted
    assert match_distance(normalise_query("A3598"), plate) == 1       # one missing
    assert match_distance(normalise_query("A350988"), plate) is None  # two off
    assert match_distance(normalise_query("A36098"), plate) is None   # two wrong
    # Four characters: exact only.
    assert match_distance(normalise_query("35D9"), "35D9") == 0
    assert match_distance(normalise_query("35D8"), "35D9") is None


def test_wildcard_matches_any_one_character() -> None:
    plate = "浙FEQ635"
    assert match_distance(normalise_query("FE?635"), plate) == 0
    assert match_distance(normalise_query("F??635"), plate) == 0
    assert match_distance(normalise_query("F?Q6"), "FEQ6") == 0
    # A wildcard still fills one place: with a wrong character as well it is the one tolerated error.
    assert match_distance(normalise_query("FE?636"), plate) == 1


def test_a_latin_plate_matches_without_its_separators() -> None:
    assert match_distance(normalise_query("34a 368 37"), "34A36837") == 0
    assert match_distance(normalise_query("34A36837"), "云A4X315") is None
