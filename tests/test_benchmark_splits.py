"""benchmarks/diarization.py's splits are whole and the held-back fresh15 holds voices no other list has (gen90);
benchmarks/diarization_single.py's ``--voices-of`` makes each of a split's voices alone, as the split specifies it."""
from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

import diarization as B  # noqa: E402


def test_every_split_defined_in_every_table():
    for table in (B.VOICE_PAIRS, B.AMI_DIALOGUE_FILES, B.AMI_SEEDS, B.SPLIT_RNG):
        assert set(table) == set(B.SEEDS)
    assert len(set(B.SPLIT_RNG.values())) == len(B.SPLIT_RNG)  # each split its own room draws


def test_fresh15_held_back():
    assert B.SEEDS["fresh15"] == [170, 171, 172, 173, 174, 175]
    others = {s for sp, seeds in B.SEEDS.items() if sp != "fresh15" for s in seeds}
    assert not others & set(B.SEEDS["fresh15"])
    ami_used = {s for sp, seeds in B.AMI_SEEDS.items() if sp != "fresh15" for s in seeds}
    assert not ami_used & set(B.AMI_SEEDS["fresh15"])
    voices = {B.voice_spec(v)[0] for pair in B.VOICE_PAIRS["fresh15"] for v in pair}
    assert len(voices) == 8
    # no other file of benchmarks/ or tests/ names any of its voices (espeak voice + variant)
    for path in list((ROOT / "benchmarks").glob("*.py")) + list((ROOT / "tests").glob("*.py")):
        if path.name in ("diarization.py", Path(__file__).name):
            continue
        text = path.read_text()
        assert not [v for v in voices if re.search(re.escape(v) + r"\b", text)], path.name
    for sp, pairs in B.VOICE_PAIRS.items():
        if sp != "fresh15":
            assert not voices & {B.voice_spec(v)[0] for pair in pairs for v in pair}, sp


def test_voices_of_a_split_alone():
    pytest.importorskip("diarization_single")
    import diarization_single as S
    cases = S.own_voice_cases("fresh15")
    name, x, truth = next(cases)
    assert truth is None
    assert name.startswith("one en-gb-x-gbcwmd+belinda r0 ")
    dur = float(re.search(r" (\d+)s gap<", name).group(1))
    assert x.ndim in (1, 2) and len(x) / 16000 >= dur - 1  # the monologue's drawn length, at least
