"""A split in two that its evidence does not carry is said to be unsure, not given as two voices
(``diarize.split_unsure``, ``Diarization.unsure``): its second voice too small to measure how far
apart the two lie, frame models that hear no second voice, speech under ``unsure_below_db`` over
the noise. The speech is kept as one voice; a warning, the method and the JSON say so. Planted
figures, and AMI dev01's two men placed as turns in planted pink noise (the split mixes them);
docs/speakers.md, forty-first round."""
from __future__ import annotations

import numpy as np
import pytest

from prosody.engine.diarize import DiarizeConfig, Diarization, as_unsure, diarize, split_unsure

CFG = DiarizeConfig()
NAN = float("nan")


def _planted(*, se=NAN, gain=-0.2, son=15.0, share=0.1, n_voices=2, n=1000) -> Diarization:
    """Two voices on a planted path: speech in frames 100-899, the second voice the last ``share``
    of it, pauses elsewhere."""
    speech = np.zeros(n, bool)
    speech[100:900] = True
    cut = 900 - int(round(800 * share))
    owner = np.zeros(n, np.int8)
    owner[cut:] = 1
    act = np.stack([speech & (owner == 0), speech & (owner == 1)], axis=1)
    cents = np.eye(2, 256, dtype=np.float32)
    return Diarization(n_voices=n_voices, activity=act, owner=owner, centroids=cents, separation=0.32,
                       voice_share=(1.0 - share, share), separation_se=se, model_gain=gain,
                       speech_over_noise_db=son)


def test_a_small_second_voice_the_frame_models_do_not_hear_in_noise_is_unsure():
    assert split_unsure(_planted(), CFG)


@pytest.mark.parametrize("why,kw", [
    ("the separation's error measured: the second voice has windows of its own", {"se": 0.02}),
    ("the frame models hear a second voice", {"gain": 0.3}),
    ("the gain not measured", {"gain": NAN}),
    ("a voice too small to model (-inf): no word from the frame models", {"gain": -np.inf}),
    ("speech clear of the noise", {"son": 30.0}),
    ("the noise not measured", {"son": NAN}),
    ("one voice already", {"n_voices": 1}),
])
def test_a_split_is_not_unsure_without_all_its_evidence_against_it(why, kw):
    assert not split_unsure(_planted(**kw), CFG), why


def test_off_at_zero_db():
    assert not split_unsure(_planted(son=5.0), DiarizeConfig(unsure_below_db=0.0))


def test_the_unsure_split_keeps_its_speech_as_one_voice_and_its_figures():
    d = _planted(share=0.1)
    u = as_unsure(d)
    assert u.unsure and not d.unsure
    assert u.n_voices == 1 and np.array_equal(u.speech, d.speech) and not u.activity[:, 1].any()
    assert not u.owner.any() and u.voice_share == (1.0, 0.0)
    assert u.unsure_share == pytest.approx(0.1) and u.separation == d.separation
    assert np.isnan(u.separation_se) and u.model_gain == d.model_gain and u.centroids.shape == (1, 256)


def test_attribution_says_unsure_in_its_warning_method_and_json(monkeypatch):
    """The attribution of an unsure split: one voice, a warning that says who spoke when is unsure,
    the method (the terminal's speakers line, the store's attribution column) and the JSON
    ``sources`` record too, and the one speaker channel carries all the speech."""
    import prosody.engine.speakers as speakers
    d = as_unsure(_planted(share=0.1))
    monkeypatch.setattr(speakers, "diarize", lambda audio, **kw: d)
    x = (np.random.default_rng(0).standard_normal(1000 * 160) * 0.01).astype(np.float32)
    att = speakers.attribute(x)
    said = [w for w in att.warnings if w.startswith(speakers.UNSURE_NOTE)]
    assert len(said) == 1 and "10 %" in said[0] and "15 dB" in said[0], att.warnings
    assert not [w for w in att.warnings if w.startswith("one voice found")]
    assert speakers.UNSURE_NOTE in att.method
    dz = att.to_dict()["diarization"]
    assert dz["voices"] == 1 and dz["unsure"] is True and dz["unsure_split_share"] == 0.1
    from prosody.session import attribution_of  # what the store's attribution column holds
    assert speakers.UNSURE_NOTE in attribution_of({"attribution": att.to_dict()})[1]
    ch = att.channels(x)
    sp = np.repeat(d.speech, 160)
    assert ch.shape[1] == 1 and np.array_equal(ch[sp, 0], x[sp])  # one speaker channel: the one voice's


