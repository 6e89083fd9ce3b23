"""diarize._onset_run_look: a short run of the other voice (or of both) in the first ``onset_run_s`` of one
voice's speech after a pause goes back to that voice (planted labels); a run later in that speech, one
that ends in a pause and a long one are left; the turn tracker then finds no backchannel there and the
planted ones still (espeak mixed s0 with labels from the planted segments)."""
from __future__ import annotations

import numpy as np
import pytest

from prosody.engine.diarize import DiarizeConfig, _onset_run_look
from prosody.errors import ConfigError
from prosody.timebase import GRID
from tests.test_diarize_quiet_run import _diarization


def _planted():
    """10 ms frames. Voice 1 speaks 0-199, a pause 200-249; voice 0 from 250 (its onset) to 599 with
    A 270-294 both (0.20 s after the onset: its first syllables read as a mixture) and B 400-424 both
    (1.5 s after the onset: a backchannel over it); a pause 600-649; voice 0 650-679, C 680-704 voice 1
    (0.3 s after the onset) straight into a pause 705-749 (voice 1 speaks there: not inside voice 0's
    speech); voice 0 750-779, D 780-849 voice 1 (0.7 s: over ``onset_run_max_s``), voice 0 850-999;
    a pause 1000-1049; voice 0 1050-1089, E 1090-1114 voice 1 (0.40 s after the onset), voice 0 to 1199."""
    n = 1200
    speech = np.ones(n, bool)
    owner = np.zeros(n, np.int8)
    for a, b in ((200, 250), (600, 650), (705, 750), (1000, 1050)):
        speech[a:b] = False
    owner[:225] = 1
    for a, b, k in ((270, 295, 2), (400, 425, 2), (680, 728, 1), (780, 850, 1), (1090, 1115, 1)):
        owner[a:b] = k
    return owner, speech


def test_a_run_just_after_the_holders_onset_goes_to_the_holder():
    owner, speech = _planted()
    d = _onset_run_look(_diarization(owner, speech), DiarizeConfig(), GRID, {"speech": speech})
    assert np.all(d.owner[270:295] == 0)  # A: 0.20 s after voice 0's onset
    assert np.all(d.owner[400:425] == 2)  # B: 1.5 s after it
    assert np.all(d.owner[680:728] == 1)  # C: ends in a pause
    assert np.all(d.owner[780:850] == 1)  # D: too long
    assert np.all(d.owner[1090:1115] == 1)  # E: 0.40 s after the onset
    assert np.array_equal(np.delete(d.owner, np.s_[270:295]), np.delete(owner, np.s_[270:295]))
    assert np.array_equal(d.activity, np.stack([speech & (d.owner != 1), speech & (d.owner != 0)], axis=1))
    assert d.voice_share[1] == pytest.approx(d.activity[:, 1].sum() / speech.sum())


def test_onset_run_reach_and_off_switch():
    owner, speech = _planted()
    d0 = _diarization(owner, speech)
    assert _onset_run_look(d0, DiarizeConfig(onset_run_s=0.0), GRID, {"speech": speech}) is d0
    d = _onset_run_look(d0, DiarizeConfig(onset_run_s=0.45), GRID, {"speech": speech})
    assert np.all(d.owner[1090:1115] == 0)  # E within 0.45 s
    d = _onset_run_look(d0, DiarizeConfig(onset_run_max_s=0.8), GRID, {"speech": speech})
    assert np.all(d.owner[780:850] == 0)  # D (0.3 s after the onset) taken with a longer limit
    with pytest.raises(ConfigError):
        DiarizeConfig(onset_run_s=-0.1).validate()
    with pytest.raises(ConfigError):
        DiarizeConfig(onset_run_max_s=0.0).validate()


def test_a_turn_start_read_as_both_is_no_backchannel(needs_espeak):
    """Planted truth (tune split voices, espeak mixed s0, mono): labels from the planted segments, then
    0.25 s of both voices 0.2 s into a turn that starts after a pause and a change of speaker, as the
    diarizer gave fresh10's AMI trn06 s50 shared (15.47 s) and fresh14's turns s162 mono (27.58 s)
    (docs/speakers.md, fifty-seventh round). The turn tracker reads the run as the previous speaker's
    backchannel; after the look the run is the new speaker's, no backchannel is found there, and the
    three planted backchannels and the planted failed interruption are still found."""
    from tests.conftest import match_events
    from tests.dialogue import CLIENT, THERAPIST
    from tests.test_diarize_quiet_run import _events, _mixed_dialogue
    x, truth, t, owner, speech, ms = _mixed_dialogue(0, 0.0)
    # the first turn after a pause of >= 0.3 s and a change of speaker, 1 s or more of one voice alone
    for tr in truth["transitions"]:
        on = int(round(tr["to_start_s"] / 0.01))
        k = (THERAPIST, CLIENT).index(tr["to_speaker"])
        if (tr["offset_s"] >= 0.3 and speech[on:on + 100].all() and np.all(owner[on:on + 100] == k)
                and not speech[on - 1]):
            break
    else:
        pytest.fail("no turn after a pause in the dialogue")
    a, b = on + 20, on + 45
    planted = owner.copy()
    planted[a:b] = 2
    listener = (THERAPIST, CLIENT)[1 - k]

    def at_plant(evs):
        return [e for e in evs if e["speaker"] == listener and e["end_s"] > a * 0.01 - 0.3 and e["start_s"] < b * 0.01 + 0.3]

    bcs = [e for e in truth["events"] if e["kind"] == "backchannel"]
    fis = [e for e in truth["events"] if e["kind"] == "failed_interruption"]
    assert len(bcs) == 3 and len(fis) == 1
    before = _events(x, planted, speech)
    assert [e["kind"] for e in at_plant(before)] == ["backchannel"], before  # the planted error is real
    d = _onset_run_look(_diarization(planted, speech), DiarizeConfig(), GRID, {"speech": speech})
    assert np.array_equal(d.owner, owner)  # the run is the new speaker's again, nothing else moved
    after = _events(x, d.owner, speech)
    assert at_plant(after) == []
    assert match_events([e for e in after if e["kind"] == "backchannel"], bcs) == []
    assert match_events([e for e in after if e["kind"] == "failed_interruption"], fis) == []
