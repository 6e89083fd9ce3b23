"""Warmth, attunement, timing and voice measures: rolling and per session.

Every measure is relative to the speaker's own baseline (median pitch and
level, spread, articulation rate) so that microphones, gain and voice type do
not masquerade as tone. A baseline is the whole session (session measures,
phases), the session so far (rolling windows, ``running``: the speech before
the window once there are 30 s of it), or a saved personal profile
(``Baseline.from_profile``).

The registry ``MEASURES`` holds each measure's definition, unit, window,
source and direction; ``docs/measures.md`` is generated from it
(``python -m prosody.measures > docs/measures.md``, checked by a test).

Nothing here is a clinical judgement: the warmth score is a transparent sum
of components whose direction the cited research supports, each shown with
its value and contribution, on a scale relative to the therapist's own
baseline.


The package: ``registry`` (definitions, config, docs), ``baseline``, ``slice``,
``voice``, ``timing``, ``warmth``, ``attunement``, ``cues``, ``summary``, ``rolling`` and ``results``
(the frozen ``Measures`` and ``RollingWindow`` values, plain dicts only through ``to_dict()``).
"""
from __future__ import annotations

from .registry import CueConfig, DISCLAIMER, disclaimer_for, no_therapist_note, therapist_of, MEASURES, MeasureDef, MeasuresConfig, SRC_BONE, SRC_CPPS, SRC_DJW, SRC_HE10, SRC_HNR, SRC_LH11, SRC_OVERLAP, SRC_PATIENCE, SRC_PAZ, SRC_PRAAT_VOICE, SRC_SOMA21, SRC_SPOONER, SRC_SYNC, SRC_TAO22, SRC_XIAO14  # noqa: F401
from .baseline import Baseline, SpeakerBaseline, speaker_baseline  # noqa: F401
from .slice import Slice  # noqa: F401
from .voice import voice_measures  # noqa: F401
from .timing import silences, timing_measures  # noqa: F401
from .warmth import WARMTH_COMPONENTS, warmth  # noqa: F401
from .attunement import ATTUNE_FEATURES, attunement, exchanges  # noqa: F401
from .cues import cues  # noqa: F401
from .summary import first_holder, session_baseline, session_measures, session_slice, summarize, voice_quality_measures, warmth_min_speech_s  # noqa: F401
from .results import Measures, RollingWindow  # noqa: F401
from .rolling import RollingMeasures  # noqa: F401
from .docs import docs_markdown  # noqa: F401