def test_two_voices_told_stay_two_but_are_said_unsure(monkeypatch):
    import prosody.engine.speakers as speakers
    d = _planted(share=0.1)
    monkeypatch.setattr(speakers, "diarize", lambda audio, **kw: d)
    x = (np.random.default_rng(0).standard_normal(1000 * 160) * 0.01).astype(np.float32)
    att = speakers.attribute(x, voices=2)
    assert att.diarization.n_voices == 2 and not att.diarization.unsure
    assert any("who spoke when is unsure" in w for w in att.warnings), att.warnings


def _wrong(d, truth) -> float:
    from tests.test_diarize import CLIENT, THERAPIST, _collar, _mask
    ta, tb = truth["segments"][THERAPIST], truth["segments"][CLIENT]
    n = d.n_frames
    a, b = _mask(ta, n), _mask(tb, n)
    single = (a ^ b) & _collar([ta, tb], n)
    if d.n_voices < 2:
        return float(min(np.sum(single & a), np.sum(single & b)) / single.sum())
    got = [np.sum(single & (a & (d.owner == k) | b & (d.owner == 1 - k))) for k in (0, 1)]
    return float(min(got) / single.sum())


@pytest.fixture(scope="module")
def dev01_pair():
    from tests.conftest import corpus_dir
    if corpus_dir() is None:
        pytest.skip("PROSODY_CORPUS is not set: the AMI recordings are not at hand")
    import sys
    from pathlib import Path
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    from diarization import ami_cases
    from diarization_noise import with_noise
    cases = {nm: (x, t) for nm, x, t in ami_cases("amireal", False)
             if nm in ("AMI dev01 s104 mono", "AMI dev01 s102 mono")}
    return cases, with_noise


def test_real_voices_mixed_by_the_split_in_noise_are_said_unsure(dev01_pair):
    """AMI dev01's two men (amireal, seed 104, mono) with pink noise 15 dB under the speech: the split
    gives one voice nine tenths of the speech and mixes the two men (over 40 % of the single-speaker
    speech to the wrong one), its second voice too small to measure, its frame models hearing no
    second voice: said unsure, the speech one voice."""
    cases, with_noise = dev01_pair
    x, truth = cases["AMI dev01 s104 mono"]
    y = with_noise(x, 15.0, np.random.default_rng(1))
    off = diarize(y, config=DiarizeConfig(unsure_below_db=0.0))
    assert off.n_voices == 2 and not off.unsure and _wrong(off, truth) > 0.3
    d = diarize(y)
    assert d.unsure and d.n_voices == 1 and d.unsure_share == pytest.approx(min(off.voice_share))
    assert np.array_equal(d.speech, off.speech)


@pytest.mark.parametrize("told", [None, {"therapist": 0, "client": 1}])
def test_an_unsure_split_on_the_live_channel_of_a_stereo_recording_is_said(dev01_pair, told):
    """The same noisy mono on the first channel of a stereo file whose second is digital silence (one
    microphone on one input of a two-input recorder): the loud channel is diarized alone, its split
    is withheld, and it is read as one channel whose one voice is left unattributed, said unsure (the
    separate reading stood before: the loud channel's voice named the therapist by the default or
    the user's --channels, her warmth computed over both men; said, since --channels is contradicted)."""
    import prosody.engine.speakers as speakers
    from prosody.types import UNATTRIBUTED
    cases, with_noise = dev01_pair
    x, _ = cases["AMI dev01 s104 mono"]
    y = with_noise(x, 15.0, np.random.default_rng(1))
    y = np.asarray(y, dtype=np.float32).reshape(-1)
    att = speakers.attribute(np.stack([y, np.zeros_like(y)], axis=1), channels=told)
    assert att.layout == "mono" and att.live_channel == 0 and att.diarization.unsure
    assert att.speakers[0] == UNATTRIBUTED and "channel 1 may carry two voices" in att.layout_report.reason
    assert len([w for w in att.warnings if w.startswith(speakers.UNSURE_NOTE)]) == 1, att.warnings
    assert len([w for w in att.warnings if w.startswith("--channels names one speaker")]) == (told is not None)


