"""Speakers named otherwise than therapist / client (``--channels dr_ann=left,mr_x=right``)
get every measure the default names get: the therapist is the first speaker and the client
the other, found by name for the figures per direction and the client's call-delay
correction (before, those looked for the literal names and came out empty)."""
from __future__ import annotations

import numpy as np

from prosody.measures import MeasuresConfig
from prosody.session import analyze_blocks


def _measures(audio, names, delay_ms=120.0):
    s = analyze_blocks([audio], names, sources=["fixtures/dialogue.flac"],
                       measures=MeasuresConfig(network_delay_ms=delay_ms))
    return s.to_json_dict()["measures"]


def test_custom_names_get_the_same_figures_as_the_default_ones(fixture_dialogue):
    audio, _ = fixture_dialogue
    ref = _measures(audio, ("therapist", "client"))
    got = _measures(audio, ("dr_ann", "mr_x"))
    assert got["warmth"]["score"] == ref["warmth"]["score"] and ref["warmth"]["score"] is not None
    # per direction: the same figures, under the names used
    rd, gd = ref["attunement"]["by_direction"], got["attunement"]["by_direction"]
    assert set(gd) == {"mr_x->dr_ann", "dr_ann->mr_x"}
    for (rk, gk) in (("client->therapist", "mr_x->dr_ann"), ("therapist->client", "dr_ann->mr_x")):
        for kind in ("proximity", "synchrony"):
            for feat in ("pitch", "intensity", "rate"):
                assert gd[gk][kind][feat]["value"] == rd[rk][kind][feat]["value"]
    assert any(rd["client->therapist"][k]["pitch"]["value"] is not None for k in ("proximity", "synchrony"))
    assert got["attunement"]["arousal_coregulation"] == ref["attunement"]["arousal_coregulation"]
    # the call's round trip taken out of the client's waits, whatever the client is called
    c_ref = ref["timing"]["client"]["gap_median_corrected_s"]
    assert c_ref is not None and got["timing"]["mr_x"]["gap_median_corrected_s"] == c_ref
    assert np.isclose(c_ref, ref["timing"]["client"]["gap_median_s"] - 0.24, atol=1e-6)