@pytest.mark.parametrize("name,snr_db", [("AMI dev01 s104 mono", None), ("AMI dev01 s102 mono", 15.0)])
def test_real_voices_told_apart_are_not_said_unsure(dev01_pair, name, snr_db):
    """The same men as recorded, and another of their placements in the same noise where the split
    holds (the second voice's windows measure the separation): two voices, not unsure."""
    cases, with_noise = dev01_pair
    x, truth = cases[name]
    y = x if snr_db is None else with_noise(x, snr_db, np.random.default_rng(1))
    d = diarize(y)
    assert d.n_voices == 2 and not d.unsure and _wrong(d, truth) < 0.1


def test_enrolment_still_refuses_a_split_said_unsure(dev01_pair):
    """``prosody enrol`` wants one person alone: a recording whose split is said unsure (two men in
    noise, above) is refused as holding two voices, as before."""
    from prosody.engine.speakers import check_one_voice
    from prosody.errors import InputError
    cases, with_noise = dev01_pair
    x, _ = cases["AMI dev01 s104 mono"]
    with pytest.raises(InputError, match="two voices found"):
        check_one_voice(with_noise(x, 15.0, np.random.default_rng(1)))


# -- the one voice of an unsure split is nobody's: no therapist's figures on speech that may be both people's ----

def test_the_one_voice_of_an_unsure_split_is_left_unattributed_with_a_profile_or_without(monkeypatch):
    """Planted: the naming leaves the one voice ``UNATTRIBUTED`` (it named it the therapist by the
    no-profile rule, or by a voice profile near its mix, and the therapist's warmth and cues were then
    computed over both people's speech); no assumption is said, since none is made."""
    import prosody.engine.speakers as speakers
    from prosody.types import UNATTRIBUTED
    d = as_unsure(_planted(share=0.1))
    nm = speakers.name_voices(d)
    assert nm.names[0] == UNATTRIBUTED and not nm.assumption and speakers.UNSURE_NOTE in nm.rule
    near = speakers.VoiceProfile(mean=d.centroids[0], spread=0.05, n_windows=20, speech_s=30.0)
    assert speakers.name_voices(d, profile=near).names[0] == UNATTRIBUTED
    assert speakers.name_voices(_planted(share=0.1, n_voices=1), profile=near).names[0] == "therapist"  # sure
    monkeypatch.setattr(speakers, "diarize", lambda audio, **kw: d)
    x = (np.random.default_rng(0).standard_normal(1000 * 160) * 0.01).astype(np.float32)
    att = speakers.attribute(x)
    assert att.speakers == (UNATTRIBUTED,) and not [w for w in att.warnings if w.startswith("assumption")]
    assert att.to_dict()["speakers"] == [UNATTRIBUTED]  # no client named for a voice that was not kept


def test_roles_never_give_an_unattributed_voice_the_therapists_or_the_clients_place():
    from prosody.measures.registry import no_therapist_note, roles
    from prosody.store.db import speaker_roles
    from prosody.types import UNATTRIBUTED
    assert roles([UNATTRIBUTED]) == (None, None)
    assert speaker_roles([UNATTRIBUTED]) == {UNATTRIBUTED: UNATTRIBUTED}
    assert roles(["ann", "bo"]) == ("ann", "bo") and speaker_roles(["ann", "bo"]) == {"ann": "therapist",
                                                                                      "bo": "client"}
    assert "unsure" in no_therapist_note([UNATTRIBUTED]) and "unsure" not in no_therapist_note(["client"])


@pytest.fixture(scope="module")
def unsure_wav(dev01_pair, tmp_path_factory):
    """AMI dev01 s104 mono with pink noise 15 dB under it (said unsure above), as a 16-bit WAV."""
    import soundfile as sf
    cases, with_noise = dev01_pair
    x, _ = cases["AMI dev01 s104 mono"]
    path = tmp_path_factory.mktemp("unsure") / "unsure.wav"
    sf.write(path, np.asarray(with_noise(x, 15.0, np.random.default_rng(1)), np.float32).reshape(-1), 16000,
             subtype="PCM_16")
    return path


def test_a_real_unsure_recording_gives_no_therapist_figures_anywhere(unsure_wav, tmp_path):
    """The two men in noise through `prosody analyze --save`: the speech kept as one voice left
    unattributed (speech time and pitch shown under that name), no warmth (said why), the store's
    speaker row of that role and no therapist measure, `relabel` and `enrol --from-session` refused in
    one line saying what to do, a personal baseline not used but said (not refused: the session is still analysed and saved)."""
    import json
    from tests.conftest import count_rows, one_line_error, run_cli
    from prosody.types import UNATTRIBUTED
    store, js = tmp_path / "store", tmp_path / "s.json"
    rc, out, err = run_cli("analyze", unsure_wav, "--save", "--store", store, "--json", js, "--no-progress")
    assert rc == 0, err
    doc = json.loads(js.read_text())
    assert doc["speaker_order"] == [UNATTRIBUTED] and doc["speakers"][UNATTRIBUTED]["speech_s"] > 20.0
    assert 80.0 < doc["speakers"][UNATTRIBUTED]["f0_median_hz"] < 160.0  # the men's pitch, under no person's name
    w = doc["measures"]["warmth"]
    assert w["score"] is None and w["components"] == [] and "unsure" in w["not_enough"]
    assert "per speaker           unattributed" in out and "assumption" not in out + err
    db = store / "sessions.db"
    assert count_rows(db, "SELECT COUNT(*) FROM speakers WHERE role = 'unattributed'") == 1
    assert count_rows(db, "SELECT COUNT(*) FROM speakers WHERE role IN ('therapist', 'client')") == 0
    assert count_rows(db, "SELECT COUNT(*) FROM measures WHERE key LIKE 'therapist%'") == 0
    rc, out, err = run_cli("relabel", "last", "--store", store)
    one_line_error(rc, err)
    assert "--voices 2" in err
    rc, out, err = run_cli("enrol", "--from-session", "last", "--therapist", "ann", "--store", store)
    one_line_error(rc, err)  # it enrolled the two men's mix as ann's voice
    assert "who spoke when is unsure in session 1" in err
    rc, out, err = run_cli("enrol", "--list", "--store", store)
    assert rc == 0 and "ann" not in out
    from pathlib import Path
    fixture = Path(__file__).resolve().parents[1] / "fixtures" / "dialogue.flac"
    assert run_cli("analyze", fixture, "--save", "--store", store, "--quiet", "--no-progress")[0] == 0
    rc, out, err = run_cli("compare", "1", "2", "--store", store, "-o", tmp_path / "c.html")
    assert rc == 0, err  # the blank column says why: the speakers row and the caption
    row = next(line for line in out.splitlines() if line.startswith("speakers"))
    assert "unattributed" in row and "therapist, client" in row
    assert "who spoke when is unsure" in " ".join(out.split())
    page = (tmp_path / "c.html").read_text()
    assert ">unattributed<" in page and "who spoke when is unsure there" in page
    for sid in ("1", "2"):
        assert run_cli("edit", sid, "--therapist", "ann", "--store", store)[0] == 0
    rc, out, err = run_cli("moments", "1", "--store", store)
    assert rc == 0 and "who spoke when is unsure in this session" in " ".join(out.split()), (out, err)
    rc, out, err = run_cli("trend", "--therapist", "ann", "--store", store)
    assert rc == 0, err  # session 1's row of dashes says why
    assert "session 1: who spoke when is unsure, the speech left unattributed" in " ".join(out.split())
    base = tmp_path / "b.json"
    base.write_text(json.dumps({"kind": "profile", "speakers": {"therapist": {
        "f0_median_hz": 110.0, "f0_spread_st": 2.0, "level_median_db": -30.0, "level_spread_db": 6.0,
        "hf500_median_db": 3.0, "hf500_spread_db": 6.0, "articulation_rate_syl_s": 4.5}}}))
    rc, out, err = run_cli("analyze", unsure_wav, "--baseline", base, "--json", tmp_path / "b2.json", "--quiet",
                           "--no-progress")
    assert rc == 0, err
    said = json.loads((tmp_path / "b2.json").read_text())["warnings"]
    assert any(x.startswith("the personal baseline (therapist) is not used: who spoke when is unsure") for x in said)


@pytest.mark.parametrize("argv", [("--channels", "unattributed=left,client=right"), ("--speaker", "unattributed")])
def test_the_name_kept_for_unattributed_speech_is_refused_as_a_speaker_name(argv, tmp_path):
    import soundfile as sf
    from tests.conftest import one_line_error, run_cli
    wav = tmp_path / "x.wav"
    sf.write(wav, np.zeros((16000, 2 if argv[0] == "--channels" else 1), np.float32), 16000)
    rc, out, err = run_cli("analyze", wav, *argv, "--no-progress")
    one_line_error(rc, err)
    assert "unattributed" in err and "name the speaker otherwise" in err


def test_enrolment_from_a_session_saved_unsure_before_the_name_is_refused_too():
    """A session stored before the one voice of an unsure split was named unattributed holds it as the
    therapist; its document still says unsure, and `enrol --from-session` refuses it as it refuses the new."""
    from prosody.enrol import session_voice
    from prosody.errors import InputError
    doc = {"speaker_order": ["therapist"], "attribution": {"layout": "mono", "diarization": {"voices": 1,
                                                                                            "unsure": True}}}
    with pytest.raises(InputError, match="who spoke when is unsure in session 7"):
        session_voice(doc, {"therapist": {}}, session_id=7)


def test_a_real_unsure_recording_has_its_voice_in_the_batch_table(unsure_wav, tmp_path):
    """`prosody batch` of the two men in noise: the table's row carries the unattributed voice's figures under
    `unattributed.*` (they were in no column: the row had only the session's identity), the same as
    `analyze --json` gives, and no therapist's or client's figure or warmth."""
    import json
    import shutil
    from prosody.batch.runner import read_table_csv
    from prosody.types import UNATTRIBUTED
    from tests.conftest import run_cli
    folder = tmp_path / "in"
    folder.mkdir()
    shutil.copy(unsure_wav, folder / "unsure.wav")
    js = tmp_path / "s.json"
    assert run_cli("analyze", folder / "unsure.wav", "--json", js, "--quiet", "--no-progress")[0] == 0
    doc = json.loads(js.read_text())
    rc, out, err = run_cli("batch", folder, "--store", tmp_path / "store", "--table", tmp_path / "t", "--no-parquet",
                           "--jobs", "1", "--no-progress")
    assert rc == 0, err
    (row,) = read_table_csv(tmp_path / "t.csv")
    spk = doc["speakers"][UNATTRIBUTED]
    assert row["speakers"] == UNATTRIBUTED and row["warmth_score"] is None
    for c in ("speech_s", "talk_share", "f0_median_hz", "rms_db_median", "speech_rate_syl_s"):
        assert row[f"{UNATTRIBUTED}.{c}"] == spk[c], c
    assert doc["measures"]["timing"] is None and row[f"{UNATTRIBUTED}.longest_monologue_s"] is None  # no turns
    assert all(row[k] is None for k in row if k.startswith(("therapist.", "client.")))
