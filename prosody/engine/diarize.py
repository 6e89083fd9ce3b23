"""Two voices in one signal: diarization of shared-channel and mono recordings.

Steps (all on the one 10 ms grid)::

    samples -> RawVad + SpeechSmoother (short min_duration_off)      speech frames
            -> mel power -> GE2E embeddings of window_s windows      (prosody.embedding)
               every hop_s over speech
            -> two clusters (cosine k-means, farthest-pair start); for a stereo
               table recording whose windows' inter-channel level differences
               form two modes (each voice nearer one mic), that split instead;
               else, where the windows' median pitch forms two modes >= 6 st
               apart (a low and a high voice), that split, the first frame
               models then trained on 0.3 s runs of clear pitch
            -> one voice or two: centroid cosine distance (each voice embedded on its
               own frames of the resegmented path) and the held-out likelihood gain
               of one frame model per voice over one for all; two voices that GE2E
               barely separates, at one pitch, changing again and again inside
               continuous speech are one voice cut in pieces (_one_voice_in_pieces)
            -> frame resegmentation: per-voice diagonal GMMs on MFCCs (+ the
               inter-channel level difference for stereo) trained on confidently
               labelled frames, plus the window embeddings' vote (and, with two
               level modes, one Gaussian per voice on the level difference), decoded by a
               2-state Viterbi with a switch penalty (a 0.3 s backchannel
               survives; a one-frame flicker does not)
            -> every frame owned by one voice (pauses split at their middle)
            -> where that found one voice, or two on weak frame-model evidence:
               a retry started from the utterances least like the rest
               (_minority_seed: held-out frame likelihood; _seed_embedding_z:
               their embedding against the recording's own spread), kept when
               it finds two voices lying further apart (_minority_retry)
            -> where that still found one voice: a retry from the one most atypical
               utterance on a weaker gate, kept only when its two voices lie clearly
               apart (_odd_utterance_retry: a ~1 s answer in a monologue)
            -> where it found two: the whole again on 1.0 s windows (their embeddings
               read from the first pass's LSTM runs), measured where its path moves a
               stretch >= 0.3 s to the other voice, kept when its voices lie further
               apart (_finer_restart: a short turn between two of the other voice), or
               nearer by less than the separation's noise with clearly better frame
               models (held-out gain; _further_apart)
            -> (off by default) where the voices found lie < 0.3 apart: restarts from
               four window clusters, each against the rest, kept when its voices lie
               clearly further apart (_subcluster_restart: one voice's raised passage
               clustered with the other voice)

The resegmentation follows the GMM/HMM resegmentation of Sell & Garcia-Romero
(2015, "Diarization resegmentation in the factor analysis subspace") in a
simpler form; the 1-vs-2 decision is a calibrated threshold on the distance
between the two candidate voices (see ``benchmarks/diarization.py``).

Overlapping speech is not separated: each frame has one owner; a listener's
short backchannel inside the other's speech owns its frames and the pipeline's
smoothing bridges the speaker's short hole.
"""
from __future__ import annotations

import math

from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np

from ..config import VadConfig
from .ckernels import KERNELS
from .compiled import dct2_ortho, rfft, sosfilt
from .iir import butter_highpass_sos
from .embedding import EMBEDDING_SIZE, N_FFT, N_MELS, VoiceEncoder, mel_chunks, mel_frames_at, periodic_hann
from ..errors import ConfigError, InputError
from ..timebase import GRID, Grid
from ..types import Segment
from .vad import RawVad, SpeechSmoother
from .views import ChannelMean, Pcm16, as_signal, frame_rows, sounding, windows_at

try:  # single-threaded BLAS: the encoder's small products burn several times the CPU when threaded
    from threadpoolctl import threadpool_limits
except ImportError:  # pragma: no cover
    threadpool_limits = None

METHOD = "diarization: GE2E d-vectors (resemblyzer weights) + 2-voice GMM/HMM frame resegmentation"


@dataclass(frozen=True)
class DiarizeConfig:
    """``window_s``/``hop_s``: embedding windows. ``two_voice_min_distance``:
    smallest cosine distance between the two candidate voices' centroids to call
    them two people (centroids of each voice's own frames) unless the frame
    models say otherwise: two voices when one GMM per voice predicts held-out
    frames ``two_voice_min_gain`` nats/frame better than one GMM for all (0.4 was tried:
    it kept the single voice that reaches 0.30 on the dev split whole but lost two
    fresh2 voice pairs the encoder hardly tells apart), or
    when the distance is reached and that gain is at least
    ``two_voice_gain_floor``. ``gain_phase_margin``: nats/frame; where that gain lies within this of
    ``two_voice_min_gain``, it is averaged over the phases ``GAIN_PHASES_FRAMES`` of its held-out blocks
    (``_steady_gain``): one phase's gain moved by 0.15-0.60 nats/frame with the phase alone on alike voices
    (docs/speakers.md, wp85), more than its distance to the bar; farther away one phase is enough and costs
    nothing more (``0`` turns it off). ``min_voice_s``: least speech the second voice
    must hold. ``switch_penalty``: Viterbi cost of a voice change,
    in units of the per-frame log-likelihood ratio. ``pitch_weight`` / ``pitch_min_st``: the frame
    pitch's log-likelihood ratio (``_pitch_llr``) joins the resegmentation's score at this weight where
    the two voices' median pitches lie at least that far apart. ``pitch_tail_s`` /
    ``pitch_context_s``: in the last ``pitch_tail_s`` of speech before each pause, a frame's pitch
    argues for a voice only where its stretch of speech does too (the median pitch over
    ``pitch_context_s`` either side, inside the run of speech; ``_pitch_context``): a sentence's final
    fall reaches a lower voice's register frame by frame while its stretch stays in the speaker's own
    (whole sessions gave the client's last 0.3-0.8 s to a therapist 3.7 st lower, sentence after
    sentence; docs/speakers.md, thirty-ninth round; ``pitch_tail_s=0`` turns it off).
    ``pitch_split_*``: the pitch split
    (``_pitch_split``; ``pitch_split_min_st=0`` turns it off; ``pitch_split_conf``: nats a
    0.3 s run of frame pitch must give one voice to train its first model). ``minority_*``:
    the retry from the most atypical utterances (``_minority_retry``; ``minority_min_z=0``
    turns it off): tried where the first pass found one voice or two with a held-out gain
    below ``minority_retry_below_gain``; the seed's utterances lie ``minority_min_z`` robust
    z below the others' held-out frame likelihood, hold at most ``minority_max_share`` of the
    speech, and their embedding lies ``minority_min_embedding_z`` robust z below the other
    utterances' (a real voice's odd utterance reached -4.1).
    ``odd_*``: where the first pass and that retry found one voice, a retry from the one
    utterance least like the rest (``_odd_utterance_retry``; ``odd_min_z=0`` turns it off) when
    it lies ``odd_min_z`` (but less than ``minority_min_z``) robust z below the others' held-out
    frame likelihood and its embedding
    ``odd_min_embedding_z`` below theirs, kept when its two voices lie ``odd_min_separation`` apart.
    ``min_change_overlap_s``: a "both voices" run shorter than ``min_overlap_run_s`` stays
    where it joins two different voices with no pause (an overlapped change of turn) and
    lasts this long (a 0.1-0.2 s overlap at a turn start given to the outgoing voice left
    AMI turns of 0.82 s as 0.71 s backchannels).
    ``finer_window_s``: where the
    first pass found two voices, a restart on windows this long (``_finer_restart``; ``0``
    turns it off). Its windows' embeddings are read from the first pass's LSTM runs
    (``_window_embeddings``), so it costs a second resegmentation and separation, not a
    second encoder pass (10 min of two-voice mono: 0.0159 CPU-s per audio second; main
    without the restart 0.0150, with the old restart ~0.025).
    ``finer_min_change_s``: the restart is measured (and can be kept) only where its path
    gives a stretch at least this long to the other voice (``_relabels_a_stretch``; ``0``:
    always).
    ``finer_max_overlap``: the finer restart is not kept where it gives more than this share of the
    speech to both voices: its overlap model hears a voice, not overlap, as ``overlap_max_share``
    reads a first pass (in noise it can take one voice for "both", and the voices' own windows,
    purer for it, lie further apart: AMI tst00 at 25 dB, docs/speakers.md, seventy-second round;
    ``1`` turns it off).
    ``separation_window_s``: window of the 1-vs-2 separation (``None``: ``window_s``);
    ``separation_max_windows``: at most this many of a voice's own windows, spread evenly,
    measure it (``_separation_tiles``; ``0``: all).
    ``pieces_*``: one voice cut in pieces (``_one_voice_in_pieces``; ``pieces_min_changes=0`` turns
    it off): two candidate voices lying less than ``pieces_max_distance`` apart whose pitch medians
    lie less than ``pieces_max_pitch_st`` apart and that change ``pieces_min_changes`` times or
    more inside continuous speech next to a piece shorter than ``pieces_max_run_s`` are one voice
    (the minority retry may still find a second), unless more than ``pieces_max_pause_share`` of
    all their changes fall at pauses (two people who turn at pauses, their frames confused inside
    speech now and then; ``1`` turns that exception off). ``pieces_restart``: where that test made two voices one
    although the frame models' held-out gain was at least ``minority_retry_below_gain`` (they hear
    two voices), the finer restart (``_finer_restart``) is tried as for two voices and kept when
    its own path passes the test and its voices lie further apart than ``two_voice_min_distance``
    (a first pass that mixed two alike real voices, each voice's turn ends given to the other,
    looks like one voice in pieces: AMI dev00's two men placed as turns, docs/speakers.md,
    seventeenth round); not further apart than that first pass, a split just judged no split of
    two voices (thirtieth round). ``pieces_keep_apart`` / ``pieces_keep_max_inside``: a first pass
    (not a retry's or a restart's split) whose voices lie at least ``pieces_keep_apart`` apart and at
    most ``pieces_keep_max_inside`` of whose changes of voice fall inside speech next to a short
    piece is not tested for one voice in pieces (a real pair's first pass that
    gave turn ends to the other voice changes mostly at its turns; one voice in pieces mostly inside
    speech, its halves nearer: docs/speakers.md, thirty-second round; 0.22 there, 0.21 since the
    sixty-eighth: AMI dev00's two men in pink noise 25 dB under the speech, a first pass 0.2196 apart,
    were one voice; ``pieces_keep_apart=1`` turns it off), unless its frame models' held-out gain lies
    below ``pieces_keep_min_gain`` nats/frame (one model for all the speech predicts held-out frames
    clearly better than one per voice: a first pass 0.22 apart that cut through a voice holding ~90 %
    read -1.07; the real pairs it keeps, -0.31 or more: docs/speakers.md, thirty-third round; ``-inf``
    turns that bar off). ``pieces_keep_se_z``: the bar is read against the separation's own standard
    error (``_separation_se``): a first pass under ``pieces_keep_apart`` by less than that many of its
    standard errors is kept too (``_near_keep_bar``; room noise moves one pair's first pass 0.189-0.241
    apart over noise draws, its error 0.015-0.03; one voice's first passes the pieces test fires on lie
    0.05-0.17 apart: docs/speakers.md, sixty-ninth round; ``0``: the fixed bar, as before).
    ``pieces_keep_minority_gain``: a first pass so kept that found two voices is replaced by the minority
    retry's split (``_minority_retry``) only where that split's frame models hear the voices at least as well
    (held-out gain not under the first pass's; a voice too short to model, gain -inf, as before): in room noise
    the retry's seed was a few short utterances of one man, set against both men's speech, its gain 0.15-0.54
    under the first pass's (AMI dev01 in pink noise 20-25 dB: first passes 0.22-0.26 apart replaced by splits
    0.29-0.33 apart, a voice of 1.6-3 s, 40-49 % wrong), where the retry that finds espeak's short second voice
    beside a dominant one (held) reads +0.52 over the first pass, or -inf (docs/speakers.md, seventy-first
    round; ``False``: as before).
    ``utterance_restart_below`` / ``utterance_min_s`` / ``utterance_window_s``: where the voices
    found lie less than ``utterance_restart_below`` apart (``0`` turns it off), a restart from whole
    utterances (``_utterance_restart``): each utterance of at least ``utterance_min_s`` embedded on
    its own frames, two clusters of them (each at least ``utterance_min_count`` utterances and
    ``utterance_min_voice_s`` of speech) start the resegmentation, on the first pass's windows and
    on windows of ``utterance_window_s``; kept where its voices lie further apart than the best so
    far by more than the separation's noise (or within it, frame models clearly better), or, where
    the first pass was one voice in pieces (``pieces_restart``), where its voices lie further apart
    than ``two_voice_min_distance``: that first pass's split was judged no split of two voices,
    so its separation is no bar to clear (AMI dev00's two men rounded to 16-bit samples: restarts
    0.229-0.231 apart against a first pass 0.234 apart left them one voice, docs/speakers.md,
    thirtieth round).
    ``utterance_decisive_apart`` / ``utterance_decisive_count`` / ``utterance_decisive_voice_s``:
    utterance clusters whose centroids lie at least that far apart, each of at least that many
    utterances and seconds of speech, are two voices whatever the path from them looks like: the
    restart then asks each cluster for that much only, does not apply the one-voice-in-pieces
    test to its path and does not ask its frame models for ``two_voice_min_gain`` (``0`` turns
    it off; docs/speakers.md, eighteenth round).
    ``utterance_max_more_overlap``: a restart from utterances that gives more than this share of
    the speech more to both voices than the best so far is not kept (its voices' own windows,
    purer for it, lie further apart without the split being better).
    ``line_restart_below`` / ``line_max_pause_s``: where the voices found lie less than
    ``line_restart_below`` apart (``0`` turns it off), one more start for the choice between starts
    (``_line_restart``): k-means on the window embeddings with the recording's own level line projected
    out, that line fitted on the steps between neighbouring windows inside one utterance (no pause over
    ``line_max_pause_s`` in the two windows' frames); kept on the utterance restart's test (``_start_beats``)
    or, ``line_inside_from`` / ``line_inside_to``, where at least that share of the first pass's changes of
    voice fall inside speech and at most this share of its own (above 1: off; eighty-second round).
    ``unmix_from`` / ``unmix_to`` / ``mixed_utterance_s`` / ``mixed_utterance_minority``: the choice between
    starts reads how many utterances (speech between pauses, ``mixed_utterance_s`` or longer) each split gives
    to both voices, the lesser voice holding ``mixed_utterance_minority`` or more of the utterance's frames
    (``_mixed_utterances``): a restart's split that holds (``_start_holds``) replaces a best so far with
    ``unmix_from`` or more of its utterances mixed where it mixes ``unmix_to`` or less, and is not kept on its
    separation where it mixes so and the best so far does not (``_unmixes``; above 1: off; eighty-third round).
    ``fewer_mixed_by`` / ``gain_clip_nats``: a restart's split lying further apart than the best so far (by any
    amount) and mixing at least this share fewer of the utterances is kept where its frame
    models, each held-out frame's log-likelihood gain clipped to +-``gain_clip_nats``, hear two voices and hear
    them no worse than the best's (``_fewer_mixed``, ``_clipped_gain``; ``fewer_mixed_by=0`` turns it off;
    eighty-fifth round: through a call's codec a few frames' gains reach -30..-170 nats and the mean gain
    follows them).
    ``second_look_*``: a short stretch of the other voice inside one voice's run that the
    Viterbi smoothed away becomes "both" (``_second_look``; ``second_look_nats=0`` turns it off).
    ``subcluster*``: where the two voices found lie less than ``subcluster_below`` apart, restarts
    from ``subclusters`` window clusters, each against the rest, kept when their voices lie
    ``subcluster_margin`` further apart (``_subcluster_restart``; off by default, ``subclusters=4``
    turns it on: it fixed two mixed AMI trn06 mixes of the ami8 split but mixed a right one of
    held, and costs ~15 % more CPU on real voices).
    ``lead_both_min_s`` / ``lead_both_lead_max_s``: a "both voices" run of at least ``lead_both_min_s``
    that starts within ``lead_both_lead_max_s`` of speech after a pause, one voice then the other
    before it, goes with the other voice's run to the voice that opens the utterance (``_lead_both``;
    ``lead_both_min_s=0`` turns it off); read before ``pause_overlap_slack_s`` (sixty-ninth round).
    ``pause_overlap_slack_s``: a "both voices" run that starts or ends with a pause (or within
    this of one, one voice between) and has one voice on its other side goes to that voice
    (``_pause_bound_overlap``; ``-1`` turns it off).
    ``edge_run_max_s``: a run of one voice shorter than this between a pause and the other voice,
    the same voice speaking on the pause's far side, goes to the other voice (``_edge_runs``;
    ``0`` turns it off). ``edge_tail_max_s`` / ``edge_tail_nats``: such a run at an utterance's end
    (the other voice's speech before it, the pause after it), ``edge_run_max_s`` up to this long, goes
    to the utterance's voice too where the frame models favour the run's own voice by under
    ``edge_tail_nats`` per frame on average (``edge_tail_max_s=0`` turns it off).
    ``overlap_other_floor_nats`` / ``overlap_holder_within_nats`` / ``overlap_holder_max_s``: a "both
    voices" run shorter than ``overlap_holder_max_s`` with voice k on both sides goes to k when the
    other voice's frame model scores it, on average, at least ``overlap_other_floor_nats`` per frame
    below voice k's and voice k's model is within ``overlap_holder_within_nats`` per frame of the
    best state (the run sounds like the holder; ``_overlap_like_holder``; floor ``0`` turns it off).
    ``dip_look_nats`` / ``dip_look_ratio`` / ``dip_window_s``: a short stretch inside one voice's run
    (``dip_look_min_s`` .. ``second_look_max_s``) where "both" or the other voice beats that voice by at
    least ``dip_look_nats`` (summed, as ``_second_look``, below its 150) becomes "both" when the
    level's syllable dips are filled there: the spread of the frame level (90th - 20th percentile
    over ``dip_window_s``) is at most ``dip_look_ratio`` of its median over the run, and the level
    is not below the run's median (``_dip_filled_look``; ``dip_look_nats=0`` turns it off).
    ``tail_refit_max_s``: the minority voice's piece at the end of an utterance the holder starts
    (or the start of one it ends; utterances end at pauses) goes back to the holder when its model
    explains it better by ``tail_refit_nats`` per frame than the minority's model fitted again
    without it (``_tail_refit``; ``tail_refit_max_s=0`` turns it off).
    ``pitch_look_min_sep_st`` / ``pitch_look_min_frac`` / ``pitch_look_min_frames``: where the two
    voices' median pitches lie that far apart, a 0.25-1.0 s stretch inside one voice's run whose
    pitch sits in the other voice's register (that share of its frames, that many frames) and whose
    level is not below the run's becomes "both" (``_pitch_look``; ``pitch_look_min_sep_st=0`` turns
    it off).
    ``start_noise_z`` / ``start_gain_nats``: a restart (the finer one) whose voices lie less far
    apart than the best so far's by less than ``start_noise_z`` standard errors of the difference
    (``_separation_se``) is also kept where its frame models' held-out gain is at least
    ``start_gain_nats`` nats/frame higher (``_further_apart``; ``start_noise_z=0``: the separation
    alone). ``start_deaf_gain_nats``: where the best so far's frame models hear no second voice (held-out gain
    under ``two_voice_min_gain``: two voices by its separation alone) and the restart's do, that much higher is
    enough (``_gain_better``; above ``start_gain_nats``: off; eighty-fourth round).
    ``more_voices_*``: the check for more than two voices after the diarization (``_more_voices``;
    ``more_voices_min_s=0`` turns it off): a voice whose turns fall into two groups, each of at
    least ``more_voices_min_turns`` turns and ``more_voices_min_s`` of speech (or as many distinct
    turns and ``more_voices_distinct_min_s`` of their speech; 0: not asked), whose embeddings lie
    ``more_voices_min_distance`` apart and whose frame models gain ``more_voices_min_gain``
    nats/frame on held-out frames over one model for the voice, seems to hold two people; a turn
    within ``more_voices_repeat_distance`` (cosine) of a longer one of the voice counts as the same
    audio heard again, not as a turn of its own (``_distinct_turns``; 0: every turn counts).
    ``run_look_*``: the last look at the final labels (``_run_look``; ``run_look_margin=0`` turns it
    off): a run of one voice of ``run_look_min_s`` .. ``run_look_max_s`` of speech (pauses up to
    ``run_look_bridge_s`` inside it; or an utterance between longer pauses of one voice's frames and
    frames of both, read whole), embedded alone, goes to the other voice where its cosine to the
    other voice's centroid exceeds that to its own by more than ``run_look_margin``
    (``run_look_short_margin`` for a run under ``run_look_short_s``).
    ``model_look_*``: after it (``_model_run_look``; ``model_look_max_s=0`` turns it off): a run of one
    voice of ``model_look_min_s`` .. ``model_look_max_s`` of speech, or the stretches of that length
    inside a longer run, where frame models fitted on the labels favour the other voice on average,
    embedded alone, goes to the other voice where it lies nearer the other voice's centroid at all.
    ``quiet_run_*``: after it (``_quiet_run_look``; ``quiet_run_db=0`` turns it off): a run of the
    other voice or of both, at most ``quiet_run_max_s``, inside one voice's unbroken speech (that
    voice on both sides, no pause), whose median level lies ``quiet_run_db`` or more under the median
    of that voice's own frames within ``quiet_run_context_s`` either side, goes to that voice, unless
    within ``quiet_run_pause_s`` of it (or inside it) the level falls for 80 ms to within
    ``quiet_run_pause_db`` of the recording's pause level (a pause the speech mask bridged).
    ``onset_run_*``: after it (``_onset_run_look``; ``onset_run_s=0`` turns it off): a run of the
    other voice or of both, at most ``onset_run_max_s``, inside one voice's unbroken speech that
    starts within ``onset_run_s`` of that speech's onset after a pause (that voice alone from the
    onset to the run, and on its other side), goes to that voice.
    ``flip_overlap_*``: last (``_flip_overlap``; ``flip_overlap_s=0`` turns it off): a short run of one
    voice (``flip_overlap_min_run_s`` .. ``flip_overlap_max_run_s`` of speech) that starts at a flip
    straight out of the other voice's speech (no pause between) and ends in a pause carries the mixture
    ("both") over the other voice's last ``flip_overlap_s`` before it: a short answer started in
    overlap, its overlapped start given to the outgoing voice; with ``flip_overlap_ends``, the mirror
    (such a run after a pause, straight into the other voice's speech: both over that voice's first
    ``flip_overlap_s``) (docs/speakers.md, fifty-fourth round); with ``flip_overlap_between``, such a
    run straight out of the other voice's speech and straight back into it (no pause on either side)
    carries both over that voice's last and first ``flip_overlap_s`` (sixty-eighth round); where its own
    speech is shorter than ``flip_overlap_bridge_s`` (the analysis VAD's ``min_duration_off_s``, 0.6 s;
    a recording's analysis sets it from its own ``[vad]``: ``speaker_channels.diarize_config``), those
    frames go to the run's voice alone (sixty-ninth round; 0 turns it off); a flip with a pause the
    speech mask bridged in the run's first (last) ``flip_overlap_pause_s`` (``_bridged_pause``,
    ``quiet_run_pause_db``) whose run holds under ``flip_overlap_min_run_s`` of its own voice once its
    bridged pauses are taken out is a token after (before) a pause, not an answer straight out of (into)
    the other voice's speech, and is left (an in-pause espeak backchannel: 0.30-0.49 s; AMI's short
    answers with a quiet stretch there: 0.64-0.75 s; docs/speakers.md, seventy-first round, the follow-up;
    0 turns that test off).
    ``unsure_below_db`` / ``unsure_max_gain``: a split in two found from the audio alone (not told)
    whose second voice holds too little speech of its own to measure how far apart the two lie
    (``separation_se`` not measured: under two of its own windows), whose frame models hear no second
    voice (held-out gain under ``unsure_max_gain`` nats/frame) and whose speech stands less than
    ``unsure_below_db`` over the noise (``speech_over_noise_db``) is not given as two voices: who
    spoke when is unsure (``split_unsure``, ``Diarization.unsure``; the recording's speech is kept
    as one voice). In pink noise such splits of the AMI dialogues (speech 14.8-18.9 dB over the
    noise) had mixed the two people (40-48 % of the single-speaker speech to the wrong one); in
    cleaner speech the same figures are a real dominant speaker's and a short second one's (espeak
    dialogues of the benchmark splits, 21.8 dB and up, split right; docs/speakers.md, forty-first
    round). ``unsure_below_db=0`` turns it off.
    ``short_pitch_apart_st`` / ``short_pitch_min_dprime`` / ``short_max_voice_s``: a first split whose voices
    lie at least ``two_voice_min_distance`` apart but whose frame models' gain falls under
    ``two_voice_gain_floor`` is two voices all the same where the smaller voice holds less than
    ``short_max_voice_s`` of speech and the two voices' median pitches lie at least ``short_pitch_apart_st``
    apart and ``short_pitch_min_dprime`` times their robust spread (``_short_pitched_apart``): two 8-Gaussian
    models fitted on 2-4 s of each voice overfit; the held-out gain of two-voice dialogues of 8-25 s read
    as one voice was -6.0..-1.2 nats/frame, no higher than that of one voice's halves lying as far apart
    (-4.2..+0.7). One voice's halves lay at most 1.3 spreads apart (AMI FEE083 9.6 st in median, its pitch
    read an octave off here and there), the tune part's dialogues read as one 3.5 and more
    (docs/speakers.md, fifty-sixth round; ``short_pitch_apart_st=0`` turns it off).
    ``follow_gate_above_db`` / ``follow_gate_below_db``: where the speech stands that far or more over the noise
    but less than this (``speech_over_noise_db`` on the fixed gate's speech), the speech split is the
    noise-following gate's (``_speech_in_noise``: the quieter voice of a pair in room noise kept; docs/speakers.md,
    sixtieth round); under ``follow_gate_above_db`` the fixed gate's, on which the unsure test
    (``unsure_below_db``) was tuned. ``follow_gate_below_db=0`` turns it off. ``follow_gate_min_added``: the
    noise-following gate's speech is taken only where it adds that share or more to the fixed gate's (a quieter
    voice lost to the fixed gate: 4-17 % on amireal at 20 dB); one voice alone in noise gained 0.6 % (10 frames of
    its own edges) and its borderline split tipped into two voices (hostile sweep 26).
    ``noise_floor_subtract`` / ``noise_floor_keep``: the speech frames' mel power that the encoder and the frame
    models read is taken less this many times the noise floor measured in the recording's own pauses (the median
    mel power per band of the frames outside the speech mask, ``_speech_mel``), and never under
    ``noise_floor_keep`` times that floor (``_less_noise_floor``), where the pauses hold ``noise_floor_min_pause_s``
    or more and the speech frames' mean mel power stands under ``noise_floor_below_db`` over that floor (summed
    over the bands; amireal as recorded 43-49 dB, in pink noise 30 / 25 / 20 dB under its speech 32-36 / 27-32 /
    22-27 dB; the espeak dialogues of held 29-40 dB, fresh14 27-, unseen_rooms' hum 16-18 dB: taken off a floor
    that far under, the quietest frames' spectra moved, and with them clean splits: amireal 0.46 -> 2.00 %, held
    0.32 -> 0.67 % at a 40 dB bar), and where that floor is broadband: its spectral flatness over the bands (their
    geometric mean over their mean, ``_floor_flatness``) ``noise_floor_min_flatness`` or more (pink noise 0.30-0.45,
    white 0.9 and up; a room's mains hum and low fan 0.01, unseen_rooms' hum recordings, whose turn timing it moved;
    a reverberant room's pauses 0.10-0.18). In pink noise 20 dB under the speech, AMI tst00's quieter woman stands a
    few dB over the noise: her frames' spectra are mostly the noise's, and the split cut the other woman's repeated
    clip (loud head, quiet tail) in two instead (docs/speakers.md, eightieth and eighty-fourth rounds; ``0`` turns
    it off). ``noise_floor_pass``: where the floor was taken off and two voices were found, the whole diarization
    again on the mel power as heard, its split kept where it mends the first's utterances given to both voices
    (``_heard_pass``; docs/speakers.md, eighty-fifth round).
    ``overlap_max_share``: where the first pass's three-state path (the overlap model's) gives "both" to more
    than this share of the speech, the overlap model is taken to hear one voice, not overlap, and the first pass
    keeps its two-state path (no "both"; the looks that read the three models' likelihoods skip it). In pink
    noise 20 dB under the speech, AMI tst00's two women, their first pass's voice models mixed (one holding
    some of each woman), read "both" over 26-32 % of the speech (every one of those frames one woman's alone),
    42 % of the single-speaker speech to the wrong person or both; clean first passes of amireal read 9 % at
    most (docs/speakers.md, seventieth round; ``1`` turns it off). The restarts keep their own: there a
    candidate's large "both" share is what turns it down (``_utterance_restart``).
    ``vad``: the speech mask."""

    window_s: float = 1.5
    hop_s: float = 0.5
    n_init: int = 10
    resegment_iterations: int = 2
    two_voice_min_distance: float = 0.20
    two_voice_min_gain: float = 0.1
    two_voice_gain_floor: float = -1.2
    gain_phase_margin: float = 0.3
    min_voice_s: float = 0.5
    n_mfcc: int = 20
    n_gauss: int = 8
    gmm_iterations: int = 8
    embedding_weight: float = 1.0
    switch_penalty: float = 25.0
    overlap_penalty: float | None = 25.0
    overlap_train_frames: int = 4000
    overlap_max_share: float = 0.2
    min_voice_run_s: float = 0.25
    weak_below_db: float = 30.0
    follow_gate_above_db: float = 20.0
    follow_gate_below_db: float = 23.0
    follow_gate_min_added: float = 0.02
    noise_floor_subtract: float = 1.0
    noise_floor_keep: float = 0.1
    noise_floor_min_pause_s: float = 1.0
    noise_floor_below_db: float = 28.0
    noise_floor_min_flatness: float = 0.25
    noise_floor_pass: bool = True
    pause_switch_scale: float = 0.5
    min_overlap_run_s: float = 0.12
    min_change_overlap_s: float = 0.05
    spatial_loud_db: float = 20.0
    spatial_min_db: float = 1.0
    spatial_min_dprime: float = 3.0
    spatial_weight: float = 1.0
    pitch_weight: float = 1.0
    pitch_min_st: float = 3.0
    pitch_tail_s: float = 0.8
    pitch_context_s: float = 0.5
    spatial_min_share: float = 0.04
    pitch_split_min_st: float = 0.0  # off: on unseen material (fresh2) it did not help; 6.0 turns it on
    pitch_split_min_voiced: int = 30
    pitch_split_min_dprime: float = 5.0
    pitch_split_conf: float = 10.0
    minority_min_z: float = 4.0
    minority_max_share: float = 0.3
    minority_retry_below_gain: float = 0.5
    minority_min_embedding_z: float = 5.0
    odd_min_z: float = 2.0
    odd_min_embedding_z: float = 3.0
    odd_min_separation: float = 0.25
    separation_window_s: float | None = None
    finer_window_s: float = 1.0
    finer_min_change_s: float = 0.3
    finer_max_overlap: float = 0.2
    separation_max_windows: int = 64
    pieces_min_changes: int = 5
    pieces_max_run_s: float = 1.5
    pieces_max_pitch_st: float = 1.5
    pieces_max_distance: float = 0.35
    pieces_max_pause_share: float = 0.45
    utterance_restart_below: float = 0.3
    utterance_min_s: float = 0.5
    utterance_window_s: float = 1.0
    utterance_min_count: int = 4
    utterance_min_voice_s: float = 3.0
    utterance_max_tiles: int = 256
    utterance_decisive_apart: float = 0.3
    utterance_decisive_count: int = 3
    utterance_decisive_voice_s: float = 2.0
    utterance_max_more_overlap: float = 0.05
    line_restart_below: float = 0.4
    line_max_pause_s: float = 0.25
    line_inside_from: float = 0.3
    line_inside_to: float = 0.1
    unmix_from: float = 0.5
    unmix_to: float = 0.2
    mixed_utterance_s: float = 1.0
    mixed_utterance_minority: float = 0.2
    fewer_mixed_by: float = 0.1
    gain_clip_nats: float = 3.0
    pieces_restart: bool = True  # False: one voice in pieces is final, as before the seventeenth round
    pieces_keep_apart: float = 0.21
    pieces_keep_max_inside: float = 0.6
    pieces_keep_min_gain: float = -0.7
    pieces_keep_se_z: float = 1.0
    pieces_keep_minority_gain: bool = True
    second_look_nats: float = 150.0
    second_look_mean_nats: float = 0.0
    second_look_min_s: float = 0.2
    second_look_max_s: float = 1.0
    second_look_margin_s: float = 0.1
    subclusters: int = 0  # off: on held it mixed a right split (docs/speakers.md, eighth round); 4 turns it on
    subcluster_below: float = 0.3
    subcluster_margin: float = 0.02
    start_noise_z: float = 1.0  # 0: restarts compared by separation alone, as before the eleventh round
    start_gain_nats: float = 0.5
    start_deaf_gain_nats: float = 0.25
    pause_overlap_slack_s: float = 0.15
    lead_both_min_s: float = 0.3
    lead_both_lead_max_s: float = 0.45
    edge_run_max_s: float = 0.25
    edge_tail_max_s: float = 0.5
    edge_tail_nats: float = 5.0
    overlap_other_floor_nats: float = 8.0
    overlap_holder_within_nats: float = 4.0
    overlap_holder_max_s: float = 0.5
    dip_look_nats: float = 50.0
    dip_look_ratio: float = 0.8
    dip_look_min_s: float = 0.25
    dip_window_s: float = 0.3
    tail_refit_max_s: float = 1.0
    tail_refit_nats: float = 1.0
    pitch_look_min_sep_st: float = 5.0
    pitch_look_min_frac: float = 0.35
    pitch_look_min_frames: int = 10
    more_voices_min_s: float = 8.0
    more_voices_min_turns: int = 3
    more_voices_min_distance: float = 0.12
    more_voices_min_gain: float = 0.7
    more_voices_distinct_min_s: float = 4.0
    more_voices_repeat_distance: float = 0.05
    run_look_margin: float = 0.05
    run_look_short_s: float = 0.45
    run_look_short_margin: float = 0.08
    run_look_min_s: float = 0.3
    run_look_max_s: float = 1.0
    run_look_bridge_s: float = 0.3
    model_look_min_s: float = 0.5
    model_look_max_s: float = 1.2
    quiet_run_db: float = 6.0
    quiet_run_max_s: float = 0.5
    quiet_run_context_s: float = 1.0
    quiet_run_pause_db: float = 10.0
    quiet_run_pause_s: float = 0.2
    onset_run_s: float = 0.33
    onset_run_max_s: float = 0.5
    flip_overlap_s: float = 0.15
    flip_overlap_max_run_s: float = 1.0
    flip_overlap_min_run_s: float = 0.5
    flip_overlap_ends: bool = True
    flip_overlap_between: bool = True
    flip_overlap_bridge_s: float = 0.6
    flip_overlap_pause_s: float = 0.2
    unsure_below_db: float = 20.0
    unsure_max_gain: float = 0.0
    short_pitch_apart_st: float = 5.0
    short_pitch_min_dprime: float = 2.5
    short_max_voice_s: float = 10.0
    vad: VadConfig = field(default_factory=lambda: VadConfig(min_duration_on_s=0.05, min_duration_off_s=0.2))

    def validate(self) -> "DiarizeConfig":
        if not 0.5 <= self.window_s <= 3.0:
            raise ConfigError(f"window_s={self.window_s} must be within 0.5..3 s")
        if not 0.05 <= self.hop_s <= self.window_s:
            raise ConfigError(f"hop_s={self.hop_s} must be within 0.05 s..window_s")
        if not (self.short_pitch_apart_st >= 0.0 and self.short_pitch_min_dprime >= 0.0
                and self.short_max_voice_s >= 0.0):
            raise ConfigError(f"short_pitch_apart_st={self.short_pitch_apart_st}, short_pitch_min_dprime="
                              f"{self.short_pitch_min_dprime} and short_max_voice_s={self.short_max_voice_s} "
                              "must be >= 0")
        if not (self.edge_tail_max_s >= 0 and self.edge_tail_nats >= 0):
            raise ConfigError(f"edge_tail_max_s={self.edge_tail_max_s}, edge_tail_nats={self.edge_tail_nats}: need >= 0 "
                              "(edge_tail_max_s=0 turns the look at longer utterance tails off)")
        if not 0.0 <= self.two_voice_min_distance < 1.0:
            raise ConfigError(f"two_voice_min_distance={self.two_voice_min_distance} must be within [0, 1)")
        if not (self.pitch_look_min_sep_st >= 0 and 0.0 <= self.pitch_look_min_frac <= 1.0
                and self.pitch_look_min_frames >= 0):
            raise ConfigError(f"pitch_look_min_sep_st={self.pitch_look_min_sep_st}, pitch_look_min_frac="
                              f"{self.pitch_look_min_frac}, pitch_look_min_frames={self.pitch_look_min_frames}: "
                              "need >= 0 st, a share within 0..1 and >= 0 frames (pitch_look_min_sep_st=0 turns "
                              "the pitch look off)")
        if not self.follow_gate_below_db >= 0 or not self.follow_gate_above_db >= 0 \
                or not 0 <= self.follow_gate_min_added <= 1:
            raise ConfigError(f"follow_gate_above_db={self.follow_gate_above_db}, follow_gate_below_db="
                              f"{self.follow_gate_below_db}, follow_gate_min_added={self.follow_gate_min_added}: need "
                              ">= 0 dB (a below bar of 0 turns it off) and a share within 0..1")
        if not (self.noise_floor_subtract >= 0 and self.noise_floor_keep >= 0 and self.noise_floor_min_pause_s >= 0
                and self.noise_floor_below_db >= 0 and 0 <= self.noise_floor_min_flatness <= 1):
            raise ConfigError(f"noise_floor_subtract={self.noise_floor_subtract}, noise_floor_keep="
                              f"{self.noise_floor_keep}, noise_floor_min_pause_s={self.noise_floor_min_pause_s}, "
                              f"noise_floor_below_db={self.noise_floor_below_db}, noise_floor_min_flatness="
                              f"{self.noise_floor_min_flatness}: need >= 0, the flatness within 0..1 "
                              "(noise_floor_subtract=0 turns the noise floor's subtraction off)")
        if not 0.0 < self.finer_max_overlap <= 1.0:
            raise ConfigError(f"finer_max_overlap={self.finer_max_overlap} must be within (0, 1] (1 turns the bar off)")
        if not 0.0 < self.overlap_max_share <= 1.0:
            raise ConfigError(f"overlap_max_share={self.overlap_max_share} must be within (0, 1] (1 turns the bar off)")
        if not (self.pitch_tail_s >= 0 and self.pitch_context_s > 0):
            raise ConfigError(f"pitch_tail_s={self.pitch_tail_s}, pitch_context_s={self.pitch_context_s}: need >= 0 s "
                              "(pitch_tail_s=0 turns the stretch's word on run ends off) and > 0 s")
        if (self.more_voices_min_s < 0 or self.more_voices_min_turns < 1 or self.more_voices_min_distance < 0
                or not (self.more_voices_distinct_min_s >= 0 and self.more_voices_repeat_distance >= 0)):
            raise ConfigError(f"more_voices_min_s={self.more_voices_min_s}, more_voices_min_turns="
                              f"{self.more_voices_min_turns}, more_voices_min_distance="
                              f"{self.more_voices_min_distance}, more_voices_distinct_min_s="
                              f"{self.more_voices_distinct_min_s}, more_voices_repeat_distance="
                              f"{self.more_voices_repeat_distance}: need >= 0 s (more_voices_min_s=0 turns the "
                              "more-than-two-voices check off), >= 1 turn and cosine distances >= 0")
        if not 0.0 <= self.pieces_keep_max_inside <= 1.0:
            raise ConfigError(f"pieces_keep_max_inside={self.pieces_keep_max_inside} must be within 0..1")
        if not self.pieces_keep_se_z >= 0:
            raise ConfigError(f"pieces_keep_se_z={self.pieces_keep_se_z} must be >= 0 (0: the fixed keep bar)")
        if not 0.0 <= self.pieces_max_pause_share <= 1.0:
            raise ConfigError(f"pieces_max_pause_share={self.pieces_max_pause_share} must be within 0..1 "
                              "(1: the one-voice-in-pieces test ignores where the changes fall)")
        if self.start_noise_z < 0 or self.start_gain_nats < 0 or self.start_deaf_gain_nats < 0:
            raise ConfigError(f"start_noise_z={self.start_noise_z}, start_gain_nats={self.start_gain_nats}, "
                              f"start_deaf_gain_nats={self.start_deaf_gain_nats} must be >= 0 (start_noise_z=0: "
                              "restarts compared by separation alone)")
        if not (0.0 <= self.utterance_decisive_apart <= 2.0 and self.utterance_decisive_count >= 1
                and self.utterance_decisive_voice_s >= 0 and self.utterance_max_more_overlap >= 0):
            raise ConfigError(f"utterance_decisive_apart={self.utterance_decisive_apart}, utterance_decisive_count="
                              f"{self.utterance_decisive_count}, utterance_decisive_voice_s="
                              f"{self.utterance_decisive_voice_s}, utterance_max_more_overlap="
                              f"{self.utterance_max_more_overlap}: need a cosine distance within 0..2 (0 turns "
                              "the rule off), >= 1 utterance, >= 0 s and a share >= 0")
        if not (0 <= self.unmix_to <= self.unmix_from and self.mixed_utterance_s > 0
                and 0 < self.mixed_utterance_minority <= 0.5 and 0 <= self.fewer_mixed_by <= 1
                and self.gain_clip_nats > 0):
            raise ConfigError(f"unmix_from={self.unmix_from}, unmix_to={self.unmix_to}, mixed_utterance_s="
                              f"{self.mixed_utterance_s}, mixed_utterance_minority={self.mixed_utterance_minority}, "
                              f"fewer_mixed_by={self.fewer_mixed_by}, gain_clip_nats={self.gain_clip_nats}: need "
                              "0 <= unmix_to <= unmix_from (unmix_from above 1 turns the rule off), > 0 s, a share "
                              "within 0..0.5, one within 0..1 (0 turns the rule off) and > 0 nats")
        if not (self.model_look_max_s == 0 or 0 < self.model_look_min_s <= self.model_look_max_s):
            raise ConfigError(f"model_look_min_s={self.model_look_min_s}, model_look_max_s={self.model_look_max_s}: "
                              "need 0 < model_look_min_s <= model_look_max_s (model_look_max_s=0 turns the look off)")
        if not (0 <= self.run_look_margin <= self.run_look_short_margin
                and 0 < self.run_look_min_s <= self.run_look_max_s and self.run_look_short_s >= 0
                and self.run_look_bridge_s >= 0):
            raise ConfigError(f"run_look_margin={self.run_look_margin}, run_look_short_margin="
                              f"{self.run_look_short_margin}, run_look_min_s={self.run_look_min_s}, run_look_max_s="
                              f"{self.run_look_max_s}, run_look_short_s={self.run_look_short_s}, run_look_bridge_s="
                              f"{self.run_look_bridge_s}: need cosine margins 0 <= margin <= short_margin (margin 0 "
                              "turns the run look off), 0 < min_s <= max_s, short_s >= 0 and a bridge >= 0 s")
        if not (self.flip_overlap_s >= 0 and 0 <= self.flip_overlap_min_run_s <= self.flip_overlap_max_run_s
                and self.flip_overlap_bridge_s >= 0 and self.flip_overlap_pause_s >= 0):
            raise ConfigError(f"flip_overlap_s={self.flip_overlap_s}, flip_overlap_min_run_s="
                              f"{self.flip_overlap_min_run_s}, flip_overlap_max_run_s={self.flip_overlap_max_run_s}, "
                              f"flip_overlap_bridge_s={self.flip_overlap_bridge_s}, flip_overlap_pause_s="
                              f"{self.flip_overlap_pause_s}: need >= 0 s and 0 <= min_run_s <= max_run_s")
        if not (self.quiet_run_db >= 0 and self.quiet_run_max_s > 0 and self.quiet_run_context_s > 0
                and self.quiet_run_pause_db >= 0 and self.quiet_run_pause_s >= 0):
            raise ConfigError(f"quiet_run_db={self.quiet_run_db}, quiet_run_max_s={self.quiet_run_max_s}, "
                              f"quiet_run_context_s={self.quiet_run_context_s}, quiet_run_pause_db="
                              f"{self.quiet_run_pause_db}, quiet_run_pause_s={self.quiet_run_pause_s}: need >= 0 dB "
                              "(quiet_run_db=0 turns the quiet run look off), > 0 s, >= 0 dB and >= 0 s")
        if not (self.lead_both_min_s >= 0 and self.lead_both_lead_max_s >= 0):
            raise ConfigError(f"lead_both_min_s={self.lead_both_min_s}, lead_both_lead_max_s="
                              f"{self.lead_both_lead_max_s}: need >= 0 s (lead_both_min_s=0 turns the rule off)")
        if not (self.onset_run_s >= 0 and self.onset_run_max_s > 0):
            raise ConfigError(f"onset_run_s={self.onset_run_s}, onset_run_max_s={self.onset_run_max_s}: need >= 0 s "
                              "(0 turns the onset run look off) and > 0 s")
        if not self.unsure_below_db >= 0:
            raise ConfigError(f"unsure_below_db={self.unsure_below_db} must be >= 0 dB (0 turns the unsure "
                              "split off)")
        self.vad.validate()
        return self


@dataclass(frozen=True)
class Diarization:
    """Who speaks when in one signal.

    ``activity``: (n_frames, 2) bool on ``grid``; column k is voice k's speech
    (both: overlapped speech). ``owner``: (n_frames,) int8, the voice each
    frame (speech or pause) belongs to: 0, 1 or 2 (both), pauses split at
    their middle. ``centroids``: (n_voices, 256) unit vectors. ``separation``: cosine
    distance between the two candidate voices (nan when too little speech).
    ``voice_share``: share of speech frames of each of the 2 voices.
    ``separation_se``: the separation's standard error from each voice's own
    windows (``_separation_se``), ``model_gain``: the held-out log-likelihood gain
    of one frame model per voice over one for all, nats/frame (``_two_model_gain``);
    both nan where not measured. ``more_voices``: where more than two people seem to speak, about
    how many (3 or 4; ``_more_voices``), else 0; ``mixed``: per voice, whether its frames seem to
    hold more than one person (the two voices are then not two people: a figure of a mixed voice
    mixes people). ``speech_over_noise_db``: how far the speech stands over the recording's noise
    (``speech_over_noise_db``; nan where not measured). ``told_seed``: where two voices were told and
    the second was seeded by one utterance (``_told_utterance_retry``), that utterance's (start_s,
    end_s), else None. ``speech_high_band_db``: how much of the speech lies above the telephone band
    (``speech_high_band_db``; nan where not measured). ``unsure_share``: where a split in two was
    found but the evidence does not carry it (``split_unsure``), the share of the speech its second
    voice held; the result is then one voice (``unsure``: who spoke when cannot be told), its
    ``separation``, ``separation_se`` and ``model_gain`` the withheld split's; else nan. ``heard_two``:
    where one voice was told (``n_voices=1``) and the audio alone gives two (as ``n_voices=None`` would,
    a split not withheld as unsure), (their separation, the second voice's share of the speech); else None.
    """

    n_voices: int
    activity: np.ndarray = field(repr=False)
    owner: np.ndarray = field(repr=False)
    centroids: np.ndarray = field(repr=False)
    separation: float
    voice_share: tuple[float, float]
    method: str = METHOD
    grid: Grid = GRID
    separation_se: float = float("nan")
    model_gain: float = float("nan")
    more_voices: int = 0
    mixed: tuple[bool, bool] = (False, False)
    speech_over_noise_db: float = float("nan")
    told_seed: tuple[float, float] | None = None
    speech_high_band_db: float = float("nan")
    unsure_share: float = float("nan")
    heard_two: tuple[float, float] | None = None

    @property
    def unsure(self) -> bool:
        """Whether a split in two was withheld as unsure (``split_unsure``): one voice given."""
        return self.unsure_share == self.unsure_share

    @property
    def speech(self) -> np.ndarray:
        return self.activity.any(axis=1)

    @property
    def n_frames(self) -> int:
        return len(self.owner)

    def segments(self, names: tuple[str, str] = ("voice 1", "voice 2")) -> list[Segment]:
        """Speech segments per voice, named ``names[k]`` for voice k, sorted by start."""
        out = []
        for k in range(2):
            x = np.concatenate([[0], self.activity[:, k].astype(np.int8), [0]])
            d = np.diff(x)
            for a, b in zip(np.flatnonzero(d > 0), np.flatnonzero(d < 0)):
                out.append(Segment(names[k], self.grid.frames_to_s(a), self.grid.frames_to_s(b)))
        out.sort(key=lambda s: (s.start_s, s.speaker))
        return out

    def swapped(self) -> "Diarization":
        """Voices 0 and 1 exchanged."""
        owner = np.where(self.owner == 2, 2, 1 - self.owner).astype(np.int8)
        return replace(self, activity=self.activity[:, ::-1].copy(), owner=owner,
                       centroids=self.centroids[::-1].copy(), voice_share=self.voice_share[::-1],
                       mixed=self.mixed[::-1])


# --------------------------------------------------------------------------- features


def speech_mask(samples: np.ndarray, config: VadConfig, *, grid: Grid = GRID,
                noise_following: bool = False) -> np.ndarray:
    """(n_samples // hop_length,) bool speech frames of one channel (RawVad + SpeechSmoother).

    The noise floor's warm-up without its scaled percentile (``RawVad(scale_floor=False)``):
    a steady noise at the start is no speech (3 s of loud hiss alone read as 0.5 s of speech,
    "one voice found"), while the floor of the first 8 s stays the 10th percentile, as the
    diarizer's restarts were tuned on (with the scaled percentile five of their planted cases
    took other branches; without it the labels of amireal, tune and fresh14 are identical).
    ``noise_following``: the gate comes down with the channel's range (``RawVad``'s)."""
    n = len(samples) // grid.hop_length
    frames = frame_rows(samples, n, grid.hop_length)
    vad = RawVad(config, grid=grid, scale_floor=False, noise_following=noise_following)
    sm = SpeechSmoother(config, grid=grid)
    chunk = 6000  # frames: the stages stream, so memory stays bounded for long recordings
    out = [sm.push(vad.push(frames[a:a + chunk])) for a in range(0, n, chunk)]
    return np.concatenate(out + [sm.flush()])[:n]


def _mfcc(mel: np.ndarray, n_mfcc: int) -> np.ndarray:
    logmel = np.log(mel + 1e-8)
    c = dct2_ortho(logmel, axis=1)[:, 1:n_mfcc + 1]
    return c


def _cmvn(x: np.ndarray, mask: np.ndarray) -> np.ndarray:
    ref = x[mask] if mask.sum() > 10 else x
    return (x - ref.mean(axis=0)) / (ref.std(axis=0) + 1e-6)


def _kernel(name: str):
    """The compiled kernel ``name`` of ``prosody._kernels`` (engine/ckernels.py), or None where the
    module is not built, is turned down, or was built before that kernel was added."""
    return None if KERNELS is None else getattr(KERNELS, name, None)


def _row_max(a: np.ndarray) -> np.ndarray:
    """``a.max(axis=1)`` of a 2-D array (at least one column), the same values (a maximum is exact
    in any order), a column at a time: numpy's reduction over a short last axis (the GMMs' 8
    components) runs ~10x slower."""
    out = a[:, 0].copy()
    for j in range(1, a.shape[1]):
        np.maximum(out, a[:, j], out=out)
    return out


def _row_sum(a: np.ndarray) -> np.ndarray:
    """``a.sum(axis=1)`` of a C-contiguous 2-D float array, the same values, a column at a time
    (~4x faster on the GMMs' (n, 8)): numpy sums fewer than 8 columns in order and 8 as its
    pairwise sum's eight partial sums, ((0 + 1) + (2 + 3)) + ((4 + 5) + (6 + 7)); other widths
    are numpy's own sum (tests/test_diarize_cost.py holds the two to the same bits)."""
    n = a.shape[1]
    if n == 8:
        return ((a[:, 0] + a[:, 1]) + (a[:, 2] + a[:, 3])) + ((a[:, 4] + a[:, 5]) + (a[:, 6] + a[:, 7]))
    if 1 <= n < 8:
        out = a[:, 0].copy()
        for j in range(1, n):
            out += a[:, j]
        return out
    return a.sum(axis=1)


class _DiagGmm:
    """Diagonal-covariance Gaussian mixture fitted by EM (deterministic start), on at most
    ``MAX_FIT_FRAMES`` of the frames given (evenly spaced: 160 s of speech fit a voice's 8
    components as well as an hour; a recording with less is fitted on every frame)."""

    MAX_FIT_FRAMES = 16000

    def __init__(self, x: np.ndarray, n: int, iterations: int):
        if len(x) > self.MAX_FIT_FRAMES:
            x = x[:: -(-len(x) // self.MAX_FIT_FRAMES)]
        self._fit(x, n, iterations)

    @classmethod
    def of_rows(cls, feats: np.ndarray, mask: np.ndarray, n: int, iterations: int) -> "_DiagGmm":
        """The mixture of ``feats[mask]``, the same fit, copying only the rows it is fitted on
        (an hour's speech frames of one voice: 31 MB of features, of which 16 000 rows are used)."""
        rows = np.flatnonzero(mask)
        if len(rows) > cls.MAX_FIT_FRAMES:
            rows = rows[:: -(-len(rows) // cls.MAX_FIT_FRAMES)]
        g = cls.__new__(cls)
        g._fit(feats[rows], n, iterations)
        return g

    def _fit(self, x: np.ndarray, n: int, iterations: int) -> None:
        n = max(1, min(n, len(x) // 20))
        order = np.argsort(x[:, 0], kind="stable")
        self.mu = np.stack([x[c].mean(axis=0) for c in np.array_split(order, n)])
        self.var = np.tile(x.var(axis=0) + 1e-3, (n, 1))
        self.logw = np.full(n, -np.log(n))
        xx = x * x  # once per fit, not twice per iteration
        # float32 rows (mono features) meet the float64 responsibilities, and after the first
        # iteration float64 parameters: numpy cast them to float64 in every product; cast once per
        # fit (the same values, the same products), 2 * x with them (exact in either type)
        x64, xx64 = x.astype(np.float64, copy=False), xx.astype(np.float64, copy=False)
        x2_64 = 2.0 * x64
        for _ in range(iterations):
            if np.result_type(x, self.mu, self.var) == x.dtype:  # float32 parameters: float32 products
                r = self._comp_ll(x, xx)
            else:
                r = self._comp_ll(x64, xx64, x2_64)
            r -= _row_max(r)[:, None]  # the responsibilities in place of the log-likelihoods
            np.exp(r, out=r)
            r /= _row_sum(r)[:, None]
            nk = r.sum(axis=0) + 1e-6
            self.mu = (r.T @ x64) / nk[:, None]
            self.var = np.maximum((r.T @ xx64) / nk[:, None] - self.mu ** 2, 1e-3)
            self.logw = np.log(nk / nk.sum())

    def _comp_ll(self, x: np.ndarray, xx: np.ndarray | None = None, x2: np.ndarray | None = None) -> np.ndarray:
        """Per frame and component, the log of its weighted density, a new array; ``xx``: ``x * x``, ``x2``:
        ``2.0 * x`` where known. ``logw - 0.5 * ((xx @ prec.T - x2 @ (mu * prec).T + c) + log_det)``, the same
        operations in place (one (n, k) array, not six)."""
        prec = 1.0 / self.var
        xx = x * x if xx is None else xx
        x2 = 2.0 * x if x2 is None else x2
        q = xx @ prec.T
        q -= x2 @ (self.mu * prec).T
        q += np.sum(self.mu ** 2 * prec, axis=1)
        q += np.sum(np.log(2 * np.pi * self.var), axis=1)
        q *= 0.5
        return np.subtract(self.logw, q, out=q if q.dtype == np.result_type(self.logw, q) else None)

    def loglik(self, x: np.ndarray) -> np.ndarray:
        """(n,) log density of each row of ``x``, ``_LL_ROWS`` rows at a time (each row's value
        is its own: an hour's speech frames no longer make ~100 MB of float64 temporaries)."""
        out = np.empty(len(x))  # float64, as the weights
        for a in range(0, len(x), self._LL_ROWS):
            ll = self._comp_ll(x[a:a + self._LL_ROWS])
            m = _row_max(ll)
            ll -= m[:, None]
            np.exp(ll, out=ll)
            out[a:a + len(ll)] = m + np.log(_row_sum(ll))
        return out

    def loglik_rows(self, x: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """``loglik(x[rows])``, the same values, without the copy of ``x[rows]`` (the rows gathered
        ``_LL_ROWS`` at a time, as ``loglik`` takes them)."""
        out = np.empty(len(rows))
        for a in range(0, len(rows), self._LL_ROWS):
            out[a:a + self._LL_ROWS] = self.loglik(x[rows[a:a + self._LL_ROWS]])
        return out

    _LL_ROWS = 32768


def kmeans2(e: np.ndarray, *, n_init: int = 10, iterations: int = 30) -> np.ndarray:
    """Two cosine clusters of unit vectors ``e`` (n, d): the best (largest summed
    similarity to the own centroid) of ``n_init`` seeded starts plus the farthest pair."""
    mean = e.mean(axis=0)
    a = int(np.argmin(e @ mean))
    inits = [(a, int(np.argmin(e @ e[a])))]
    rng = np.random.default_rng(0)
    inits += [tuple(rng.choice(len(e), 2, replace=False)) for _ in range(n_init)]
    return _best_cosine_clusters(e, inits, iterations)


def _best_cosine_clusters(e: np.ndarray, inits: list, iterations: int) -> np.ndarray:
    """Spherical k-means of unit vectors ``e`` (n, d) from each start in ``inits`` (k row
    indices of ``e`` each); the labels (n,) of the start with the largest summed similarity
    to the own centroid (``kmeans2``, ``kmeans_cos``)."""
    best, best_lab = -np.inf, np.zeros(len(e), dtype=np.int64)
    for init in inits:
        c = e[list(init)].copy()
        lab = None
        for _ in range(iterations):
            new = np.argmax(e @ c.T, axis=1)
            if lab is not None and np.array_equal(new, lab):
                break
            lab = new
            for j in range(len(c)):
                if np.any(lab == j):
                    v = e[lab == j].mean(axis=0)
                    c[j] = v / max(np.linalg.norm(v), 1e-12)
        obj = float(np.sum(np.max(e @ c.T, axis=1)))
        if obj > best + 1e-9:
            best, best_lab = obj, lab
    return best_lab


def _frame_features(mel: np.ndarray, channel_power: np.ndarray | None, n_mfcc: int) -> np.ndarray:
    """MFCCs 1..n_mfcc of mel power (m, 40), plus the inter-channel level difference (dB)."""
    f = _mfcc(mel, n_mfcc)
    if channel_power is not None:
        f = np.concatenate([f, 10 * np.log10(channel_power[:, :1] / channel_power[:, 1:2])], axis=1)
    return f


def _drop_blips(path: np.ndarray, idx: np.ndarray, *, min_voice: int, min_overlap: int, max_join: int,
                min_change_overlap: int = 0) -> np.ndarray:
    """Relabel short runs of the speech-frame path (compact index; ``idx`` maps to frames)::

        voice    0000000011000000000   a 1-run shorter than min_voice, joined (pauses < max_join
                                       frames) to 0-runs on both sides, becomes 0
        both     0000000022000000000   a 2-run shorter than min_overlap goes to its longer neighbour
        both     0000000022111111111   ... unless it joins two different voices with no pause
                                       and lasts min_change_overlap frames or more (0: never kept):
                                       an overlapped change of turn stays overlapped

    A short voice run set apart by pauses (a backchannel in the other's pause) stays.
    """
    out = path.copy()
    for _ in range(2):
        cuts = np.flatnonzero(np.diff(out)) + 1
        a = np.concatenate([[0], cuts])
        b = np.concatenate([cuts, [len(out)]])
        lab = out[a]
        for r in range(1, len(a) - 1):
            ln = b[r] - a[r]
            joined = idx[a[r]] - idx[a[r] - 1] <= max_join and idx[b[r]] - idx[b[r] - 1] <= max_join
            at_change = (0 < min_change_overlap <= ln and lab[r - 1] != lab[r + 1] and lab[r - 1] != 2
                         and lab[r + 1] != 2 and idx[b[r] - 1] - idx[a[r]] == ln - 1 and joined)
            if lab[r] == 2 and ln < min_overlap and not at_change:
                prev_len, next_len = b[r - 1] - a[r - 1], b[r + 1] - a[r + 1]
                out[a[r]:b[r]] = lab[r - 1] if prev_len >= next_len else lab[r + 1]
            elif lab[r] != 2 and ln < min_voice and joined and lab[r - 1] == lab[r + 1] and lab[r - 1] != lab[r]:
                out[a[r]:b[r]] = lab[r - 1]
    return out


_VITERBI_ROWS = 8192


def _viterbi(score: np.ndarray, penalty: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """Best state path for per-frame scores ``score`` (n, K) (log-likelihoods) with
    the cost ``penalty[i, j] * scale[t]`` of going from state i to state j into
    frame t. (n,) int64. The compiled loop where built (``_kernels.c`` ``viterbi``: the same
    operations on the same doubles in the same order, the same path), else ``_viterbi_py``."""
    kern = _kernel("viterbi")
    n, k = score.shape
    if kern is None or not 1 <= k <= 127:
        return _viterbi_py(score, penalty, scale)
    path = np.empty(n, np.int8)
    kern(np.ascontiguousarray(score, dtype=np.float64), np.ascontiguousarray(-np.asarray(penalty, dtype=np.float64)),
         np.ascontiguousarray(scale, dtype=np.float64), path)
    return path.astype(np.int64)


def _viterbi_py(score: np.ndarray, penalty: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """``_viterbi`` in Python: the reference and the fallback."""
    n, k = score.shape
    back = np.zeros((n, k), dtype=np.int8)
    # Python floats are the same IEEE doubles as numpy's, the same operations in the same
    # order, and a fraction of the cost of numpy calls on 3 x 3 arrays; as Python lists
    # ``_VITERBI_ROWS`` frames at a time (an hour's speech frames as lists took ~80 MB)
    trans = (-np.asarray(penalty, dtype=np.float64)).tolist()
    score64, scale64, states = np.asarray(score, dtype=np.float64), np.asarray(scale, np.float64), range(k)
    v = [0.0] * k
    for a0 in range(0, n, _VITERBI_ROWS):
        rows, scales = score64[a0:a0 + _VITERBI_ROWS].tolist(), scale64[a0:a0 + _VITERBI_ROWS].tolist()
        bk = [[0] * k for _ in rows]
        for s, row, b_i in zip(scales, rows, bk):
            nv = []
            for j in states:  # best predecessor of state j (the first of equal ones, as argmax)
                best, arg = v[0] + trans[0][j] * s, 0
                for a in states[1:]:
                    c = v[a] + trans[a][j] * s
                    if c > best:
                        best, arg = c, a
                b_i[j] = arg
                nv.append(best + row[j])
            v = nv
        back[a0:a0 + len(bk)] = np.asarray(bk, dtype=np.int8).reshape(len(bk), k)
    path = np.zeros(n, dtype=np.int64)
    state = int(np.argmax(v))
    for i in range(n - 1, -1, -1):
        path[i] = state
        state = back[i, state]
    return path


FRAME_MODEL_MIN_FRAMES = 100  # a voice's frames before its frame model is fitted (_diarize's rounds, _model_run_look)
FRAME_MODEL_MIN_SEEDED = 40  # the same in a retry seeded from the most atypical utterances (_minority_seed)
FRAME_LLR_CLIP = 20.0  # nats: one frame's say in the two frame models' ratio


def _model_llr(g: list, feats: np.ndarray) -> np.ndarray:
    """The frame models ``g`` (voice 0's, voice 1's) ratio per frame of ``feats``: voice 1 over voice 0, clipped."""
    return np.clip(g[1].loglik(feats) - g[0].loglik(feats), -FRAME_LLR_CLIP, FRAME_LLR_CLIP)


def _model_rows(frame_lab: np.ndarray, conf: np.ndarray, min_n: int,
                bare_path: Callable[[], np.ndarray]) -> list[np.ndarray] | None:
    """The frames each voice's frame model is fitted on: its confident frames (``conf``, (m,) bool; the
    windows whose vote is clear) where both voices have ``min_n`` of them; else, for a voice short of
    them, all of its frames (``frame_lab == k``), where each voice has ``min_n`` of those and the path
    read without frame models (``bare_path()``, (m,) 0/1, called only then) leaves a voice under
    ``min_n``: the next round, which fits its models on that path, would fit none either, and no
    three-state path is built; None otherwise (the models wait for the next round's path).

    A voice heard only in short answers (0.9-1.1 s, each inside windows that also hold the other
    voice) has few clear windows: AMI tst00 FEO070's seven answers on s142 shared, 694 frames labelled,
    94 of them confident, and the bare path giving her 99, left every round without frame models and
    five of the seven answers with the holder. Where the bare path gives the short voice its
    ``min_n`` (tst00 s103 shared's restart: 67 of 667 confident, the bare path 463), the next round's
    models are fitted on it and all labelled frames would only blur them (that restart's voices 0.268
    -> 0.219 apart, 9.83 % wrong-person; docs/speakers.md, seventy-fifth round, change counts)."""
    own = [frame_lab == k for k in (0, 1)]
    sure = [o & conf for o in own]
    if all(np.sum(s) >= min_n for s in sure):
        return sure
    if any(np.sum(o) < min_n for o in own):
        return None
    path = bare_path()
    if all(np.sum(path == k) >= min_n for k in (0, 1)):
        return None
    return [s if np.sum(s) >= min_n else o for s, o in zip(sure, own)]


def _cued_path(score: np.ndarray, cues: list[np.ndarray], weak: np.ndarray, penalty: float,
               scale: np.ndarray) -> np.ndarray:
    """The two-state path (``_viterbi2``) of ``score`` with each of ``cues`` ((m,) log-likelihood
    ratios of voice 1 over voice 0) added in turn, every frame weighed by ``weak``."""
    for c in cues:
        score = score + c
    return _viterbi2(score * weak, penalty, scale)


def _viterbi2(score: np.ndarray, penalty: float, scale: np.ndarray) -> np.ndarray:
    """Best 0/1 path for per-frame scores ``score`` (log-likelihood ratio of voice 1
    over voice 0), a change into frame t costing ``penalty * scale[t]``. (n,) int8. The compiled
    loop where built (``_kernels.c`` ``viterbi2``: the same path), else ``_viterbi2_py``."""
    kern = _kernel("viterbi2")
    if kern is None:
        return _viterbi2_py(score, penalty, scale)
    half = np.ascontiguousarray(0.5 * score, dtype=np.float64)  # float32 scores: widened exactly, as Python does
    path = np.empty(len(half), np.int8)
    kern(half, np.ascontiguousarray(penalty * np.asarray(scale, dtype=np.float64)), path)
    return path


def _viterbi2_py(score: np.ndarray, penalty: float, scale: np.ndarray) -> np.ndarray:
    """``_viterbi2`` in Python: the reference and the fallback."""
    n = len(score)
    back = np.zeros((n, 2), dtype=bool)  # True: came from the other state
    v0, v1 = 0.0, 0.0
    half = 0.5 * score
    pens = (penalty * np.asarray(scale, dtype=np.float64)).tolist()
    for i in range(n):
        penalty = pens[i]
        s0, s1 = -half[i], half[i]
        from0, from1 = v1 - penalty > v0, v0 - penalty > v1
        back[i, 0], back[i, 1] = from0, from1
        v0, v1 = (v1 - penalty if from0 else v0) + s0, (v0 - penalty if from1 else v1) + s1
    path = np.zeros(n, dtype=np.int8)
    state = int(v1 > v0)
    for i in range(n - 1, -1, -1):
        path[i] = state
        if back[i, state]:
            state = 1 - state
    return path


# --------------------------------------------------------------------------- diarization


def diarize(audio: np.ndarray, *, sample_rate: int = GRID.sample_rate, config: DiarizeConfig | None = None,
            n_voices: int | None = None, encoder: VoiceEncoder | None = None) -> Diarization:
    """Diarize one signal into one or two voices.

    ``audio``: (n_samples,) mono or (n_samples, n_channels) float at 16 kHz; a
    stereo table recording is diarized on its channel mean and the
    inter-channel level difference joins the frame features. ``n_voices``:
    how many people speak, as the user says (``None``: decide from the audio). 1 gives one
    voice. 2 runs as ``None`` does, but a split that the test for one voice in pieces refused
    (two alike voices changing inside speech, as in quick exchanges with backchannels) and that
    no restart replaced stays two voices; where no split holds up at all (frame models that hear
    no second voice and centroids nearer than ``two_voice_min_distance``: a split of one
    dominant voice, not two people), the result is one voice all the same, and the caller says
    so. Returns a ``Diarization`` with ``n_samples // 160`` frames.
    """
    cfg = (config or DiarizeConfig()).validate()
    grid = GRID
    if sample_rate != grid.sample_rate:
        raise InputError(f"sample_rate={sample_rate}: diarization runs at {grid.sample_rate} Hz; resample first")
    x = audio_2d(audio)
    if n_voices not in (None, 1, 2):
        raise InputError(f"n_voices={n_voices} must be 1, 2 or None (decide from the audio)")
    mono = x[:, 0] if x.shape[1] == 1 else ChannelMean(x)  # as _diarize reads it
    fixed, over_noise_db, speech = _speech_in_noise(mono, cfg, grid)
    memo: dict = {"speech": speech}

    def run(nv: int | None) -> Diarization:
        enc = encoder or VoiceEncoder.load()
        d, m = _heard_pass(_diarize(x, cfg, nv, enc, grid, memo=memo), x, cfg, nv, enc, grid, memo)
        d = _model_run_look(_run_look(d, enc, cfg, grid, m), enc, cfg, grid, m)
        d = _onset_run_look(_quiet_run_look(d, cfg, grid, m), cfg, grid, m)
        return _flip_overlap(_more_voices(d, cfg, m), cfg, grid, m)

    def both() -> tuple[Diarization, Diarization | None]:
        # one voice told: the audio's own answer too (its windows and features shared), so that a count told
        # wrong is said (a two-person mono mix told --voices 1 kept both as the therapist's without a word)
        d = run(n_voices)
        return d, (run(None) if n_voices == 1 and d.n_voices == 1 else None)
    if threadpool_limits is not None:
        with threadpool_limits(limits=1, user_api="blas"):
            d, found = both()
    else:
        d, found = both()
    d = replace(d, speech_over_noise_db=over_noise_db, speech_high_band_db=speech_high_band_db(mono, fixed, grid=grid))
    if found is not None and found.n_voices == 2:
        found = replace(found, speech_over_noise_db=d.speech_over_noise_db)
        if not split_unsure(found, cfg):  # two voices the audio alone gives, as an analysis without --voices would
            d = replace(d, heard_two=(float(found.separation), float(min(found.voice_share))))
    return as_unsure(d) if n_voices is None and split_unsure(d, cfg) else d


def _heard_pass(d: Diarization, x: np.ndarray, cfg: DiarizeConfig, nv: int | None, enc: VoiceEncoder, grid: Grid,
                memo: dict) -> tuple[Diarization, dict]:
    """Where the pauses' noise floor was taken off the speech's mel power (``_speech_mel``) and the diarization ``d``
    found two voices: the whole diarization again on the mel power as heard (``memo["melc_heard"]``; its own
    windows, restarts and frame models), its split kept where it mends ``d``'s utterances given to both voices
    (``_unmixes``) and holds (``_start_holds``); (the split, the memo the looks after ``_diarize`` then read).
    Only the utterances cut are read across the two passes: the separations and the frame models' gains are
    each read on its own spectra (the heard pass's gain stood up to 1.03 nats/frame over the floor-less pass's),
    and choosing on them (``_start_chosen``) made 9 of 16 moved rows worse.

    On AMI tst00 in pink noise at 20 dB every start made on the floor-less spectra cuts FEO072's 3.18 s clips
    on some recordings, and the k-means starts of windows embedded from the spectra as heard are the same
    starts (95 % of the windows or more); the whole pass on the heard spectra, its restarts resegmenting on
    them, parts them otherwise (draw 1 s104 mono: 0.51 of the planted frames right, every clip cut, against
    0.81 right, 0.14 of the clips cut; docs/speakers.md, eighty-fifth round). Cost: a second diarization of the
    recordings under the floor's gate (room noise) whose split cuts ``unmix_from`` or more of its utterances
    (nothing else can be mended), none elsewhere."""
    heard = memo.get("melc_heard")
    if heard is None or not cfg.noise_floor_pass or d.n_voices != 2 or cfg.unmix_from > 1.0:
        return d, memo
    idx = np.flatnonzero(memo["speech"])
    if not _mixed_utterances(d.owner[idx], idx, cfg, grid) >= cfg.unmix_from:
        return d, memo  # nothing the heard pass could mend: not run
    memo2 = {k: memo[k] for k in ("speech", "gain", "level", "f0_st") if k in memo}
    memo2["melc"] = heard
    alt = _diarize(x, cfg, nv, enc, grid, memo=memo2)
    if alt.n_voices == 2 and _unmixes(alt.owner[idx], d.owner[idx], idx, cfg, grid) \
            and _start_holds(alt, _overlap_share(d), cfg):
        return alt, memo2
    return d, memo


def _speech_in_noise(mono, cfg: DiarizeConfig, grid: Grid) -> tuple[np.ndarray, float, np.ndarray]:
    """(the fixed gate's speech mask, how far the speech stands over the noise on it (dB,
    ``speech_over_noise_db``), the speech the diarizer splits): the noise-following gate's
    (``RawVad(noise_following=True)``: the gate comes down with the recording's range, docs/speakers.md,
    twentieth round) where the speech stands ``follow_gate_above_db`` or more but less than
    ``follow_gate_below_db`` over the noise, else (or where that is not measured) the fixed gate's. In room
    noise the fixed 9 dB gate keeps the louder voice and drops much of a voice 10-15 dB quieter: the split
    then had too little of it and cut the louder voice's utterances in two instead (docs/speakers.md,
    sixtieth round); only where it adds ``follow_gate_min_added`` of the fixed gate's speech or more (hostile
    sweep 26: one voice alone in noise gained 10 frames of its own edges, and its split tipped into two)."""
    fixed = speech_mask(mono, cfg.vad, grid=grid)
    over_noise_db = speech_over_noise_db(mono, fixed, highpass_hz=cfg.vad.highpass_hz, grid=grid)
    if not cfg.follow_gate_above_db <= over_noise_db < cfg.follow_gate_below_db:
        return fixed, over_noise_db, fixed
    follow = speech_mask(mono, cfg.vad, grid=grid, noise_following=True)
    if np.sum(follow & ~fixed) < cfg.follow_gate_min_added * np.sum(fixed):  # nothing lost to the fixed gate
        return fixed, over_noise_db, fixed
    return fixed, over_noise_db, follow


def split_unsure(d: Diarization, cfg: DiarizeConfig) -> bool:
    """Whether ``d``'s split in two is not carried by its evidence (``DiarizeConfig.unsure_below_db``):
    its second voice too small to measure the separation's error (``separation_se`` nan), its frame
    models hearing no second voice (``model_gain`` under ``unsure_max_gain``; not measured, or -inf
    where a voice holds too few frames to model: no word), in speech less than ``unsure_below_db``
    over the noise. A real pair split so in clean speech is one dominant speaker and a short second
    one; in noise the same figures came from splits that had mixed the two people (docs/speakers.md,
    forty-first round)."""
    return (d.n_voices == 2 and d.separation_se != d.separation_se and -np.inf < d.model_gain < cfg.unsure_max_gain
            and d.speech_over_noise_db < cfg.unsure_below_db)


def as_unsure(d: Diarization) -> Diarization:
    """``d`` (two voices) as one voice whose split is withheld: all its speech voice 0's, the
    split's figures kept (``separation``, ``separation_se``, ``model_gain``; ``unsure_share``: the
    share its second voice held)."""
    speech = d.speech
    act = np.zeros_like(d.activity)
    act[:, 0] = speech
    v = d.centroids[0] * d.voice_share[0] + d.centroids[1] * d.voice_share[1]
    return replace(d, n_voices=1, activity=act, owner=np.zeros(d.n_frames, np.int8),
                   centroids=(v / max(float(np.linalg.norm(v)), 1e-12)).astype(np.float32)[None],
                   voice_share=(1.0, 0.0), more_voices=0, mixed=(False, False),
                   unsure_share=float(min(d.voice_share)))


def speech_over_noise_db(mono, speech: np.ndarray, *, highpass_hz: float, grid: Grid = GRID) -> float:
    """How far a recording's speech stands over its noise (dB), as the voice activity hears it.

    ``mono``: (n_samples,) float or a ``ChannelMean``; ``speech``: (n_frames,) bool, its speech
    frames. The 10 ms frames' power after the voice activity's high-pass (4th-order Butterworth
    at ``highpass_hz``: rumble and what is left of a hum count no more there than they do for
    it); the speech level is the power mean of the speech frames within 30 dB of their 99th
    percentile (an active-speech level, a click or a shout aside), the noise the median pause
    frame. nan with under 1 s of speech or of pauses (nothing to measure the noise on). Real voices
    in room noise are told apart less surely as this falls (``speakers.NOISY_SPEECH_BELOW_DB``;
    docs/speakers.md, thirty-fourth round)."""
    n = min(len(mono) // grid.hop_length, len(speech))
    sp = np.asarray(speech[:n], bool)
    need = grid.s_to_frames(1.0)
    # the pauses, but not the digital silence the recording starts or ends with (a capture's zeros): no noise (ds92)
    pause = ~sounding(mono, sp, grid.hop_length)
    if sp.sum() < need or pause.sum() < need:
        return float("nan")
    rows = frame_rows(mono, n, grid.hop_length)
    sos = butter_highpass_sos(4, highpass_hz, sample_rate=grid.sample_rate)
    zi = np.zeros((sos.shape[0], 2))
    power = np.empty(n, np.float64)
    for a in range(0, n, _ROWS):  # filtered piece by piece, its state carried: an hour is never held filtered
        r = np.asarray(rows[a:a + _ROWS], np.float64)
        y, zi = sosfilt(sos, r.ravel(), zi)
        power[a:a + len(r)] = np.mean(np.square(y.reshape(r.shape)), axis=1)
    lv = 10 * np.log10(power + 1e-20)
    s = lv[sp]
    s = s[s > np.percentile(s, 99) - 30]
    return float(10 * np.log10(np.mean(10 ** (s / 10))) - np.median(lv[pause]))


HIGH_BAND_HZ = (4300.0, 7800.0)  # above a telephone channel's 3.4-4 kHz edge, below 16 kHz audio's 8 kHz
VOICE_BAND_HZ = (300.0, 3400.0)  # the telephone band
_BAND_MAX_ROWS = 4000  # speech frames (and pause frames) read, spread evenly over the recording
_BAND_FLOOR_DB = -90.0  # nothing measurable up there (no more than the pauses hold): this
_BAND_NOISY_RAW = 10 ** (-35 / 10)  # a high band in speech within 35 dB of the voice band, half of it noise: not told


def speech_high_band_db(mono, speech: np.ndarray, *, grid: Grid = GRID) -> float:
    """How much of a recording's speech lies above the telephone band (dB): the speech's power at
    ``HIGH_BAND_HZ``, the pauses' power there (the noise) taken out, over its power at ``VOICE_BAND_HZ``.

    ``mono``: (n_samples,) float at 16 kHz or a ``ChannelMean``; ``speech``: (n_frames,) bool, its speech
    frames. Each band's power is the mean over up to ``_BAND_MAX_ROWS`` speech frames (spread evenly) of
    the power spectrum of a 25 ms Hann window centred on the frame; from the high band's, the same mean
    over as many pause frames is taken (the noise; not where there is under 1 s of pauses). Measured
    (docs/speakers.md, thirty-seventh round; 97 recordings: AMI and espeak dialogues, one- and two-voice
    espeak and AMI recordings): wide-band speech as recorded, through MP3 at 32 kbit/s, AAC at 24 or Opus
    at 12-16, read -11.5 .. -33.5 dB; through a 300-3400 Hz telephone channel -61 .. -68 dB, GSM -46 dB
    or under, resampled from 8 kHz -36 .. -63 dB; -90 dB at the lowest (no more there than in the
    pauses). nan with under 1 s of speech, where the speech frames stand less than 3 dB over the pauses
    in the telephone band (no speech to measure), or where at least half of the speech frames' high
    band is the pauses' noise and that band holds more than -35 dB of the voice band's power: a
    wide-band voice in loud white noise and a telephone voice under hiss then read alike (the difference
    of two near-equal powers, moved by which noisy frames the voice activity took for speech: a
    telephone voice under hiss at -50 dBFS read up to -17 dB). Voices are told apart less surely in the
    narrow band (``speakers.NARROW_BAND_BELOW_DB``;
    docs/speakers.md, thirty-seventh round)::

        power   |---- 0.3-3.4 kHz ----|  3.4-4.3  |---- 4.3-7.8 kHz ----|
        wide    ######################            ######                    -11 .. -34 dB
        phone   ######################            (nothing but the pauses' noise) under -41 dB
    """
    n = min(len(mono) // grid.hop_length, len(speech))
    sp = np.asarray(speech[:n], bool)
    need = grid.s_to_frames(1.0)
    rows_s, rows_p = np.flatnonzero(sp), np.flatnonzero(~sp)
    if len(rows_s) < need:
        return float("nan")
    spread = (lambda r: r if len(r) <= _BAND_MAX_ROWS else r[np.linspace(0, len(r) - 1, _BAND_MAX_ROWS).astype(np.int64)])
    high_s, voice_s = _band_powers(mono, spread(rows_s), grid)
    high_p, voice_p = _band_powers(mono, spread(rows_p), grid) if len(rows_p) >= need else (0.0, 0.0)
    if not voice_s > 2.0 * voice_p:  # the speech not 3 dB over the pauses in its own band: nothing to measure
        return float("nan")
    if high_p >= 0.5 * high_s and high_s >= _BAND_NOISY_RAW * voice_s:
        return float("nan")  # the high band in speech is mostly noise, and noise of some power: too unsure to tell
    # the voice band as the speech frames hold it: pause frames hold what the voice activity missed of a quiet
    # voice there (taken out too, a telephone voice under hiss read higher still)
    return max(_BAND_FLOOR_DB, float(10 * np.log10(max(high_s - high_p, 1e-30) / voice_s)))


def _band_powers(mono, rows: np.ndarray, grid: Grid) -> tuple[float, float]:
    """Mean power of the frames ``rows`` at ``HIGH_BAND_HZ`` and at ``VOICE_BAND_HZ``: per frame, the
    power spectrum of a 25 ms periodic Hann window centred on it (zero padded at the ends), summed over
    each band's bins. Only the frames' own samples are read (an hour's stereo mean is never made)."""
    x = as_signal(mono)
    hop, n_fft = grid.hop_length, N_FFT  # the encoder's 25 ms analysis window
    pad = n_fft // 2
    freq = np.fft.rfftfreq(n_fft, 1.0 / grid.sample_rate)
    high = (freq >= HIGH_BAND_HZ[0]) & (freq <= HIGH_BAND_HZ[1])
    voice = (freq >= VOICE_BAND_HZ[0]) & (freq <= VOICE_BAND_HZ[1])
    window = periodic_hann()
    frames = np.zeros((len(rows), n_fft), np.float32)
    first = np.asarray(rows, np.int64) * hop - pad
    inside = (first >= 0) & (first + n_fft <= len(x))
    if inside.any():  # whole rows at once; the few at the recording's ends zero padded one by one
        frames[inside] = windows_at(x, first[inside], n_fft)
    for i in np.flatnonzero(~inside):
        lo, hi = int(first[i]), int(first[i]) + n_fft
        seg = x[max(lo, 0):min(hi, len(x))]
        frames[i, max(0, -lo):max(0, -lo) + len(seg)] = seg
    frames *= window
    spec = rfft(frames, axis=1)
    power = np.square(spec.real) + np.square(spec.imag)
    return (float(power[:, high].sum(axis=1, dtype=np.float64).mean()),
            float(power[:, voice].sum(axis=1, dtype=np.float64).mean()))


def _diarize(x: np.ndarray, cfg: DiarizeConfig, force: int | None, enc: VoiceEncoder, grid: Grid, *,
             seed: np.ndarray | None = None, pre_emb: np.ndarray | None = None,
             memo: dict | None = None, unless_like: np.ndarray | None = None,
             start_lab: np.ndarray | None = None) -> Diarization:
    first_pass = seed is None and pre_emb is None and unless_like is None and start_lab is None  # not a retry or restart
    memo = {} if memo is None else memo  # the front end, computed once and reused by the retry
    hop = grid.hop_length
    n = len(x) // hop

    def mono():  # the channels' mean: of a stereo recording computed where read (ChannelMean), never held
        return x[:, 0] if x.shape[1] == 1 else ChannelMean(x)

    def frames():
        return frame_rows(mono(), n, hop)

    speech = _memo(memo, "speech", lambda: speech_mask(mono(), cfg.vad, grid=grid))
    empty = Diarization(n_voices=0, activity=np.zeros((n, 2), bool), owner=np.zeros(n, np.int8),
                        centroids=np.zeros((0, 256), np.float32), separation=float("nan"), voice_share=(0.0, 0.0))
    if n == 0 or speech.sum() < grid.s_to_frames(0.3):
        return empty
    # level: the encoder was trained on speech normalised to -30 dBFS (mel power is not log)
    # the level as the encoder hears it: mono scaled by ``gain`` (each consumer scales the samples it
    # reads, so that the scaled signal is never held whole beside the recording)
    gain = _memo(memo, "gain", lambda: 10 ** (-30 / 20) / max(_speech_rms(frames(), speech), 1e-9))
    # embedding windows over the speech frames joined end to end (pauses left out, as
    # resemblyzer trims long silences before embedding): compact index j is frame idx[j]
    idx = np.flatnonzero(speech)
    # the speech frames' mel power, once for every restart (the whole recording's is not kept:
    # only its speech frames are read)
    melc = _memo(memo, "melc", lambda: _speech_mel(lambda rows: mel_frames_at(mono(), rows, gain=gain), speech, n,
                                                   cfg, grid, heard=memo))
    starts, w = _window_starts(len(idx), cfg, grid)
    emb = _window_embeddings(enc, melc, starts, w, cfg, grid, memo) if pre_emb is None else pre_emb
    memo.setdefault("windows", (starts, w, emb))  # the first pass's, for _more_voices
    # two candidate voices
    m = len(idx)
    single = _one_voice(n, speech, emb, float("nan"))
    if len(emb) < 2 or force == 1:
        return single
    lab = kmeans2(emb, n_init=cfg.n_init) if start_lab is None else start_lab
    if np.bincount(lab, minlength=2).min() == 0:
        return single
    # quiet frames (utterance tails, reverberation) carry little evidence of the voice; a
    # change of voice costs less after a pause than inside speech
    lv = 10 * np.log10(_memo(memo, "level", lambda: frame_mean_square(frames(), np.float32))[idx] + 1e-12)
    f0_st = _memo(memo, "f0_st", lambda: _frame_f0_st(mono(), idx, grid=grid, gain=gain)) if cfg.pitch_weight > 0 else None
    tail = _run_tails(idx, grid.s_to_frames(cfg.pitch_tail_s)) if f0_st is not None and cfg.pitch_tail_s > 0 else None
    f0_ctx = None if tail is None else _memo(  # the stretch's pitch on the runs' ends: once per recording
        memo, ("f0_context", cfg.pitch_tail_s, cfg.pitch_context_s),
        lambda: _pitch_context(f0_st, idx, grid.s_to_frames(cfg.pitch_context_s), where=tail))
    chp, feats, mu, sd = _speech_features(memo, x, idx, cfg.n_mfcc, grid, stereo=x.shape[1] >= 2)
    ref = np.percentile(lv, 90)
    weak = np.clip((lv - (ref - cfg.weak_below_db)) / 15.0, 0.1, 1.0)
    scale = np.ones(m)
    scale[1:][np.diff(idx) > grid.s_to_frames(0.1)] = cfg.pause_switch_scale
    # alternate: voices' centroids -> window vote + per-voice GMMs -> Viterbi path ->
    # windows lying within one voice of the path -> centroids again
    # stereo table recordings: where the windows' inter-channel level differences form
    # two distinct modes (each voice nearer one microphone), that split starts the
    # resegmentation instead of the embeddings' (two voices GE2E hardly tells apart, or
    # one voice holding most of the recording, which k-means would cut in two)
    spatial = False
    if chp is not None:
        loud = lv >= ref - cfg.spatial_loud_db
        ild = 10 * np.log10(chp[:, 0] / chp[:, 1])
        sp_lab = _spatial_split(ild, loud, starts, w, cfg)
        ild_s = np.convolve(ild, np.ones(11) / 11, mode="same")  # 0.1 s running mean
        if sp_lab is not None and seed is None:
            lab, spatial = sp_lab, True
    # likewise the windows' median pitch, where it forms two distinct modes
    pitched = False
    if not spatial and f0_st is not None and cfg.pitch_split_min_st > 0:
        p_lab = _pitch_split(f0_st, starts, w, cfg)
        if p_lab is not None:
            lab, pitched = p_lab, True
    if seed is not None:  # a retry from the most atypical utterances (_minority_seed)
        lab, pitched = _seed_windows(seed, starts, w), False
    win_lab, win_pure = lab, np.ones(len(lab), bool)
    g = path = None  # each round's frame models and path; the first round labels its frames from the vote
    for it in range(cfg.resegment_iterations):
        cents = _centroids(emb, win_lab, win_pure)
        d = emb @ cents[1] - emb @ cents[0]
        vote = cfg.embedding_weight * _spread(d, starts, w, m) / max(float(np.std(d)), 1e-3)
        frame_lab = (vote > 0) if it == 0 else (path == 1)
        conf = np.ones(m, bool) if it > 0 else \
            _spread((np.abs(d) >= np.quantile(np.abs(d), 0.3)).astype(float), starts, w, m) > 0.5
        if it == 0 and pitched:  # the first frame models from the pitch itself: 0.3 s runs of clear pitch
            pl = _pitch_llr(f0_st, _spread(win_lab.astype(float), starts, w, m) > 0.5, np.ones(m, bool), 0.0)
            run = np.convolve(pl, np.ones(31), mode="same")
            if all(np.sum((np.abs(run) >= cfg.pitch_split_conf) & ((run > 0) == k)) >= FRAME_MODEL_MIN_FRAMES
                   for k in (0, 1)):
                frame_lab, conf = run > 0, np.abs(run) >= cfg.pitch_split_conf
        if it == 0 and seed is not None:
            frame_lab, conf = seed, np.ones(m, bool)
        cues = []  # added to the frame models' score: the level difference as its own cue (not one feature of 21)
        if spatial:
            cues.append(cfg.spatial_weight * _ild_llr(ild_s, frame_lab == 1, conf & loud))
        if f0_st is not None:
            cues.append(cfg.pitch_weight * _pitch_llr(f0_st, frame_lab == 1, conf, cfg.pitch_min_st, context=f0_ctx))
        rows = _model_rows(frame_lab, conf, FRAME_MODEL_MIN_FRAMES if seed is None else FRAME_MODEL_MIN_SEEDED,
                           lambda: _cued_path(vote, cues, weak, cfg.switch_penalty, scale))
        g = None if rows is None else [_DiagGmm.of_rows(feats, rows[k], cfg.n_gauss, cfg.gmm_iterations)
                                       for k in (0, 1)]
        score = vote if g is None else vote + _model_llr(g, feats)
        path = _cued_path(score, cues, weak, cfg.switch_penalty, scale)
        frac1 = _window_mean(path.astype(float), starts, w)
        win_lab = (frac1 > 0.5).astype(np.int64)
        win_pure = (frac1 <= 0.1) | (frac1 >= 0.9)
        if min(np.sum(win_pure & (win_lab == k)) for k in (0, 1)) == 0:
            break
    # overlapped speech: a third model trained on mixtures made by adding the mel power
    # (and channel power) of random frame pairs of the two voices at -6..+6 dB
    path3 = path.astype(np.int8)
    ll = None
    if cfg.overlap_penalty is not None and g is not None:
        rng = np.random.default_rng(0)
        ia, ib = np.flatnonzero(path == 0), np.flatnonzero(path == 1)
        if min(len(ia), len(ib)) >= 100:
            k = min(cfg.overlap_train_frames, 4 * max(len(ia), len(ib)))
            ia, ib = rng.choice(ia, k), rng.choice(ib, k)
            gain = 10 ** (rng.uniform(-6, 6, k) / 10)
            mix_chp = None if chp is None else chp[ia] * gain[:, None] + chp[ib]
            fo = (_frame_features(melc[ia] * gain[:, None] + melc[ib], mix_chp, cfg.n_mfcc) - mu) / sd
            g_ov = _DiagGmm(fo.astype(np.float64), cfg.n_gauss, cfg.gmm_iterations)
            ll = np.stack([g[0].loglik(feats), g[1].loglik(feats), g_ov.loglik(feats)], axis=1)
            ll = np.maximum(ll - ll.max(axis=1, keepdims=True), -20.0)
            ll[:, 0] -= 0.5 * vote
            ll[:, 1] += 0.5 * vote
            pen = np.array([[0.0, cfg.switch_penalty, cfg.overlap_penalty],
                            [cfg.switch_penalty, 0.0, cfg.overlap_penalty],
                            [cfg.overlap_penalty, cfg.overlap_penalty, 0.0]])
            path3 = _viterbi(ll * weak[:, None], pen, scale).astype(np.int8)
            if first_pass and np.mean(path3 == 2) > cfg.overlap_max_share:  # a voice heard as "both": no overlap
                path3, ll = path.astype(np.int8), None
    blips = dict(min_voice=grid.s_to_frames(cfg.min_voice_run_s), min_overlap=grid.s_to_frames(cfg.min_overlap_run_s),
                 max_join=grid.s_to_frames(0.15))
    # the frames' owners keep short overlaps at changes of turn; the one-or-two decision
    # below reads the path without them (kept, they make one voice cut in two look like two)
    owned = _drop_blips(path3, idx, **blips, min_change_overlap=grid.s_to_frames(cfg.min_change_overlap_s))
    owned = _second_look(owned, ll, weak, cfg, grid)
    owned = _dip_filled_look(owned, ll, weak, lv, cfg, grid)
    owned = _pitch_look(owned, f0_st, lv, cfg, grid)
    owned = _both_at_utterance_edges(owned, idx, cfg, grid)
    owned = _edge_runs(owned, idx, grid.s_to_frames(cfg.edge_run_max_s), ll=ll,
                       tail_max_n=grid.s_to_frames(cfg.edge_tail_max_s), tail_nats=cfg.edge_tail_nats)
    owned = _overlap_like_holder(owned, ll, cfg, grid.s_to_frames(cfg.overlap_holder_max_s))
    owned = _tail_refit(owned, idx, feats, g, cfg, grid)
    path3 = _drop_blips(path3, idx, **blips)
    # the resegmentation's per-frame arrays are not read below: not held through the restarts, each of
    # which holds its own (an hour's speech: some 25 MB a pass)
    vote = score = ll = weak = scale = lv = path = conf = frame_lab = ild = ild_s = loud = rows = cues = None
    # one voice or two: embed each voice's own frames of the path (joined end to end, no
    # overlap) and compare; an arbitrary split of one voice gives two near-identical voices
    if unless_like is not None and not _relabels_a_stretch(unless_like, path3,
                                                           grid.s_to_frames(cfg.finer_min_change_s)):
        return single  # a restart that moves no stretch of speech: its separation is not measured (_finer_restart)
    own = _voices_own_windows(enc, melc, path3, cfg, grid, emb, starts, w)
    if not own:  # either voice holds less than min_voice_s
        return single
    cents = np.stack([own[k].mean(axis=0) / max(float(np.linalg.norm(own[k].mean(axis=0))), 1e-12)
                      for k in (0, 1)]).astype(np.float32)
    separation = _separation_of(cents)
    separation_se = _separation_se(own, cents)
    gain = _steady_gain(feats, path3, cfg, cfg.two_voice_min_gain)
    overlap = float(np.mean(owned == 2))  # share of the speech given to both voices
    two = spatial or pitched or gain >= cfg.two_voice_min_gain or (separation >= cfg.two_voice_min_distance
                                                        and gain >= cfg.two_voice_gain_floor)
    if not two and separation >= cfg.two_voice_min_distance and _short_pitched_apart(path3, f0_st, cfg, grid):
        two = True  # a short recording: the frame models' gain is their overfitting; the voices' pitch tells
    suspect = False  # cut like one voice in pieces, but turning at pauses as two people do
    pieces = False
    # a first pass whose voices lie clearly apart and change mostly at its turns is no voice in pieces (a
    # real pair's first pass gives turn ends to the other voice; one voice's pieces lie nearer, cut inside
    # speech)
    kept = (first_pass and _near_keep_bar(separation, separation_se, cfg) and gain >= cfg.pieces_keep_min_gain
            and _turn_like(path3, idx, cfg))
    if two and seed is None and not (spatial or pitched or kept):
        if _one_voice_in_pieces(path3, idx, f0_st, separation, cfg):
            two, pieces = False, True
        elif cfg.pieces_max_pause_share < 1.0:
            suspect = _one_voice_in_pieces(path3, idx, f0_st, separation, replace(cfg, pieces_max_pause_share=1.0))
    if seed is not None:  # the retry's own test (_minority_retry)
        two = separation >= cfg.two_voice_min_distance
    if seed is None:  # a suspect split: the retry runs whatever the frame models' gain (also where two are told)
        alt = _minority_retry(x, cfg, enc, grid, feats, idx, emb, melc, two, -np.inf if suspect else gain,
                              separation, memo=memo)
        if (alt is not None and two and kept and cfg.pieces_keep_minority_gain
                and np.isfinite(alt.model_gain) and alt.model_gain < gain):
            alt = None  # a kept first pass the retry's frame models hear worse: a few odd utterances of one voice
        if alt is None and (suspect or not two):
            alt = _odd_utterance_retry(x, cfg, enc, grid, feats, idx, emb, melc, memo=memo)
            if alt is not None and two and not alt.separation > separation:
                alt = None
        if alt is not None:
            return alt
    if not two:
        if pieces and cfg.pieces_restart and gain >= cfg.minority_retry_below_gain:  # the frame models hear two
            # each restart judged on its own (further apart than two voices must be), not against this pass's split
            fine = _finer_restart(x, cfg, enc, grid, cfg.two_voice_min_distance, memo=memo, path=path3)
            if fine is not None:
                return fine
            by_utt = _utterance_restart(x, cfg, enc, grid, idx, melc, emb, memo, path3, cfg.two_voice_min_distance,
                                        float("nan"), float("nan"), overlap, clear=False)
            if by_utt is not None:  # further apart than two_voice_min_distance (_further_apart)
                return by_utt
        # two voices told (force 2): the user's word stands for the pieces test alone (two alike voices in quick
        # exchanges, backchannels inside turns, change voice inside speech as one voice in pieces does), not for
        # the frame models' or the centroids' word (a split of one dominant voice: they hear no second voice;
        # the caller says so). The split goes on to the restarts below, as two voices found would.
        if force == 2 and seed is None and not pieces:
            told = _told_utterance_retry(x, cfg, enc, grid, feats, idx, emb, melc, memo=memo)
            if told is not None:
                return told
        if not (force == 2 and pieces):
            return _one_voice(n, speech, emb, separation)
    if seed is None:  # two voices found, or told (force 2): the restarts may find them further apart
        fine = _finer_restart(x, cfg, enc, grid, separation, memo=memo, path=path3, separation_se=separation_se,
                              gain=gain)
        regrouped = None if spatial or pitched else _subcluster_restart(  # a split by another cue: not k-means'
            x, cfg, enc, grid, separation if fine is None else fine.separation, emb, lab, memo=memo, path=path3)
        if regrouped is not None:
            return regrouped
        best = (separation, separation_se, gain, overlap) if fine is None else (
            fine.separation, fine.separation_se, fine.model_gain, _overlap_share(fine))
        best_path = owned if fine is None else fine.owner[idx]
        line = None
        if not (spatial or pitched):
            line = _line_restart(x, cfg, enc, grid, idx, melc, emb, lab, memo, path3, *best, best_path=best_path)
            if line is not None:
                best = (line.separation, line.separation_se, line.model_gain, _overlap_share(line))
                best_path = line.owner[idx]
            by_utt = _utterance_restart(x, cfg, enc, grid, idx, melc, emb, memo, path3, *best, best_path=best_path)
            if by_utt is not None:
                return by_utt
        if line is not None:
            return line
        if fine is not None:
            return fine
    owner = owner_with_pauses(owned, speech, idx)
    act = np.stack([speech & (owner != 1), speech & (owner != 0)], axis=1)
    sh = act.sum(axis=0) / max(1, speech.sum())
    return Diarization(n_voices=2, activity=act, owner=owner, centroids=cents, separation=separation,
                       voice_share=(float(sh[0]), float(sh[1])), separation_se=separation_se, model_gain=gain)


def _run_look(d: Diarization, enc: VoiceEncoder, cfg: DiarizeConfig, grid: Grid, memo: dict) -> Diarization:
    """Short runs of one voice whose own embedding lies nearer the other voice, given to it.

    The frame models and the window votes place each speech frame; a short run (a 0.5 s answer, an
    utterance's tail) is judged by windows that mostly hold the speech around it. Here each run of one
    voice of ``run_look_min_s`` .. ``run_look_max_s`` of speech (pauses up to ``run_look_bridge_s``
    inside it; a frame of both voices ends it) is embedded alone, as one window of its own speech
    frames, and given to the other voice where its cosine to the other voice's centroid exceeds that
    to its own by more than ``run_look_margin`` (0.05; a run under ``run_look_short_s``, 0.45 s, whose
    embedding is less sure, by more than ``run_look_short_margin``, 0.08)::

        owner   0 0 0 0 1 1 1 0 0 0 0 1 1 1 1 1        a run of voice 1, 0.5 s: embedded alone
        cos     to 0: 0.71   to 1: 0.64  ->  margin 0.07 > 0.05: given to voice 0
        owner   0 0 0 0 0 0 0 0 0 0 0 1 1 1 1 1

    Traced on the recordings of ``benchmarks/diarization.py`` splits amireal, amireal3, amireal5,
    held, fresh14 and fresh6 (real voices of one sex and espeak voices; amireal and amireal5 also
    with pink noise 20 dB under them, amireal, amireal3 and amireal5 also rounded to 16-bit samples):
    of 2482 runs of the right voice, those of 0.45 s or more lay at most 0.033 nearer the other voice,
    the shorter ones at most 0.056; of the runs given to the wrong person, 51 lie beyond these margins
    (docs/speakers.md, thirty-fifth round). Runs over ``run_look_max_s`` (1 s) are left: they are
    seldom wrong whole, and up to 2.5 s the runs hold 75-83 % of the speech (the look then cost 0.003
    CPU s per audio second, against 0.0006 up to 1 s). An utterance between pauses over
    ``run_look_bridge_s`` that holds one voice's frames and frames of both, and no frame of the other
    voice alone, is read whole as a run of that voice (``_islands_with_both``), and where it goes, that
    voice's frames in it go (its frames of both are left; its runs are not read alone): its frames of
    both would cut it into runs too short to embed (docs/speakers.md, seventy-eighth round). One look,
    from the final labels; the centroids are kept. Two voices only."""
    got = _look_path(d, memo) if cfg.run_look_margin > 0 else None
    if got is None:
        return d
    speech, idx, owned = got
    melc = memo["melc"]
    lo, hi = grid.s_to_frames(cfg.run_look_min_s), grid.s_to_frames(cfg.run_look_max_s)
    bridge = grid.s_to_frames(cfg.run_look_bridge_s)
    islands = _islands_with_both(owned, idx, bridge, lo, hi)
    in_island = np.zeros(len(owned), bool)
    for a, b, _ in islands:
        in_island[a:b] = True
    runs = [(int(a), int(b), int(owned[a])) for a, b in _run_bounds(owned, idx, bridge)
            if owned[a] != 2 and lo <= b - a <= hi and not in_island[a]] + islands
    if not runs:
        return d
    e = enc.embed_windows_of_lengths(melc, starts=[a for a, _, _ in runs], lengths=[b - a for a, b, _ in runs])
    sims = e @ d.centroids.T  # (runs, 2)
    short = grid.s_to_frames(cfg.run_look_short_s)
    flip = [(a, b, k) for (a, b, k), s in zip(runs, sims)
            if s[1 - k] - s[k] > (cfg.run_look_margin if b - a >= short else cfg.run_look_short_margin)]
    return _flipped(d, owned, [(a + i, a + j) for a, b, k in flip for i, j in _run_bounds(owned[a:b])
                               if owned[a + i] == k], speech, idx)


def _islands_with_both(owned: np.ndarray, idx: np.ndarray, bridge_n: int, lo_n: int,
                       hi_n: int) -> list[tuple[int, int, int]]:
    """(start, end, voice) of the stretches of ``lo_n`` .. ``hi_n`` speech frames of the speech-frame path
    ``owned`` (compact index ``idx``; 2: both voices) between pauses over ``bridge_n`` frames that hold one
    voice's frames and frames of both, and no frame of the other voice alone: an utterance nobody else is
    heard alone in, which ``_run_look`` reads whole (its frames of both would cut it into runs too short
    to embed)::

        speech  ....||||||||||||||||||||||....   one utterance between pauses, 0.77 s
        owner   ....0000000222222222000000....   voice 0 and both: read as one run of voice 0

    AMI dev01 s103 mono's therapist answer (docs/speakers.md, seventy-eighth round): 0.21 s of the
    client's voice, 0.29 s of both, 0.27 s of the client's voice, embedded whole +0.139 nearer the
    therapist; the runs of 0.21 and 0.27 s lie under ``run_look_min_s``."""
    cuts = np.flatnonzero(np.diff(idx) > bridge_n) + 1
    out = []
    for a, b in zip(np.concatenate([[0], cuts]), np.concatenate([cuts, [len(owned)]])):
        has = [bool(np.any(owned[a:b] == v)) for v in (0, 1, 2)]
        if lo_n <= b - a <= hi_n and has[2] and has[0] != has[1]:
            out.append((int(a), int(b), 0 if has[0] else 1))
    return out


def _look_path(d: Diarization, memo: dict) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """For a last look that embeds stretches of the final labels alone (``_run_look``,
    ``_model_run_look``): the speech mask, its compact index and ``d``'s speech-frame path (0, 1; 2:
    both voices); None where there is nothing to look at (not two voices, no speech frames' mel in
    ``memo``, or ``d`` not on its frames)."""
    if d.n_voices != 2 or "melc" not in memo:
        return None
    speech = memo["speech"]
    idx = np.flatnonzero(speech)
    if len(idx) != len(memo["melc"]) or len(d.owner) != len(speech):
        return None
    return speech, idx, np.where(d.activity[idx].all(axis=1), 2, d.owner[idx]).astype(np.int8)


def _flipped(d: Diarization, owned: np.ndarray, flip: list, speech: np.ndarray, idx: np.ndarray) -> Diarization:
    """``d`` with the (start, end) stretches ``flip`` of the speech-frame path ``owned`` (compact index
    ``idx`` of ``speech``; 2: both voices) given to the other voice; ``d`` itself where none."""
    if not flip:
        return d
    owned = owned.copy()
    for a, b in flip:
        owned[a:b] = 1 - owned[a:b]
    owner = owner_with_pauses(owned, speech, idx)
    act = np.stack([speech & (owner != 1), speech & (owner != 0)], axis=1)
    sh = act.sum(axis=0) / max(1, speech.sum())
    return replace(d, activity=act, owner=owner, voice_share=(float(sh[0]), float(sh[1])))


def _model_run_look(d: Diarization, enc: VoiceEncoder, cfg: DiarizeConfig, grid: Grid, memo: dict) -> Diarization:
    """Stretches of one voice that the frame models give to the other voice, and whose own
    embedding lies nearer it, given to it: ``_run_look``'s mirror, led by the frame models.

    A short answer lies in every embedding window together with the holder's speech around it, so
    the window vote gives it to the holder; ``_run_look`` then embeds it alone, but a 1 s answer
    lies only +0.02 to +0.08 nearer its own voice, under that look's margin, which has to hold for
    every run. Here two frame models are fitted on the labels (each voice's frames alone); in each
    run of one voice (pauses up to ``run_look_bridge_s`` inside it; a frame of both voices ends it)
    of ``model_look_min_s`` .. ``model_look_max_s`` (0.5-1.2 s) of speech where they favour the
    other voice on average, and in each longer run at its stretches of that length where they
    favour the other voice the most (``_best_stretch``; the rest of the run searched again), the
    stretch is embedded alone and given to the other voice where its cosine to that voice's centroid
    exceeds that to its own at all::

        owner   1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1    voice 1 holds the floor
        llr     . . . . . + + + + + + . . . . . . .    the frame models favour voice 0 over 0.6 s
        cos     to 0: 0.69   to 1: 0.67  ->  nearer voice 0: given to it
        owner   1 1 1 1 1 0 0 0 0 0 0 1 1 1 1 1 1 1

    Both tests are needed: on the splits amireal5, held and fresh14 of ``benchmarks/diarization.py``
    (134 recordings) the frame models fitted on the final labels favour the other voice at 7
    stretches; the 3 whose embedding lies nearer the other voice (+0.023 to +0.058) are 0.90-0.99 the
    other voice's planted speech, the 2 of the holder's own lie 0.009 and 0.054 nearer the holder
    (docs/speakers.md, seventy-fifth round, second pass). A stretch given to the voice with less speech
    can be learnt by that voice's model (its frames are in the fit): ``_run_look`` is the look for
    those. Two voices only; the centroids are kept."""
    got = _look_path(d, memo) if cfg.model_look_max_s > 0 else None
    if got is None:
        return d
    speech, idx, owned = got
    if min(np.sum(owned == k) for k in (0, 1)) < FRAME_MODEL_MIN_FRAMES:
        return d
    feats = _speech_features(memo, None, idx, cfg.n_mfcc, grid, stereo=False)[1]
    g = [_DiagGmm.of_rows(feats, owned == k, cfg.n_gauss, cfg.gmm_iterations) for k in (0, 1)]
    llr = _model_llr(g, feats)
    found = _model_stretches(owned, idx, llr, grid.s_to_frames(cfg.model_look_min_s),
                             grid.s_to_frames(cfg.model_look_max_s), grid.s_to_frames(cfg.run_look_bridge_s))
    if not found:
        return d
    e = enc.embed_windows_of_lengths(memo["melc"], starts=[a for a, _ in found], lengths=[b - a for a, b in found])
    sims = e @ d.centroids.T  # (stretches, 2)
    return _flipped(d, owned, [(a, b) for (a, b), s in zip(found, sims) if s[1 - owned[a]] > s[owned[a]]],
                    speech, idx)


def _model_stretches(owned: np.ndarray, idx: np.ndarray, llr: np.ndarray, lo_n: int, hi_n: int,
                     bridge_n: int) -> list[tuple[int, int]]:
    """(start, end) of the stretches of one voice's runs in the speech-frame path ``owned`` (compact
    index ``idx``; runs cut at a frame of both voices or a pause over ``bridge_n`` frames) where the
    frame models' ratio ``llr`` (voice 1 over voice 0, per speech frame) favours the other voice: a run
    of ``lo_n`` .. ``hi_n`` frames whole where its mean does, in a longer run its stretches of that
    length with the largest positive sum, the rest of the run searched again."""
    out = []
    for a, b in _run_bounds(owned, idx, bridge_n):
        a, b, k = int(a), int(b), int(owned[a])
        if k == 2 or b - a < lo_n:
            continue
        adv = llr[a:b] if k == 0 else -llr[a:b]  # > 0: the other voice favoured
        if b - a <= hi_n:
            if adv.mean() > 0:
                out.append((a, b))
            continue
        todo = [(0, b - a)]
        while todo:
            p, q = todo.pop()
            if q - p < lo_n:
                continue
            best, i, ln = _best_stretch(adv[p:q], lo_n, hi_n)
            if best <= 0:
                continue
            out.append((a + p + i, a + p + i + ln))
            todo += [(p, p + i), (p + i + ln, q)]
    return out


def _reach(owner: np.ndarray, speech: np.ndarray, i: int, voice: int, step: int) -> int:
    """How many frames from ``i`` (inclusive) in direction ``step`` (+1 / -1) ``voice`` owns alone
    without a pause (every one a speech frame): 0 where frame ``i`` is not such a frame."""
    j = i
    while 0 <= j < len(owner) and owner[j] == voice and speech[j]:
        j += step
    return abs(j - i)


def _goes_on(owner: np.ndarray, speech: np.ndarray, b: int, k: int, min_n: int, max_n: int) -> bool:
    """Whether the other voice's speech straight after voice ``k``'s run ending at frame ``b`` is an
    utterance of its own: ``min_n`` frames or more of it, and not a run under ``max_n`` straight back
    into voice ``k`` (a backchannel over ``k``'s speech)."""
    hi = b + _reach(owner, speech, b, 1 - k, 1)
    return hi - b >= min_n and not (hi < len(owner) and owner[hi] == k and hi - b < max_n)


def _found_both(owner: np.ndarray, speech: np.ndarray, i: int, max_n: int) -> int:
    """The "both" frames from ``i`` (inclusive) on between a run ending at ``i`` and
    the other voice: part of a flip's overlap the frame models already found, so the flip lies past them
    (AMI trn06 s91 mono: an answer's last 0.08 s of 0.18 s overlapped found as both, the rest the holder's;
    docs/speakers.md, seventy-sixth round, speaker-change counts, fifth pass). 0 where there are none or
    more than ``max_n`` (a both-run of its own, no flip's edge)."""
    if not 0 <= i < len(owner):
        return 0
    n = _reach(owner, speech, i, 2, 1)
    return n if n <= max_n else 0


def _flip_overlap(d: Diarization, cfg: DiarizeConfig, grid: Grid, memo: dict) -> Diarization:
    """A short answer's overlapped start and end given back to it as both voices' (``flip_overlap_*``).

    One owner per frame gives the frames where a short answer starts over the other voice's last
    words to the outgoing voice (the answer's own voice is the quieter part of the mixture there)::

        owner   0000000000011111111......000000    a run of voice 1, <= flip_overlap_max_run_s of
        speech  ###################      ######    speech, straight out of voice 0's speech (no
        owner   00000000022111111111.....000000    pause), ending in a pause: voice 0's last
                                                   flip_overlap_s carry both

    Such a run is a turn, not a backchannel, only where its overlapped start counts: AMI answers of
    0.87-1.12 s started 0.1-0.2 s in overlap were found 0.6-0.78 s long, under the turn tracker's
    0.8 s backchannel limit, and two changes of speaker were lost with each (docs/speakers.md,
    fifty-fourth round). A run inside the other voice's speech (a backchannel over it: that voice
    goes on with no pause after it; but see ``flip_overlap_between``) or after a pause is not read, nor is a flip whose outgoing
    speech is shorter than twice ``flip_overlap_s``, nor a run under ``flip_overlap_min_run_s`` (0.5 s:
    a backchannel with or without 0.15 s more; the ones a first version took, 0.21-0.39 s, were the
    end of an utterance given to the other voice, the "both" frames only more wrong-person speech).

    ``flip_overlap_ends``: the mirror, an answer's overlapped end given to the incoming voice: a run
    after a pause that ends straight into the other voice's speech (no pause) carries both over that
    voice's first ``flip_overlap_s``, unless that speech is shorter than twice ``flip_overlap_s`` or
    is a run under ``flip_overlap_max_run_s`` straight back into this voice (a backchannel over the
    answer). Where the frame models already gave the run's last frames before that speech to both (at
    most ``flip_overlap_s``, ``_found_both``), the run ends there and the flip lies past them: both from
    the run's end over ``flip_overlap_s`` (AMI trn06 s91 mono: an answer of 0.87 s, its last 0.18 s
    overlapped, 0.08 s of them found as both, found 0.77 s long). Two voices only; ``flip_overlap_s=0``:
    unchanged.

    ``flip_overlap_between``: a run of that length straight out of the other voice's speech and
    straight back into it (no pause on either side; that voice's speech after it an utterance by the
    mirror's test) carries both over that voice's last ``flip_overlap_s`` before it and its first
    ``flip_overlap_s`` after it: a short answer overlapped at both ends, the outgoing voice coming back
    over its last words (AMI answers of 0.92-0.97 s overlapped by 0.1-0.2 s at both ends were found
    0.56-0.60 s long, under the tracker's 0.8 s limit; docs/speakers.md, sixty-eighth round). A
    backchannel over the other voice's speech is found as "both" or as a run under
    ``flip_overlap_min_run_s`` (the espeak dialogues' planted ones: no recording's figures moved). Where
    the frame models already gave the run's overlapped end to both (at most twice ``flip_overlap_s``,
    ``_found_both``) before the other voice goes on, the run is read the same past those frames: its start
    is given back as above and its found end left (AMI tst00 s140 shared: an answer of 0.97 s, 0.59 s
    found alone, then 0.19 s of both, found 0.73 s long; seventy-seventh round).

    ``flip_overlap_bridge_s``: the other voice's diarized channel hears "both" frames, so its pause over
    such a run is the run's own speech alone; under the channel VAD's merge (``VadConfig.min_duration_off_s``,
    0.6 s) that channel bridges it, the outgoing voice talks through the answer for the turn tracker and
    its two changes are lost, however long the answer's channel hears it. There the edges go to the run's
    voice alone: that voice's pause is then the run and both edges (0.8 s and more), and the answer's
    channel hears the same frames (AMI dev01 s140 mono: an answer of 0.92 s, 0.17 / 0.14 s overlapped,
    found 0.51 s alone; docs/speakers.md, sixty-ninth round).

    ``flip_overlap_pause_s``: a run whose first (last) ``flip_overlap_pause_s`` holds a pause the speech
    mask bridged (``_bridged_pause``: the 80 ms level within ``quiet_run_pause_db`` of the recording's pause
    level; ``memo["level"]``) and whose own voice, those pauses taken out, is under ``flip_overlap_min_run_s``
    is a backchannel in the other voice's pause, not an answer over its last (first) words: that flip is
    left (overlap_events' in-pause tokens, a bridged pause then 0.30-0.49 s of voice, were found 0.3 s early
    or joined into a turn; AMI's short answers with a short quiet stretch there hold 0.64-0.75 s of voice and
    are flipped as before; docs/speakers.md, seventy-first round, the follow-up)."""
    speech = _two_voice_speech(d, memo) if cfg.flip_overlap_s > 0 else None
    if speech is None:
        return d
    owner = d.owner
    n = len(owner)
    e, max_n = grid.s_to_frames(cfg.flip_overlap_s), grid.s_to_frames(cfg.flip_overlap_max_run_s)
    min_n = grid.s_to_frames(cfg.flip_overlap_min_run_s)
    bridge_n = grid.s_to_frames(cfg.flip_overlap_bridge_s)
    pad, ms = grid.s_to_frames(cfg.flip_overlap_pause_s), memo.get("level")
    quiet = None
    if pad > 0 and ms is not None and len(ms) == n:
        quiet = _bridged_pause(10 * np.log10(np.asarray(ms, np.float64) + 1e-12), speech, cfg)

    def paused(a: int, b: int) -> bool:  # a pause the speech mask bridged in the run's frames a..b next to a flip
        return quiet is not None and bool(quiet[max(0, a):b].any())

    def token(a: int, b: int) -> bool:  # the run's own voice, its bridged pauses out, under min_n: a token
        return quiet is not None and int((speech[a:b] & ~quiet[a:b]).sum()) < min_n

    out = owner.copy()
    for k in (0, 1):
        x = np.concatenate([[0], (owner == k).astype(np.int8), [0]])
        starts, ends = np.flatnonzero(np.diff(x) > 0), np.flatnonzero(np.diff(x) < 0)
        for a, b in zip(starts, ends):
            if a == 0 or owner[a - 1] != 1 - k or not (speech[a - 1] and speech[a]):
                continue  # not a flip straight out of the other voice's speech
            between = b < n and bool(speech[b - 1])
            found = _found_both(owner, speech, b, 2 * e) if between else 0  # its overlapped end found already
            if between and not (cfg.flip_overlap_between and _goes_on(owner, speech, b + found, k, 2 * e, max_n)):
                continue  # no pause after it: the other voice (or both) goes straight on
            if not min_n <= int(speech[a:b].sum()) <= max_n:
                continue
            if _reach(owner, speech, a - 1, 1 - k, -1) < 2 * e:
                continue  # the outgoing voice's own speech before the flip is too short to end a turn
            edge = 2
            if between and int(speech[a:b].sum()) < bridge_n:
                edge = k  # the other voice's channel would bridge its pause over the run: the edges go to the run
            if not (paused(a, a + pad) and token(a, b)):  # a token after a bridged pause: not out of the other voice
                out[a - e:a] = edge
            if between and not found and not (paused(b - pad, b) and token(a, b)):  # straight back: the same
                out[b:b + e] = edge
        if not cfg.flip_overlap_ends:
            continue
        for a, b in zip(starts, ends):  # the mirror: after a pause, straight into the other voice's speech
            b0 = b + _found_both(owner, speech, b, e)
            if b0 >= n or owner[b0] != 1 - k or not (speech[b - 1] and speech[b0]):
                continue
            if a > 0 and speech[a]:
                continue  # no pause before it
            if not min_n <= int(speech[a:b].sum()) <= max_n:
                continue
            if not _goes_on(owner, speech, b0, k, 2 * e, max_n) or (paused(b - pad, b) and token(a, b)):
                continue
            out[b:b + e] = 2
    return _with_owner(d, speech, out)


def _bridged_pause(lv: np.ndarray, speech: np.ndarray, cfg: DiarizeConfig) -> np.ndarray:
    """(n_frames,) bool: where the 80 ms mean of the frame levels ``lv`` (dB) lies within
    ``quiet_run_pause_db`` of the recording's pause level (the median of its frames outside ``speech``,
    the quietest 5 % where there are few): a pause, also where the speech mask bridged it (it joins
    speech across pauses under 0.2 s)."""
    pause_db = float(np.median(lv[~speech])) if (~speech).sum() >= 20 else float(np.percentile(lv, 5))
    return np.convolve(lv, np.ones(8) / 8, mode="same") <= pause_db + cfg.quiet_run_pause_db


def _quiet_run_look(d: Diarization, cfg: DiarizeConfig, grid: Grid, memo: dict) -> Diarization:
    """A short run of the other voice or of both inside one voice's unbroken speech that is quieter
    than that voice's own speech round it, given to that voice.

    Two voices speaking at once add their power: a listener's "mm-hm" over the holder's speech
    reads as loud as the holder's speech round it or louder, and a listener speaking alone where
    the holder's speech goes on without a pause (the holder's voice on both sides, every frame from
    the holder's frame before it to the one after it speech) carries the mixture too. A run there
    (frames the holder does not own alone, at most ``quiet_run_max_s``) whose median frame level
    lies ``quiet_run_db`` or more under the median level of the holder's own frames within
    ``quiet_run_context_s`` either side is a quiet stretch of the holder's speech (an utterance's
    soft middle, a held consonant) that the frame models gave to the other voice or to both::

        owner   0000000111100000000   a run of voice 1 inside voice 0's unbroken speech
        level   ----------____-----   10 dB under voice 0's frames round it
        owner   0000000000000000000

    A run next to a pause (a backchannel in the holder's pause) is not read: there the listener
    speaks alone, as softly as they like. That includes a pause the speech mask bridged (it joins
    speech across pauses under 0.2 s): where, within ``quiet_run_pause_s`` of the run or inside it,
    the 80 ms mean level falls to within ``quiet_run_pause_db`` of the recording's pause level (the
    median of its non-speech frames). Runs over ``quiet_run_max_s`` (0.5 s) are left: the 0.59-0.8 s
    ones a first version took were real utterances of the quieter voice. Traced on the found
    backchannels of ``benchmarks/diarization.py`` (docs/speakers.md, fortieth round): 220 true ones
    read -1.3..+13 dB re the speech round them, 15 of 53 false ones -2.3..-15 dB (AMI tst00: a
    0.1-0.25 s stretch 6-15 dB under the speech round it given to the other woman). The line is
    6 dB (a quarter of the power), not the 3 dB that fresh9 alone allowed: in whole sessions soft
    backchannels over the holder's speech (-14..-5 dB re the listener) read -3.2..-6.1 dB and five
    went at 3 dB (``benchmarks/long_accuracy.py``); at 6 dB one. fresh9's backchannel precision
    0.73 -> 0.80, fresh14's 0.67 -> 0.71, fresh12's 0.80 -> 0.82. Two voices only;
    ``quiet_run_db=0``: unchanged."""
    speech = _two_voice_speech(d, memo) if cfg.quiet_run_db > 0 else None
    ms = memo.get("level")
    if speech is None or ms is None or len(ms) != len(speech):
        return d
    owner = d.owner
    n = len(owner)
    lv = 10 * np.log10(np.asarray(ms, np.float64) + 1e-12)
    max_n, ctx = grid.s_to_frames(cfg.quiet_run_max_s), grid.s_to_frames(cfg.quiet_run_context_s)
    near_pause = _bridged_pause(lv, speech, cfg)
    pad = grid.s_to_frames(cfg.quiet_run_pause_s)
    out = owner.copy()
    for k in (0, 1):
        x = np.concatenate([[0], (owner != k).astype(np.int8), [0]])
        starts, ends = np.flatnonzero(np.diff(x) > 0), np.flatnonzero(np.diff(x) < 0)
        for a, b in zip(starts, ends):
            if a == 0 or b >= n or b - a > max_n or not speech[a - 1:b + 1].all():
                continue
            if near_pause[max(0, a - pad):b + pad].any():  # a pause the speech mask bridged: the listener may
                continue                                   # speak alone there, as softly as they like
            lo, hi = max(0, a - ctx), min(n, b + ctx)  # the holder's own frames round it
            own = np.concatenate([np.arange(lo, a), np.arange(b, hi)])
            own = own[speech[own] & (owner[own] == k)]
            if len(own) < 10:
                continue
            if float(np.median(lv[a:b])) <= float(np.median(lv[own])) - cfg.quiet_run_db:
                out[a:b] = k
    return _with_owner(d, speech, out)


def _two_voice_speech(d: Diarization, memo: dict) -> np.ndarray | None:
    """The speech mask of ``memo`` for the looks that move frames between two voices
    (``_flip_overlap``, ``_quiet_run_look``, ``_onset_run_look``), or None where there is nothing to
    look at: not two voices, no mask, a mask of another length or under 3 frames."""
    speech = memo.get("speech")
    if d.n_voices != 2 or speech is None or len(speech) != len(d.owner) or len(d.owner) < 3:
        return None
    return speech


def _with_owner(d: Diarization, speech: np.ndarray, out: np.ndarray) -> Diarization:
    """``d`` with the frame owners ``out`` (0 / 1 / 2 both), its activity and voice shares made from them;
    ``d`` itself where ``out`` changes nothing."""
    if np.array_equal(out, d.owner):
        return d
    act = np.stack([speech & (out != 1), speech & (out != 0)], axis=1)
    sh = act.sum(axis=0) / max(1, speech.sum())
    return replace(d, activity=act, owner=out, voice_share=(float(sh[0]), float(sh[1])))


def _onset_run_look(d: Diarization, cfg: DiarizeConfig, grid: Grid, memo: dict) -> Diarization:
    """A short run of the other voice or of both in the first ``onset_run_s`` of one voice's speech
    after a pause, inside that speech, given to that voice::

        speech  ....11111111111111111   the holder speaks again after a pause
        owner   ....00022220000000000   a "both" run 0.18-0.32 s after the onset
        owner   ....00000000000000000

    Where one voice starts speaking after a pause, the frames just after its onset are the ones
    the models read worst: the windows and paths there still hold the speech before the pause,
    often the other voice's. The frame models then give 0.1-0.35 s of the new speaker's first
    syllables to the other voice or to both, and the turn tracker reads that run as the other
    voice's backchannel. The run (frames the holder does not own alone, at most
    ``onset_run_max_s``) is read only where the holder owns every frame from its onset to the run
    and the frame after it, and every frame from the onset to the run's end is speech. Traced
    (docs/speakers.md, fifty-seventh round): 6 of the 30 false backchannels of tune, held,
    fresh10 and fresh14 started 0.08-0.32 s after the holder's onset; none of their 144 true
    ones under 0.35 s (false ones fresh10 12 -> 10, fresh14 12 -> 9, held 4 -> 3, amireal 14 -> 4). Where
    the diarizer gave a new turn's onset to the wrong voice, the look follows it (amireal dev01 s103).
    Two voices only; ``onset_run_s=0``: unchanged."""
    speech = _two_voice_speech(d, memo) if cfg.onset_run_s > 0 else None
    if speech is None:
        return d
    owner = d.owner
    n = len(owner)
    reach, max_n = grid.s_to_frames(cfg.onset_run_s), grid.s_to_frames(cfg.onset_run_max_s)
    out = owner.copy()
    onsets = np.flatnonzero(speech[1:] & ~speech[:-1]) + 1
    if speech[0]:
        onsets = np.concatenate([[0], onsets])
    for on in onsets:
        k = int(owner[on])
        if k == 2:
            continue
        a, a_end = on, min(n, on + reach + 1)
        while a < a_end and speech[a] and owner[a] == k:  # the holder's frames from its onset
            a += 1
        if a >= a_end or not speech[a] or a - on > reach:
            continue
        b, b_end = a, min(n, a + max_n + 1)
        while b < b_end and speech[b] and owner[b] != k:
            b += 1
        if b >= b_end or not speech[b] or owner[b] != k or b - a > max_n:  # the holder after it, no pause
            continue
        out[a:b] = k
    return _with_owner(d, speech, out)


def owner_with_pauses(owned: np.ndarray, speech: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """(n_frames,) int8 owner of every frame: ``owned`` (the speech frames' voices, compact index
    ``idx`` = ``flatnonzero(speech)``) at the speech frames, each pause's halves given to the
    neighbouring speech frame's voice."""
    n = len(speech)
    owner = np.zeros(n, np.int8)
    owner[idx] = owned
    if len(idx):
        pos = np.searchsorted(idx, np.arange(n))
        prev_i = idx[np.clip(pos - 1, 0, len(idx) - 1)]
        next_i = idx[np.clip(pos, 0, len(idx) - 1)]
        frames_all = np.arange(n)
        use_next = (np.abs(next_i - frames_all) < np.abs(frames_all - prev_i)) | (pos == 0)
        use_next &= pos < len(idx)
        owner = np.where(speech, owner, np.where(use_next, owner[next_i], owner[prev_i])).astype(np.int8)
    return owner


def _mel_of_channels(x: np.ndarray, speech: np.ndarray, n: int, hop: int, idx: np.ndarray) -> np.ndarray:
    """Mel power of several channels at the frames ``idx`` (ascending, < ``n``): the mean of each
    channel's (``mel_frames``), all scaled by one factor that puts their mean speech power at the
    encoder's -30 dBFS. (len(idx), 40) float32, computed a chunk of frames at a time (an hour's
    whole mel power per channel, 58 MB each, is not made).

    Not the mel power of the channels' mean: two microphones that both hear both voices (a
    table recorder, a speakerphone) hear each voice with its own inter-microphone delay, and
    the mean signal comb-filters each voice differently (notches every 1 / delay Hz: 1 kHz
    apart at 1 ms); averaging power leaves the phase out. AMI voices placed as shared
    recordings (0-1 ms delays, dry): clustered whole utterances were right on 11 of 18
    recordings from the mean signal, 17 of 18 from either microphone alone, and the right
    split's voices lay further apart (docs/speakers.md, eighteenth round)."""
    rows = np.flatnonzero(speech[:n])
    p = [_rows_mean_square(frame_rows(x[:, c], n, hop), rows) for c in range(x.shape[1])]
    scale = 10 ** (-30 / 20) / max(float(np.sqrt(np.mean(p))), 1e-9)
    # the channels' mean in float64 (the values of ``(0 + mel_0 + mel_1 + ...) / n_channels``), each
    # channel's mel power made a chunk of frames at a time, in step, and only the frames ``idx`` kept
    idx = np.asarray(idx, np.int64)
    out = np.empty((len(idx), N_MELS), np.float32)
    for chunks in zip(*(mel_chunks(x[:, c], gain=scale) for c in range(x.shape[1]))):
        a, b = chunks[0][0], chunks[0][1]
        i, j = np.searchsorted(idx, (a, b))
        keep = idx[i:j] - a
        acc = chunks[0][2][keep].astype(np.float64)
        for _, _, block in chunks[1:]:
            acc += block[keep]
        out[i:j] = acc / x.shape[1]
    return out


def _rows_mean_square(frames: np.ndarray, rows: np.ndarray) -> float:
    """Mean square (float64) of the rows ``rows`` of ``frames`` (n, hop_length), summed
    chunk by chunk (``np.mean(np.square(frames[rows], dtype=np.float64))`` to float64
    rounding, without the float64 copy of an hour's speech)."""
    if len(rows) == 0:
        return float("nan")
    total = math.fsum(float(np.sum(np.square(frames[rows[a:a + _ROWS]], dtype=np.float64)))
                      for a in range(0, len(rows), _ROWS))
    return total / (len(rows) * frames.shape[1])


NOISE_FLOOR_MAX_ROWS = 3000  # pause frames the noise floor is measured on at most (evenly spaced)


def _speech_mel(mel_at, speech: np.ndarray, n: int, cfg: DiarizeConfig, grid: Grid,
                heard: dict | None = None) -> np.ndarray:
    """The speech frames' mel power (``mel_at(rows)``: (len(rows), N_MELS) of the frames ``rows``, ascending) less
    the noise floor of the recording's own pauses (``_less_noise_floor``): the median mel power per band over the
    frames outside ``speech`` (of ``n``; at most ``NOISE_FLOOR_MAX_ROWS``, evenly spaced), read in the same pass as
    the speech frames' (``mel_at`` makes the whole recording's mel power a chunk at a time). As heard where the
    pauses hold under ``noise_floor_min_pause_s``, where the speech stands ``noise_floor_below_db`` or more over
    that floor, where that floor is not broadband (``_floor_flatness`` under ``noise_floor_min_flatness``: a hum),
    or where the subtraction is off. Where the floor is taken off and ``noise_floor_pass`` is on, the speech
    frames' mel power as heard is kept in ``heard["melc_heard"]`` (``_heard_pass``)."""
    sp = np.asarray(speech[:n], bool)
    idx = np.flatnonzero(sp)
    pause = np.flatnonzero(~sp)
    if not cfg.noise_floor_subtract > 0 or len(pause) < max(1, grid.s_to_frames(cfg.noise_floor_min_pause_s)):
        return mel_at(idx)
    if len(pause) > NOISE_FLOOR_MAX_ROWS:
        pause = pause[np.linspace(0, len(pause) - 1, NOISE_FLOOR_MAX_ROWS).astype(np.int64)]
    rows = np.union1d(idx, pause)
    mel = mel_at(rows)
    said = sp[rows]
    floor = np.median(mel[~said], axis=0)
    speech_mel = mel[said]
    over_db = 10 * np.log10(np.mean(speech_mel.sum(axis=1), dtype=np.float64) / max(float(floor.sum()), 1e-30))
    if not (over_db < cfg.noise_floor_below_db and _floor_flatness(floor) >= cfg.noise_floor_min_flatness):
        return speech_mel
    if cfg.noise_floor_pass and heard is not None:  # the spectra as heard, for the second pass
        heard["melc_heard"] = speech_mel.copy()
    return _less_noise_floor(speech_mel, floor, cfg)


def _floor_flatness(floor: np.ndarray) -> float:
    """The spectral flatness of a noise floor's mel power ``floor`` ((N_MELS,)): the bands' geometric mean over
    their mean, 1 for noise of one level in every band, near 0 for power held in a few bands (a room's mains hum
    and low fan noise)."""
    f = np.maximum(np.asarray(floor, np.float64), 1e-30)
    return float(np.exp(np.mean(np.log(f))) / np.mean(f))


def _less_noise_floor(mel: np.ndarray, floor: np.ndarray, cfg: DiarizeConfig) -> np.ndarray:
    """``mel`` (m, N_MELS) less ``noise_floor_subtract`` x ``floor`` ((N_MELS,)) per band, never under
    ``noise_floor_keep`` x ``floor`` (power subtraction with a spectral floor), in place."""
    f = floor.astype(mel.dtype)
    mel -= cfg.noise_floor_subtract * f
    np.maximum(mel, cfg.noise_floor_keep * f, out=mel)
    return mel


def _window_starts(m: int, cfg: DiarizeConfig, grid: Grid) -> tuple[np.ndarray, int]:
    """The embedding windows over ``m`` speech frames joined end to end: their starts (every
    ``hop_s``, the last one ending at the last frame) and length (``window_s``, at most ``m``)."""
    w = min(grid.s_to_frames(cfg.window_s), m)
    starts = np.arange(0, m - w + 1, max(1, grid.s_to_frames(cfg.hop_s)))
    if starts[-1] + w < m:
        starts = np.append(starts, m - w)
    return starts, w


def _voices_own_windows(enc: VoiceEncoder, melc: np.ndarray, path: np.ndarray, cfg: DiarizeConfig, grid: Grid,
                        emb: np.ndarray, starts: np.ndarray, w: int) -> dict:
    """The 1-vs-2 separation's windows: per voice k of ``path`` ((m,) 0/1/2 per speech
    frame), its own frames joined end to end, cut by ``_separation_tiles``, embedded by
    ``_own_windows``; {k: (n_k, 256) float32}, empty when a voice holds less than
    ``min_voice_s``. Both voices' windows go to the encoder in one call where they have one
    length (a short recording's few windows a voice leave BLAS half idle: ~25 % less CPU;
    the same values to float32 rounding)."""
    parts = []
    for k in (0, 1):
        sel = np.flatnonzero(path == k)
        if len(sel) < grid.s_to_frames(cfg.min_voice_s):
            return {}
        wk = min(w if cfg.separation_window_s is None else grid.s_to_frames(cfg.separation_window_s), len(sel))
        parts.append((sel, _separation_tiles(len(sel), wk, cfg.separation_max_windows), wk))
    (s0, t0, w0), (s1, t1, w1) = parts
    if w0 != w1:
        return {k: _own_windows(enc, melc, sel, st, wk, emb, starts, w) for k, (sel, st, wk) in enumerate(parts)}
    e = _own_windows(enc, melc, np.concatenate([s0, s1]), np.concatenate([t0, t1 + len(s0)]), w0, emb, starts, w)
    return {0: e[:len(t0)], 1: e[len(t0):]}


def _one_voice_in_pieces(path: np.ndarray, idx: np.ndarray, f0_st: np.ndarray | None, separation: float,
                         cfg: DiarizeConfig) -> bool:
    """Whether two candidate voices are one voice cut in pieces.

    ``path``: (m,) 0/1/2 (both) per speech frame, ``idx``: (m,) their frame numbers, ``f0_st``:
    (m,) pitch in semitones (nan: unvoiced). Two people take turns mostly at pauses (or
    through a short overlap, a 2-run, which is not counted) and each keeps their own pitch
    range; a voice that the frame models cut in two (GE2E barely separates the halves:
    ``separation`` below ``pieces_max_distance``) changes "voice" inside continuous speech,
    again and again, with both halves at one pitch::

        speech      [==========]  [=============]  [=======]
        two people   0000000000    111111111111     0000000     changes at pauses
        one voice    0001100111    000111000011     1100011     changes inside speech

    True when the voices change ``pieces_min_changes`` times or more between consecutive
    speech frames next to a piece (a run of one voice) shorter than ``pieces_max_run_s`` (two
    people's quick turns, gaps the speech mask bridges, hold whole utterances on both sides)
    and their median pitches (each over >= 50 voiced frames) lie less than
    ``pieces_max_pitch_st`` apart, and at most ``pieces_max_pause_share`` of all their changes
    (through a 2-run or across a pause) fall at pauses: a voice cut by what it says changes
    mostly inside speech, two alike voices that the frame models confuse inside speech still
    change at every turn's pause (dialogues of voices 1-1.5 st apart: 9-14 changes at pauses,
    5-10 inside; one voice in pieces: at most 42 % of its changes at pauses over the one-voice
    sets, docs/speakers.md, sixteenth round). False when the test cannot speak (no pitch, too
    little voiced speech, or turned off)."""
    if cfg.pieces_min_changes <= 0 or f0_st is None or not separation < cfg.pieces_max_distance:
        return False
    keep = path != 2
    p, fr = path[keep], idx[keep]
    inside, at_pause, changes = _voice_changes(p, fr, cfg)
    if inside < cfg.pieces_min_changes:
        return False
    if at_pause > cfg.pieces_max_pause_share * changes:
        return False
    f0, voiced = f0_st[keep], np.isfinite(f0_st[keep])
    med = []
    for k in (0, 1):
        v = f0[voiced & (p == k)]
        if len(v) < 50:
            return False
        med.append(float(np.median(v)))
    return abs(med[1] - med[0]) < cfg.pieces_max_pitch_st


def _near_keep_bar(separation: float, separation_se: float, cfg: DiarizeConfig) -> bool:
    """Whether a first pass's voices, ``separation`` apart (cosine distance) with standard error
    ``separation_se`` (``_separation_se``; nan: not measured, read as 0), lie no more than
    ``pieces_keep_se_z`` standard errors under ``pieces_keep_apart``: the bar read against the
    separation's own noise (room noise pulls one pair's first pass 0.189-0.241 apart over noise
    draws, standard errors 0.015-0.03: docs/speakers.md, sixty-ninth round)."""
    se = separation_se if np.isfinite(separation_se) else 0.0
    return separation + cfg.pieces_keep_se_z * se >= cfg.pieces_keep_apart


def _turn_like(path: np.ndarray, idx: np.ndarray, cfg: DiarizeConfig) -> bool:
    """Whether at most ``pieces_keep_max_inside`` of the path's changes of voice (overlap runs left
    out) fall inside speech next to a short run (``_voice_changes``)."""
    keep = path != 2
    inside, _, changes = _voice_changes(path[keep], idx[keep], cfg)
    return inside <= cfg.pieces_keep_max_inside * changes


def _voice_changes(p: np.ndarray, fr: np.ndarray, cfg: DiarizeConfig) -> tuple[int, int, int]:
    """The changes of voice along ``p`` (0/1 per speech frame, frame numbers ``fr``): (those between
    consecutive speech frames next to a run shorter than ``pieces_max_run_s``, those across a pause,
    all)."""
    cut = np.flatnonzero(p[1:] != p[:-1]) + 1
    run = np.diff(np.concatenate([[0], cut, [len(p)]]))  # speech frames of each run
    short = np.minimum(run[:-1], run[1:]) < GRID.s_to_frames(cfg.pieces_max_run_s)
    inside = int(np.sum((fr[cut] - fr[cut - 1] == 1) & short))
    return inside, int(np.sum(fr[cut] - fr[cut - 1] > 1)), len(cut)


def _run_bounds(owned: np.ndarray, idx: np.ndarray | None = None, max_gap: int = 0):
    """(start, end) of each run of equal values in ``owned``; with ``idx`` (the frame numbers of a
    compact index), also cut where the frames lie more than ``max_gap`` apart (a longer pause)."""
    cut = np.diff(owned) != 0
    if idx is not None:
        cut |= np.diff(idx) > max_gap
    cuts = np.flatnonzero(cut) + 1
    return zip(np.concatenate([[0], cuts]), np.concatenate([cuts, [len(owned)]]))


def _best_stretch(adv: np.ndarray, lo_n: int, hi_n: int) -> tuple[float, int, int]:
    """(sum, start, length) of the stretch of ``lo_n``..``hi_n`` frames with the largest summed ``adv``
    (the first found at the shortest length on ties).

    Where the (length, start) cells number at most ``_STRETCH_CELLS`` (runs up to ~1000 frames:
    the numpy calls of one length at a time cost more than the sums), every length's sums
    ``c[ln:] - c[:-ln]`` of the running sum ``c`` are the rows of one array (the same differences;
    -inf past a length's last start: never a row's first maximum) and their first maxima one
    ``argmax``; the lengths are then taken in order as one at a time. Longer runs: one at a time."""
    c = np.concatenate([[0.0], np.cumsum(adv)])
    best, bi, bl = -np.inf, 0, 0
    top = min(hi_n, len(adv))
    width, k = len(c) - lo_n, top + 1 - lo_n  # starts of the shortest length; lengths
    if lo_n >= 1 and k >= 1 and width * k <= _STRETCH_CELLS:
        # ends[r, j] = c[j + lo_n + r], a view (c padded past its end: those cells are set to -inf)
        ext = np.concatenate([c, np.zeros(k - 1)])
        ends = np.lib.stride_tricks.as_strided(ext[lo_n:], shape=(k, width), strides=(ext.strides[0],) * 2,
                                               writeable=False)
        s = ends - c[:width]
        s[np.arange(width)[None, :] > (width - 1 - np.arange(k))[:, None]] = -np.inf
        first = np.argmax(s, axis=1)
        for ln, i, v in zip(range(lo_n, top + 1), first.tolist(), s[np.arange(k), first].tolist()):
            if v > best:
                best, bi, bl = v, i, ln
        return best, bi, bl
    for ln in range(lo_n, top + 1):
        s = c[ln:] - c[:-ln]
        i = int(np.argmax(s))
        if s[i] > best:
            best, bi, bl = float(s[i]), i, ln
    return best, bi, bl


_STRETCH_CELLS = 1 << 16  # (length, start) cells _best_stretch computes at once (at most 512 kB of float64)


def _second_look(owned: np.ndarray, ll: np.ndarray | None, weak: np.ndarray, cfg: "DiarizeConfig",
                 grid: Grid) -> np.ndarray:
    """A second look inside each voice's runs for a short stretch of the other voice
    (a listener's backchannel inside the holder's speech) that the 3-state Viterbi
    and ``_drop_blips`` smoothed away: in each run of voice k of the speech-frame
    path ``owned`` (compact index), the stretch of ``second_look_min_s`` ..
    ``second_look_max_s`` (at least ``second_look_margin_s`` from the run's ends)
    where "both" or the other voice beats voice k by the most, summed over its frames
    (``ll``: the 3-state log-likelihoods, weighted by ``weak``), becomes "both"
    when that sum reaches ``second_look_nats`` and its mean ``second_look_mean_nats``;
    the rest of the run is searched again. ``second_look_nats=0`` turns it off::

        path   000000000000000000000   voice 0 holds the floor
        ll     ......++++++.........   voice 1 or both wins 0.2-1 s by >= nats
        out    000000222222000000000   a short stretch of both voices

    Below the Viterbi's cost of going into and out of "both" (2 x ``overlap_penalty``)
    a backchannel's stretch is often split between "both" and the other voice alone,
    and ``_drop_blips`` then folds both pieces back into the holder."""
    if ll is None or cfg.second_look_nats <= 0:
        return owned
    out = owned.copy()
    lo_n, hi_n = grid.s_to_frames(cfg.second_look_min_s), grid.s_to_frames(cfg.second_look_max_s)
    margin = grid.s_to_frames(cfg.second_look_margin_s)
    bounds = _run_bounds(owned)
    todo = [(int(a) + margin, int(b) - margin, int(owned[a])) for a, b in bounds if owned[a] != 2]
    adv = {k: weak * (np.maximum(ll[:, 2], ll[:, 1 - k]) - ll[:, k]) for k in (0, 1)}
    while todo:
        a, b, k = todo.pop()
        if b - a < lo_n:
            continue
        best, bi, bl = _best_stretch(adv[k][a:b], lo_n, hi_n)
        if best < cfg.second_look_nats or best < cfg.second_look_mean_nats * bl:
            continue
        out[a + bi:a + bi + bl] = 2
        todo += [(a, a + bi - margin, k), (a + bi + bl + margin, b, k)]
    return out


def _level_spread(lv: np.ndarray, w: int) -> np.ndarray:
    """(m,) the spread of the frame level ``lv`` (dB, speech frames joined end to end): its
    90th minus 20th percentile (order statistics) over the ``w`` frames around each frame."""
    if len(lv) == 0 or w < 2:
        return np.zeros(len(lv))
    from numpy.lib.stride_tricks import sliding_window_view
    view = sliding_window_view(np.pad(np.asarray(lv, np.float32), (w // 2, w - w // 2 - 1), mode="edge"), w)
    out = np.empty(len(lv), np.float32)
    hi, lo = int(0.9 * (w - 1)), int(0.2 * (w - 1))
    for a in range(0, len(lv), 8192):  # bounded memory
        win = np.sort(view[a:a + 8192], axis=1)
        out[a:a + 8192] = win[:, hi] - win[:, lo]
    return out


def _dip_filled_look(owned: np.ndarray, ll: np.ndarray | None, weak: np.ndarray, lv: np.ndarray,
                     cfg: "DiarizeConfig", grid: Grid) -> np.ndarray:
    """A short stretch of two voices inside one voice's run that the frame models see only
    weakly, confirmed by the level: in each run of voice k of the speech-frame path ``owned``
    (compact index; ``lv`` its frame levels in dB), the 0.25-1.0 s stretch (``dip_look_min_s``
    .. ``second_look_max_s``, ``second_look_margin_s`` from the run's ends) where "both" or the
    other voice beats voice k by the most summed ``ll`` (weighted by ``weak``, as
    ``_second_look``) becomes "both" when that sum reaches ``dip_look_nats``, the level's
    spread there (``_level_spread``, median over the stretch) is at most ``dip_look_ratio`` of
    its median over the whole run and the stretch's median level is at least the run's (two
    voices add their power; a steady, quiet vowel or utterance tail also has a small spread);
    the rest of the run is searched again::

        level   ^v^v^v^v^v~~~~~^v^v^v   one voice: syllables and the dips between them
        ll      ......+++++.........   the other voice or both wins a little
        out     000000022222000000000   a second voice fills the dips: both

    Two voices that do not share a rhythm fill each other's dips between syllables, which a
    frame's spectrum alone does not show (a listener's "mm-hm" over the holder's speech often
    scores within a few nats a frame of the holder's model). ``dip_look_nats <= 0``: unchanged."""
    if ll is None or cfg.dip_look_nats <= 0 or len(owned) == 0:
        return owned
    out = owned.copy()
    spread = _level_spread(lv, grid.s_to_frames(cfg.dip_window_s))
    lo_n, hi_n = grid.s_to_frames(cfg.dip_look_min_s), grid.s_to_frames(cfg.second_look_max_s)
    margin = grid.s_to_frames(cfg.second_look_margin_s)
    bounds = _run_bounds(owned)
    todo = []
    for a, b in bounds:
        if owned[a] != 2:
            ref = (float(np.median(spread[a:b])), float(np.median(lv[a:b])))
            todo.append((int(a) + margin, int(b) - margin, int(owned[a]), ref))
    adv = {k: weak * (np.maximum(ll[:, 2], ll[:, 1 - k]) - ll[:, k]) for k in (0, 1)}
    while todo:
        a, b, k, ref = todo.pop()
        if b - a < lo_n:
            continue
        best, bi, bl = _best_stretch(adv[k][a:b], lo_n, hi_n)
        if best < cfg.dip_look_nats:
            continue
        i, j = a + bi, a + bi + bl
        if np.median(spread[i:j]) <= cfg.dip_look_ratio * ref[0] and np.median(lv[i:j]) >= ref[1]:
            out[i:j] = 2
        todo += [(a, a + bi - margin, k, ref), (a + bi + bl + margin, b, k, ref)]
    return out


def _pitch_look(owned: np.ndarray, f0_st: np.ndarray | None, lv: np.ndarray, cfg: "DiarizeConfig",
                grid: Grid) -> np.ndarray:
    """A short stretch inside one voice's run where the pitch sits at the other voice's: where the
    two voices' median pitches (semitones, over each voice's own frames of the speech-frame path
    ``owned``) lie ``pitch_look_min_sep_st`` or more apart, each run of voice k is searched for the
    0.25-1.0 s stretch (``dip_look_min_s`` .. ``second_look_max_s``, ``second_look_margin_s`` from the
    run's ends) with the most frames whose pitch is nearer the other voice's median than k's and
    further from k's than a third of the separation and than 90 % of k's own frames lie (k's own
    excursions: a monologue's questions and stresses); it becomes "both" when those frames are at
    least ``pitch_look_min_frac`` of its frames and number ``pitch_look_min_frames``, and its median
    level is not below the run's (two voices add power, as ``_dip_filled_look``); the rest of the
    run is searched again::

        pitch   ___---___---___~~~___---      ~ the listener's register over the holder's speech
        out     0000000000000002220000000

    A listener's "mm-hm" over the holder's speech that the frame models do not see (it fills too
    few of the holder's spectral frames) still moves the frame's pitch to the listener's register
    whenever it is the stronger periodic source. Voices closer in pitch are left alone (one voice's
    range covers the other's median). ``f0_st is None`` or ``pitch_look_min_sep_st <= 0``: unchanged."""
    if f0_st is None or cfg.pitch_look_min_sep_st <= 0 or len(owned) == 0:
        return owned
    med, band = [], []
    for k in (0, 1):
        v = f0_st[(owned == k) & ~np.isnan(f0_st)]
        if len(v) < 50:
            return owned
        med.append(float(np.median(v)))
        band.append(float(np.percentile(np.abs(v - med[-1]), 90)))  # the voice's own excursions
    sep = abs(med[1] - med[0])
    if sep < cfg.pitch_look_min_sep_st:
        return owned
    f = np.nan_to_num(f0_st, nan=-1e3)
    voiced = ~np.isnan(f0_st)
    lo_n, hi_n = grid.s_to_frames(cfg.dip_look_min_s), grid.s_to_frames(cfg.second_look_max_s)
    margin = grid.s_to_frames(cfg.second_look_margin_s)
    hit = {k: voiced & (np.abs(f - med[1 - k]) < np.abs(f - med[k])) & (np.abs(f - med[k]) >= max(sep / 3, band[k]))
           for k in (0, 1)}
    out = owned.copy()
    todo = [(int(a) + margin, int(b) - margin, int(owned[a]), float(np.median(lv[a:b])))
            for a, b in _run_bounds(owned) if owned[a] != 2]
    while todo:
        a, b, k, ref = todo.pop()
        if b - a < lo_n:
            continue
        score = hit[k][a:b].astype(float) - cfg.pitch_look_min_frac
        best, bi, bl = _best_stretch(score, lo_n, hi_n)
        if best < 0:
            continue
        i, j = a + bi, a + bi + bl
        if int(hit[k][i:j].sum()) >= cfg.pitch_look_min_frames and np.median(lv[i:j]) >= ref:
            out[i:j] = 2
        todo += [(a, i - margin, k, ref), (j + margin, b, k, ref)]
    return out


def _runs_at_pauses(owned: np.ndarray, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The runs of one state of the speech-frame path ``owned`` (compact index; ``idx`` their
    frame numbers), cut at pauses too: ``(brk, starts, ends)``, ``brk[q]`` True where a pause
    (or an end) lies before compact frame q ((m + 1,) bool)."""
    brk = np.concatenate([[True], np.diff(idx) > 1, [True]])
    cuts = np.flatnonzero((np.diff(owned) != 0) | brk[1:-1]) + 1
    return brk, np.concatenate([[0], cuts]), np.concatenate([cuts, [len(owned)]])


def _pause_bound_overlap(owned: np.ndarray, idx: np.ndarray, slack: int) -> np.ndarray:
    """"Both voices" runs of the speech-frame path ``owned`` (compact index; ``idx`` maps to
    frames, a jump in ``idx`` is a pause) that a pause closes on one side and one voice on
    the other go to that voice::

        path    000000222222|pause|      a listener would have to stop with the holder,
        path    0000002222200|pause|     ... or within ``slack`` frames of the holder
        out     000000000000|pause|
        path    |pause|2222111111        ... or start with the holder: both -> 1

    Two people rarely start or stop within a few frames of each other; such a run was
    the holder's own utterance edge scored as a mixture (dominant-voice recordings,
    where the minority voice's model is trained on ~1 s). A run with a pause on both
    sides, and one between two voices or inside one voice's speech, stays.
    ``slack < 0``: unchanged."""
    if slack < 0 or len(owned) == 0:
        return owned
    out = owned.copy()
    brk, starts, ends = _runs_at_pauses(owned, idx)
    for a, b in zip(starts, ends):
        if owned[a] != 2:
            continue
        sides = []
        for edge, step in ((a, -1), (b, 1)):  # left: frames a-1, a-2, ...; right: b, b+1, ...
            q, voice, n = edge, None, 0
            while n <= slack and not brk[q]:
                f = q - 1 if step < 0 else q
                if owned[f] == 2 or (voice is not None and owned[f] != voice):
                    break
                voice, n, q = int(owned[f]), n + 1, q + step
            pause = n <= slack and bool(brk[q])
            near = int(owned[edge - 1]) if step < 0 and not brk[edge] else (
                int(owned[edge]) if step > 0 and not brk[edge] else None)
            sides.append((pause, voice, near))
        (lp, lv, ln), (rp, rv, rn) = sides
        if lp and not rp and rn is not None and rn != 2 and lv in (None, rn):
            out[a:b] = rn
        elif rp and not lp and ln is not None and ln != 2 and rv in (None, ln):
            out[a:b] = ln
    return out


def _both_at_utterance_edges(owned: np.ndarray, idx: np.ndarray, cfg: DiarizeConfig, grid: Grid) -> np.ndarray:
    """"Both voices" runs at an utterance's start or end on the speech-frame path ``owned`` (compact
    index; a jump in ``idx`` is a pause): ``_lead_both`` first, then ``_pause_bound_overlap``::

        path    |pause|1111000222222222222|pause|    an answer after a gap: its first 0.22 s its own,
        out     |pause|1111111111111111111|pause|    0.15 s the next voice's, then "both" to its end

    In the other order a "both" run of the MEE012 shape that reaches the pause after it (the answer
    followed by a gap, not straight by the next turn) went to the voice beside it, the next turn's:
    AMI dev01 s101 mono's two 1.12 s answers were heard 0.22 s and not at all, backchannels, four
    changes lost (docs/speakers.md, sixty-ninth round). A run ``_lead_both`` does not read (one voice
    only before it, or too far into its utterance) is ``_pause_bound_overlap``'s as before."""
    owned = _lead_both(owned, idx, grid.s_to_frames(cfg.lead_both_min_s), grid.s_to_frames(cfg.lead_both_lead_max_s))
    return _pause_bound_overlap(owned, idx, grid.s_to_frames(cfg.pause_overlap_slack_s))


def _lead_both(owned: np.ndarray, idx: np.ndarray, min_n: int, lead_n: int) -> np.ndarray:
    """A "both voices" run of at least ``min_n`` frames of the speech-frame path ``owned`` (compact
    index; a jump in ``idx`` is a pause) that starts within ``lead_n`` frames of an utterance's start,
    one voice's run then the other's before it, goes with that other voice's run to the voice that
    opens the utterance::

        path    |pause|000011122222222222111111     an answer after a gap: its first 0.2 s its own,
        out     |pause|000000000000000000111111     then the next turn's voice and "both"
        path    |pause|0000222222222000000          stays: one voice only before the run (a
                                                    backchannel early in the holder's utterance)

    AMI dev01 MEE012's 1.12 s answers after a gap: the two-state path gave 0.12-0.17 s to the next
    voice (the window votes join the answer to the next turn) and the three-state path 0.6-0.74 s
    to "both", the answer heard 0.21 s alone, the path's change 0.78 s early. Traced on
    ``benchmarks/diarization.py`` amireal, amireal5, held and fresh14
    (``benchmarks/diarization_both_runs.py``; docs/speakers.md, sixty-seventh round): all 12 such runs
    were one voice alone, the opening one; of the 7 with one voice only before them, 2 were planted
    backchannels (held, fresh14: 0.37-0.6 s, 0.34-0.41 s in), so those are left. ``min_n <= 0``: unchanged."""
    if min_n <= 0 or len(owned) == 0:
        return owned
    out = owned.copy()
    brk, starts, ends = _runs_at_pauses(owned, idx)
    for q in range(2, len(starts)):
        a, b = starts[q], ends[q]
        u = q - 2
        k = int(owned[starts[u]])  # the voice that opens the utterance
        lead = brk[starts[u]] and not brk[starts[u + 1]] and not brk[a] and a - starts[u] <= lead_n
        if owned[a] == 2 and b - a >= min_n and lead and k != 2 and owned[starts[u + 1]] == 1 - k:
            out[ends[u]:b] = k
    return out


def _edge_runs(owned: np.ndarray, idx: np.ndarray, max_n: int, *, ll: np.ndarray | None = None,
               tail_max_n: int = 0, tail_nats: float = 0.0) -> np.ndarray:
    """A run of voice k shorter than ``max_n`` frames of the speech-frame path ``owned``
    (compact index; a jump in ``idx`` is a pause) that sits between a pause and the other
    voice, voice k speaking on the pause's far side, goes to the other voice::

        path    000000|pause|00111111111     k carried across the pause into a turn start
        out     000000|pause|11111111111
        path    11111111100|pause|000000     ... or back from the next turn into a turn end
        out     11111111111|pause|000000
        path    000000|pause|11000000000     stays: the other voice after the pause (a
                                             backchannel in the holder's pause)

    The change of voice stays (at the pause instead of next to it), so no change is
    added or lost; a short run left this way was read as a backchannel (AMI trn04, tst00:
    a turn's first or last 0.13-0.2 s given to the previous or next voice). ``max_n <= 0``:
    unchanged.

    A longer run at an utterance's end (``max_n`` up to ``tail_max_n`` frames: the other voice's
    speech straight before it, the pause after it) goes to the utterance's voice too where ``ll``
    (the 3-state log-likelihoods) favours the run's own voice by under ``tail_nats`` per frame on
    average: a quiet tail the frame models hardly place, which the window votes (their windows
    join the speech across the pause) give to the voice after the pause. A short answer lost
    0.26-0.3 s so and was read as a backchannel (AMI dev01: 0.92 s answers heard as 0.62-0.65 s).
    Traced on ``benchmarks/diarization.py`` amireal and amireal5 (``benchmarks/diarization_gap_edges.py``;
    docs/speakers.md, sixty-fourth round): of such runs of 0.25-0.5 s at an utterance's end, the 35
    that were the utterance's voice were favoured by 0.6-17 nats per frame (25 by under 5), the 10
    that were the run's own voice (the next speaker starting straight out of the utterance) by
    7.1-19; the same runs at a turn's start are mostly the run's own voice (34 of 41, 4 of them
    favoured by under 5 nats) and are left."""
    if max_n <= 0 or len(owned) == 0:
        return owned
    out = owned.copy()
    m = len(owned)
    brk, starts, ends = _runs_at_pauses(owned, idx)
    for a, b in zip(starts, ends):
        k = int(owned[a])
        if k == 2 or b - a >= max(max_n, tail_max_n):
            continue
        start = 0 < a and brk[a] and b < m and not brk[b] and owned[b] == 1 - k and owned[a - 1] == k
        end = b < m and brk[b] and 0 < a and not brk[a] and owned[a - 1] == 1 - k and owned[b] == k
        if b - a >= max_n:  # a longer run: an utterance's end alone, where the frame models hardly place it
            if not (end and not start and ll is not None and tail_nats > 0
                    and float(np.mean(ll[a:b, 1 - k] - ll[a:b, k])) > -tail_nats):
                continue
        if start != end:
            out[a:b] = 1 - k
    return out


def _overlap_like_holder(owned: np.ndarray, ll: np.ndarray | None, cfg: "DiarizeConfig", max_n: int) -> np.ndarray:
    """A "both voices" run (state 2) shorter than ``max_n`` frames of the speech-frame path
    ``owned`` (compact index) with voice k on both sides goes to voice k when, averaged over
    the run's frames of ``ll`` (the 3-state log-likelihoods, best state 0 per frame), the
    other voice's model scores at least ``cfg.overlap_other_floor_nats`` below voice k's
    and voice k's own model is within ``cfg.overlap_holder_within_nats`` of the best state::

        path   0000000222000000   other's model far below the holder's, holder's model fits
        out    0000000000000000   (a stretch of the holder's speech the overlap model caught)

    A listener's voice in the mixture raises the other voice's score or lowers the holder's
    (docs/speakers.md, ninth and tenth rounds). ``ll is None`` or a floor ``<= 0``: unchanged."""
    floor, within = cfg.overlap_other_floor_nats, cfg.overlap_holder_within_nats
    if ll is None or floor <= 0 or len(owned) < 3:
        return owned
    out = owned.copy()
    cuts = np.flatnonzero(np.diff(owned) != 0) + 1
    starts, ends = np.concatenate([[0], cuts]), np.concatenate([cuts, [len(owned)]])
    for a, b in zip(starts, ends):
        if owned[a] != 2 or a == 0 or b == len(owned) or b - a >= max_n or owned[a - 1] != owned[b]:
            continue
        k = int(owned[b])
        other = float(np.mean(ll[a:b, 1 - k] - ll[a:b, k]))
        holder = float(np.mean(ll[a:b, k]))
        if other <= -floor and holder >= -within:
            out[a:b] = k
    return out


def _tail_refit(owned: np.ndarray, idx: np.ndarray, feats: np.ndarray, g: list | None, cfg: "DiarizeConfig",
                grid: Grid) -> np.ndarray:
    """The minority voice k's piece of an utterance the holder h starts (speech-frame path
    ``owned``, compact index ``idx``; utterances end at pauses over 0.1 s), when it runs to
    the utterance's end (k and "both" only, at most ``cfg.tail_refit_max_s``), goes to h when
    h's frame model ``g[h]`` explains it, on average, at least ``cfg.tail_refit_nats`` per frame
    better than a model of k fitted again on k's other frames::

        path   hhhhhhhhhhkk2kk | kkkkkkkk | hhhh      (| a pause; also at the head of an h-ended utterance)
        out    hhhhhhhhhhhhhhh | kkkkkkkk | hhhh

    A short answer lies inside every embedding window that holds it together with the end of
    the holder's utterance before it, so k's centroid and model learnt that tail (docs/speakers.md,
    eleventh and thirteenth rounds); the same at the head of the holder's next utterance. The
    refit is the held-out test. ``g is None`` or ``tail_refit_max_s <= 0``: unchanged."""
    max_n = grid.s_to_frames(cfg.tail_refit_max_s)
    if g is None or max_n <= 0 or len(owned) < 3:
        return owned
    cnt = np.bincount(owned, minlength=3)
    k = int(cnt[1] < cnt[0])  # the minority voice
    h = 1 - k
    ua, ub = _utterances(idx, grid.s_to_frames(0.1))
    out = owned.copy()
    cands = []
    for i in range(len(ua)):
        a, b = ua[i], ub[i]
        seg = owned[a:b]
        if owned[a] == h and seg[-1] != h:  # a tail
            e = b - int(np.argmax(seg[::-1] == h))
            if b - e <= max_n:
                cands.append((e, b))
        if owned[b - 1] == h and seg[0] != h:  # a head
            e = a + int(np.argmax(seg == h))
            if e - a <= max_n:
                cands.append((a, e))
    mine = owned == k
    for a, b in cands:
        rest = mine.copy()
        rest[a:b] = False
        if rest.sum() < 40:
            continue
        gk = _DiagGmm.of_rows(feats, rest, cfg.n_gauss, cfg.gmm_iterations)
        if float(np.mean(g[h].loglik(feats[a:b]) - gk.loglik(feats[a:b]))) >= cfg.tail_refit_nats:
            out[a:b] = h
    return out


def _own_windows(enc: VoiceEncoder, melc: np.ndarray, sel: np.ndarray, st: np.ndarray, wk: int,
                 emb: np.ndarray, starts: np.ndarray, w: int) -> np.ndarray:
    """``enc.embed_windows(melc[sel], starts=st, n_frames=wk)``, taking from ``emb`` (the
    embeddings of the ``w``-frame windows ``starts`` of ``melc``) every window that is one of
    those (``wk == w`` consecutive speech frames from a window start: a voice's speech before
    the other first speaks) instead of computing it again. (len(st), 256) float32."""
    out = np.empty((len(st), emb.shape[1]), np.float32)
    todo = np.ones(len(st), bool)
    if wk == w and len(emb) == len(starts):
        where = {int(p): i for i, p in enumerate(starts)}
        for j, a in enumerate(st):
            i = where.get(int(sel[a]))
            if i is not None and int(sel[a + wk - 1]) - int(sel[a]) == wk - 1:
                out[j], todo[j] = emb[i], False
    if todo.any():
        # only the windows' own frames gathered, end to end (not all of the voice's frames: on an
        # hour, 40 MB for 64 windows' 1.5 MB); the same rows reach the encoder in the same order
        go = st[todo]
        rows = sel[(go[:, None] + np.arange(wk)).ravel()]
        out[todo] = enc.embed_windows(melc[rows], starts=np.arange(len(go)) * wk, n_frames=wk)
    return out


def _separation_tiles(n_sel: int, wk: int, max_windows: int) -> np.ndarray:
    """Starts of a voice's own windows for the 1-vs-2 separation: its ``n_sel`` frames
    (joined end to end) cut into windows of ``wk`` frames, a partial last one left out;
    beyond ``max_windows`` (``0``: no limit) that many of them, spread evenly over the
    recording. A voice's centroid needs no more (64 windows: 96 s of its speech at 1.5 s;
    every recording of the diarization benchmark, <= 45 s, stays below it), and without a
    limit these windows cost a third of the encoder's time on long recordings, twice where
    the finer restart runs. (k,) int64, increasing::

        own frames   |--w1--|--w2--|--w3--|--w4--|--w5--|--w6--|-     6 windows
        max 3        |--w1--|      |--w3--|                    |--w6--|
    """
    st = np.arange(0, n_sel - wk + 1, wk)
    if 0 < max_windows < len(st):
        st = st[np.unique(np.round(np.linspace(0, len(st) - 1, max_windows)).astype(np.int64))]
    return st


def _window_embeddings(enc: VoiceEncoder, melc: np.ndarray, starts: np.ndarray, w: int, cfg: DiarizeConfig,
                       grid: Grid, memo: dict) -> np.ndarray:
    """``enc.embed_windows(melc, starts=starts, n_frames=w)``; (len(starts), 256) float32.

    With the finer restart on (``finer_window_s`` shorter than ``w``): the first pass also
    reads, from the same LSTM runs, the embeddings of its windows' first ``finer_window_s``
    (``VoiceEncoder.embed_windows_and_prefixes``) and keeps them in ``memo``; the restart's
    windows of that length at the same starts (hop alike) are then taken from there and
    only the few others (near the end of the speech) embedded anew: the restart's window
    embeddings cost next to nothing instead of 2/3 of the first pass's (the same values to
    float32 rounding)::

        first pass   |=====1.5 s=====|              windows every hop_s
                     |==1.0 s==|                    its prefix: the restart's window

    Those others are embedded once per recording: a second restart with the same windows (the
    finer restart, then the utterance restart or a retry) takes the first one's result from
    ``memo``, kept by the call's window length and starts. The same call on the same frames
    gives the same bits; a window is never taken from a call over other windows (its last bits
    depend on the batch it ran in: ``VoiceEncoder.embed_windows``).
    """
    fw = min(grid.s_to_frames(cfg.finer_window_s), w) if cfg.finer_window_s > 0 else 0
    if 0 < fw < w:
        emb, pre = enc.embed_windows_and_prefixes(melc, starts=starts, n_frames=w, prefix_frames=fw)
        memo[("prefix", fw)] = {int(a): e for a, e in zip(starts, pre)}
        return emb
    known = memo.get(("prefix", w))
    if not known:
        return enc.embed_windows(melc, starts=starts, n_frames=w)
    out = np.empty((len(starts), EMBEDDING_SIZE), np.float32)
    todo = np.ones(len(starts), bool)
    for i, a in enumerate(starts):
        e = known.get(int(a))
        if e is not None:
            out[i], todo[i] = e, False
    if todo.any():
        key = ("tail windows", w, starts[todo].tobytes())
        if key not in memo:
            memo[key] = enc.embed_windows(melc, starts=starts[todo], n_frames=w)
        out[todo] = memo[key]
    return out


def _speech_features(memo: dict, x: np.ndarray | None, idx: np.ndarray, n_mfcc: int, grid: Grid, *, stereo: bool):
    """The speech frames' features, computed once for every restart of one recording
    (``memo``: its ``"melc"``, the speech frames' mel power): (channel power (m, 2) float64
    of stereo ``x``, else None; the frame features, MFCCs 1..``n_mfcc`` (+ the inter-channel
    level difference for stereo) normalised over the speech; their mean; their standard
    deviation + 1e-6). Only the normalised features are kept, not the raw ones beside them."""
    key = ("features", n_mfcc, stereo)
    if key not in memo:
        chp = None
        if stereo:
            n, hop = len(x) // grid.hop_length, grid.hop_length
            chp = np.stack([frame_mean_square(frame_rows(x[:, c], n, hop), np.float64) + 1e-12
                            for c in (0, 1)], axis=1)[idx]
        melc = memo["melc"]
        # the raw features a chunk of frames at a time into one array (an hour's speech: 49 MB; made
        # whole, their log-mel and DCT temporaries took twice that again), then normalised in place
        feats = np.empty((len(melc), n_mfcc + (1 if chp is not None else 0)),  # stereo: float64, as the level difference
                         np.float64 if chp is not None else melc.dtype)
        for a in range(0, len(melc), _FEATURE_ROWS):
            feats[a:a + _FEATURE_ROWS] = _frame_features(
                melc[a:a + _FEATURE_ROWS], None if chp is None else chp[a:a + _FEATURE_ROWS], n_mfcc)
        mu = feats.mean(axis=0)
        sd = _column_std(feats, mu) + 1e-6
        feats -= mu
        feats /= sd  # in place: the values of (raw - mu) / sd
        memo[key] = (chp, feats, mu, sd)
    return memo[key]


_FEATURE_ROWS = 32768  # frames whose features _speech_features computes at once


def _column_std(x: np.ndarray, mean: np.ndarray) -> np.ndarray:
    """``x.std(axis=0)`` (``mean``: ``x.mean(axis=0)``), the same values, without numpy's temporary of
    ``x``'s size: the squared deviations summed row after row as numpy sums them, ``_FEATURE_ROWS``
    rows at a time (each chunk's sum starting from the sum so far)."""
    acc = np.zeros(x.shape[1], x.dtype)
    for a in range(0, len(x), _FEATURE_ROWS):
        d = x[a:a + _FEATURE_ROWS] - mean
        d *= d
        acc = np.add.reduce(np.concatenate([acc[None], d]), axis=0)
    return np.sqrt(acc / len(x))


def _memo(memo: dict, key: str, compute):
    """``memo[key]``, computed by ``compute()`` the first time: the retry (_minority_retry)
    diarizes the same signal again and reuses the first pass's speech mask, mel power and
    pitch instead of computing them anew (the same values)."""
    if key not in memo:
        memo[key] = compute()
    return memo[key]


def _utterances(idx: np.ndarray, max_gap: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Runs of frame numbers in ``idx`` (the speech frames) with steps of at most ``max_gap``
    (1: consecutive; larger: pauses up to ``max_gap - 1`` frames bridged): the utterances'
    compact start and end indices ``(ua, ub)``, ``idx[ua[k]:ub[k]]`` one utterance."""
    cut = np.flatnonzero(np.diff(idx) > max_gap) + 1
    return np.concatenate([[0], cut]).astype(np.int64), np.concatenate([cut, [len(idx)]]).astype(np.int64)


def _minority_seed(feats: np.ndarray, idx: np.ndarray, cfg: DiarizeConfig) -> np.ndarray | None:
    """Speech frames of the utterances least like the rest of the recording, or None.

    ``feats``: (m, d) normalised frame features of the speech frames, ``idx``: (m,) their
    frame numbers (an utterance: a run of consecutive speech frames). Each utterance of
    at least 0.3 s is scored by the mean log-likelihood of its frames under a GMM trained
    on the other half of the utterances (alternate utterances: a voice heard once is not
    in the model that scores it); robust z-scores of those means (median, MAD). The
    utterances at ``-minority_min_z`` or below, holding at most ``minority_max_share`` of
    the speech, are returned::

        utterances   [...] [...] [..] [...] [.] [...]      z = 0 -1 0 -9 0 1
        seed                           ^^^^^                a second voice heard once

    A second voice shorter than one embedding window (a 1 s answer in a monologue) has no
    window of its own for k-means; its frames still stand out to the frame models. (m,) bool."""
    m = len(feats)
    scored = _utterance_z(feats, idx, cfg)
    if scored is None:
        return None
    ua, ub, z = scored
    out = z <= -cfg.minority_min_z
    if not out.any() or np.sum((ub - ua)[out]) > cfg.minority_max_share * m:
        return None
    return np.repeat(out, ub - ua)


def _utterance_z(feats: np.ndarray, idx: np.ndarray, cfg: DiarizeConfig
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """The utterances ``(ua, ub)`` (``_utterances``) and each one's robust z-score ``z`` of its
    frames' mean held-out log-likelihood (a GMM trained on the other half of the utterances,
    alternate utterances); ``z`` is +inf for utterances shorter than 0.3 s. None when fewer
    than 5 utterances last 0.3 s (``_minority_seed`` describes the scores)."""
    m = len(feats)
    ua, ub = _utterances(idx)
    long = (ub - ua) >= 30
    if long.sum() < 5:
        return None
    fold = np.repeat(np.arange(len(ua)) % 2, ub - ua)
    ll = np.empty(m)
    for f in (0, 1):
        tr = np.flatnonzero(fold != f)
        tr = tr[:: max(1, len(tr) // 20000)]  # bounded cost on long recordings
        test = np.flatnonzero(fold == f)
        ll[test] = _DiagGmm(feats[tr], cfg.n_gauss, cfg.gmm_iterations).loglik_rows(feats, test)
    cs = np.concatenate([[0.0], np.cumsum(ll)])
    score = (cs[ub] - cs[ua]) / np.maximum(ub - ua, 1)
    med = float(np.median(score[long]))
    sd = max(1.4826 * float(np.median(np.abs(score[long] - med))), 0.05)
    return ua, ub, np.where(long, (score - med) / sd, np.inf)


def _seed_embedding_z(enc: VoiceEncoder, melc: np.ndarray, idx: np.ndarray, seed: np.ndarray) -> float:
    """How far the seed's voice lies from the rest, in this recording's own spread: each
    utterance (>= 0.3 s) embedded on its own frames (tiles of at most 1.5 s, averaged);
    the median over the seed utterances of each one's cosine to the mean of all other
    utterances, as a robust z-score among the same cosine of each other utterance to the rest
    (left out in turn). One utterance is measured against one utterance: the mean embedding
    of many seed utterances lies nearer anything than any one utterance does (its own noise
    averaged out), so a second voice heard in many short utterances, as a listening
    therapist's through a whole session, scored nearer the rest the longer the session (a
    10 min session: 19 seed utterances, one of them the client's, -2.4 as their mean
    embedding, -8.0 as the median of their own; docs/speakers.md, thirty-eighth round). One
    seed utterance: the same figure either way. A real voice varies more
    between its utterances than a synthetic one, so an odd utterance of one voice scores
    nearer 0. ``melc``: (m, 40) mel power of the speech frames. inf when fewer than 5
    other utterances."""
    ua, ub = _utterances(idx)
    keep = (ub - ua) >= 30
    ua, ub = ua[keep], ub[keep]
    emb, weight, is_seed = [], [], []
    tiles = _utterance_tiles(enc, melc, ua, ub)
    for a, b in zip(ua, ub):
        e = tiles[a].mean(axis=0)
        emb.append(e / max(float(np.linalg.norm(e)), 1e-12))
        weight.append(b - a)
        is_seed.append(bool(seed[a]))
    e, wt, sd = np.stack(emb), np.asarray(weight, float), np.asarray(is_seed)
    if sd.all() or np.sum(~sd) < 5 or not sd.any():
        return float("inf")
    rest = (e[~sd] * wt[~sd, None]).sum(axis=0)
    unit = lambda v: v / max(float(np.linalg.norm(v)), 1e-12)  # noqa: E731
    c_seed = float(np.median(e[sd] @ unit(rest)))
    c_other = np.array([float(e[i] @ unit(rest - e[i] * wt[i])) for i in np.flatnonzero(~sd)])
    med = float(np.median(c_other))
    return (c_seed - med) / max(1.4826 * float(np.median(np.abs(c_other - med))), 0.01)


def _utterance_tiles(enc: VoiceEncoder, melc: np.ndarray, ua: np.ndarray, ub: np.ndarray) -> dict:
    """Per utterance ``melc[a:b]`` (keyed by ``a``): the embeddings of its tiles of
    ``min(b - a, 150)`` frames, (n_tiles, 256). All tiles go to the encoder in one call,
    whatever their lengths (``VoiceEncoder.embed_windows_of_lengths``: the values of one call
    per utterance, to float32 rounding, at a fraction of the cost: few windows a call leave
    BLAS mostly idle)."""
    if len(ua) == 0:
        return {}
    wl = np.minimum(ub - ua, 150)
    starts = [np.arange(a, b - length + 1, length) for a, b, length in zip(ua, ub, wl)]
    counts = [len(st) for st in starts]
    e = enc.embed_windows_of_lengths(melc, starts=np.concatenate(starts), lengths=np.repeat(wl, counts))
    return {int(a): part for a, part in zip(ua, np.split(e, np.cumsum(counts)[:-1]))}


def _seed_windows(seed: np.ndarray, starts: np.ndarray, w: int) -> np.ndarray:
    """Window labels from a frame seed: 1 where most of the window is seed, at least the
    window holding most of it; (n_windows,) int64."""
    frac = _window_mean(seed.astype(float), starts, w)
    lab = (frac > 0.5).astype(np.int64)
    if not lab.any():
        lab[int(np.argmax(frac))] = 1
    if lab.all():
        lab[int(np.argmin(frac))] = 0
    return lab


def _minority_retry(x: np.ndarray, cfg: DiarizeConfig, enc: VoiceEncoder, grid: Grid, feats: np.ndarray,
                    idx: np.ndarray, emb: np.ndarray, melc: np.ndarray, two: bool, gain: float,
                    separation: float, memo: dict | None = None) -> Diarization | None:
    """A second diarization started from the most atypical utterances (``_minority_seed``)
    where the first found one voice or two on weak frame-model evidence (held-out gain below
    ``minority_retry_below_gain``: k-means cut a dominant voice in two, or mixed a short
    second voice with part of the first). Kept when it finds two voices (its own test:
    the voices' separation) lying further apart than the first's. None: keep the first."""
    if cfg.minority_min_z <= 0 or (two and gain >= cfg.minority_retry_below_gain):
        return None
    seed = _minority_seed(feats, idx, cfg)
    if seed is None or _seed_embedding_z(enc, melc, idx, seed) > -cfg.minority_min_embedding_z:
        return None
    alt = _diarize(x, cfg, None, enc, grid, seed=seed, pre_emb=emb, memo=memo)
    if alt.n_voices != 2 or (two and not alt.separation > separation):
        return None
    return alt


def _odd_utterance_retry(x: np.ndarray, cfg: DiarizeConfig, enc: VoiceEncoder, grid: Grid, feats: np.ndarray,
                         idx: np.ndarray, emb: np.ndarray, melc: np.ndarray,
                         memo: dict | None = None) -> Diarization | None:
    """Where the first pass and ``_minority_retry`` found one voice: a retry seeded by the one
    utterance least like the rest, on a weaker gate than ``_minority_retry``'s (its held-out
    frame likelihood ``odd_min_z`` robust z below the others', its embedding
    ``odd_min_embedding_z`` below theirs: ``_utterance_z``, ``_seed_embedding_z``), kept only
    when the two voices it finds lie ``odd_min_separation`` apart (the usual retry's test is
    ``two_voice_min_distance``)::

        utterances   [...] [...] [..] [...] [.] [...]      z = 0 -1 0 -3 0 1
        seed                           ^^^^^                a ~1 s answer in a monologue

    Only an utterance the frame models find mildly odd (z above ``-minority_min_z``): one they
    find very odd was judged by ``_minority_retry``, whose stricter embedding test keeps a real
    voice's odd utterance whole (AMI trn05 FEE078: -6.7 frames, -4.1 embedding, its retry's
    voices 0.29 apart). A second voice heard once, for ~1 s, in a 15-25 s monologue scored
    -2.2..-3.3 (frames) and -3.6..-4.1 (embedding) where the encoder hardly tells the two
    voices apart; its retry's voices lay 0.32 apart. A single voice's most atypical utterance
    reached both gates at most with -2.5 / -4.5, its retry's voices then lying <= 0.20 apart.
    None: keep one voice."""
    if cfg.odd_min_z <= 0:
        return None
    scored = _memo(memo if memo is not None else {}, "utterance_z", lambda: _utterance_z(feats, idx, cfg))
    if scored is None:
        return None
    ua, ub, z = scored
    i = int(np.argmin(z))
    if not z[i] <= -cfg.odd_min_z or ub[i] - ua[i] > cfg.minority_max_share * len(feats):
        return None
    if cfg.minority_min_z > 0 and z[i] <= -cfg.minority_min_z:
        return None  # the minority retry judged it, on its stricter embedding test
    seed = np.repeat(np.arange(len(ua)) == i, ub - ua)
    alt = _diarize(x, replace(cfg, two_voice_min_distance=cfg.odd_min_separation), None, enc, grid, seed=seed,
                   pre_emb=emb, memo=memo)
    if alt.n_voices != 2 or _seed_embedding_z(enc, melc, idx, seed) > -cfg.odd_min_embedding_z:
        return None  # the embedding test last: it embeds every utterance, the retry reuses the first pass's windows
    return alt


def _told_utterance_retry(x: np.ndarray, cfg: DiarizeConfig, enc: VoiceEncoder, grid: Grid, feats: np.ndarray,
                          idx: np.ndarray, emb: np.ndarray, melc: np.ndarray,
                          memo: dict | None = None) -> Diarization | None:
    """Two voices told (``diarize(n_voices=2)``) where no split holds up, as where one voice holds
    nearly all of the speech and the other says one sentence: the second voice is seeded by the
    one utterance least like the rest by the frame models (the lowest ``_utterance_z``, however
    low: the user's word that a second person speaks stands for ``_odd_utterance_retry``'s and
    ``_minority_retry``'s gates on it), kept where that utterance's own embedding also lies
    ``odd_min_embedding_z`` robust z below the other utterances' (``_seed_embedding_z``). Over
    the one-voice recordings of five splits (43) the most atypical utterance reached at most
    -2.8; the one sentence of a dominant recording's second voice -2.6 .. -15.3, -3.1 or below in
    7 of 8, whose seeded splits gave it exactly (docs/speakers.md, thirty-sixth round). Any
    separation is kept; the result says which utterance seeded it (``Diarization.told_seed``), and
    the caller asks for a listen to it. None: one voice."""
    scored = _memo(memo if memo is not None else {}, "utterance_z", lambda: _utterance_z(feats, idx, cfg))
    if scored is None:
        return None
    ua, ub, z = scored
    i = int(np.argmin(z))
    if ub[i] - ua[i] > cfg.minority_max_share * len(feats):
        return None
    seed = np.repeat(np.arange(len(ua)) == i, ub - ua)
    if _seed_embedding_z(enc, melc, idx, seed) > -cfg.odd_min_embedding_z:
        return None
    alt = _diarize(x, replace(cfg, two_voice_min_distance=0.0), None, enc, grid, seed=seed, pre_emb=emb, memo=memo)
    if alt.n_voices != 2:
        return None
    return replace(alt, told_seed=(float(idx[ua[i]] * grid.hop_s), float((idx[ub[i] - 1] + 1) * grid.hop_s)))


def _finer_restart(x: np.ndarray, cfg: DiarizeConfig, enc: VoiceEncoder, grid: Grid,
                   separation: float, memo: dict | None = None, path: np.ndarray | None = None,
                   separation_se: float = float("nan"), gain: float = float("nan")) -> Diarization | None:
    """Where the first pass found two voices: the whole diarization again with shorter
    embedding windows (``finer_window_s``, same hop; ``0`` turns it off), kept when it also
    finds two voices lying further apart, both separations measured on ``window_s`` windows
    of each voice's own frames. The k-means split and the window vote depend on the window
    length: 1.5 s windows straddle a turn shorter than a window (AMI dev01: a 1.15 s turn
    between two turns of the other voice, given to them) and can settle on one voice's
    raised passage + the other voice (AMI trn06 dialogues), which the resegmentation
    cannot leave; 1.0 s windows alone break other recordings (AMI dev00) and split single
    voices, hence two starts. Affordable: its windows' embeddings are the first pass's LSTM
    runs read after ``finer_window_s`` (``_window_embeddings``), and its separation is only
    measured where its path (``path``: the first pass's, (m,) per speech frame) moves a
    stretch of ``finer_min_change_s`` to the other voice (``_relabels_a_stretch``). "Further
    apart": ``_further_apart`` (also nearer by less than the separation's noise, with frame
    models clearly better than the first's held-out ``gain``), unless it gives utterances to both voices where the
    first pass does not (``_unmixes``). Not kept where it gives more than
    ``finer_max_overlap`` of the speech to both voices: its overlap model hears a voice, and the
    voices' own windows, purer for it, lie further apart without the split being better (AMI tst00
    s105 mono at 25 dB: "both" 0.279 of the speech, one woman's, 43 % wrong). None: keep the first."""
    if cfg.finer_window_s <= 0 or cfg.finer_window_s >= cfg.window_s:
        return None
    fcfg = replace(cfg, window_s=cfg.finer_window_s, separation_window_s=cfg.window_s, finer_window_s=0.0,
                   minority_min_z=0.0, odd_min_z=0.0, subclusters=0, utterance_restart_below=0.0,
                   line_restart_below=0.0)
    alt = _diarize(x, fcfg, None, enc, grid, memo=memo, unless_like=path if cfg.finer_min_change_s > 0 else None)
    if alt.n_voices != 2 or not _further_apart(alt, separation, separation_se, gain, cfg):
        return None
    if path is not None and memo is not None:
        idx = np.flatnonzero(memo["speech"])
        if _unmixes(path, alt.owner[idx], idx, cfg, grid):
            return None  # further apart by giving whole utterances to both voices where the first pass does not
    if _overlap_share(alt) > cfg.finer_max_overlap:
        return None  # further apart by giving a voice to both voices
    return alt


def _utterance_restart(x: np.ndarray, cfg: DiarizeConfig, enc: VoiceEncoder, grid: Grid, idx: np.ndarray,
                       melc: np.ndarray, emb: np.ndarray, memo: dict, path: np.ndarray, separation: float,
                       separation_se: float, gain: float, overlap: float = 0.0, clear: bool = True,
                       best_path: np.ndarray | None = None) -> Diarization | None:
    """A restart from whole utterances, or None (keep the best so far: two voices ``separation``
    apart, standard error ``separation_se``, frame models' held-out ``gain``, ``overlap`` of its
    speech given to both voices; ``path``: its path, (m,) per speech frame; ``emb``: the
    embeddings of this pass's ``window_s`` windows).

    Each utterance (speech between pauses) of at least ``utterance_min_s`` is embedded on its
    own frames (tiles of at most ``window_s``, averaged; beyond ``utterance_max_tiles`` tiles in
    all, only each utterance's middle tile) and the utterances are cut into two cosine
    clusters, each of at least ``utterance_min_count`` utterances and ``utterance_min_voice_s``
    of speech (a "voice" of one to three utterances is an odd utterance as often, which the
    retries judge); frames of shorter utterances take the nearest clustered frame's label, and
    each window its frames' majority. The sliding windows of the first pass run across a change of
    voice wherever a turn is shorter than a window or its pause was left out, and two alike
    voices then mix (AMI dev00 / dev01's two men, tst00's two women: each voice's turn ends
    given to the other); an utterance seldom holds two people::

        speech       [=== A ===]  [= B =] [==== A ====]  [== B ==]
        windows      |-----|-----|-----|-----|-----|        straddle A / B
        utterances   A            B       A              B  one voice each

    The resegmentation starts from that split on the first pass's windows
    (``window_s``: their embeddings reused) and on ``utterance_window_s`` windows (the finer
    restart's, read from the same encoder runs). A start is kept where it finds two voices, each
    in two or more windows of its own, with frame models that hear two (held-out gain at least
    ``two_voice_min_gain``), lying further apart than the best so far by more than
    ``start_noise_z`` standard errors of the difference, or within them with frame models
    ``start_gain_nats`` better (``clear``; ``clear=False``: ``_further_apart`` alone, for a first
    pass judged one voice in pieces, whose caller passes ``two_voice_min_distance`` as the
    separation to beat and no standard error or gain). Tried only where the voices found lie less than
    ``utterance_restart_below`` apart (alike voices, where windows mix them). Utterance clusters
    lying ``utterance_decisive_apart`` or more apart (each of ``utterance_decisive_count``
    utterances and ``utterance_decisive_voice_s`` or more) are two voices by themselves: their
    start is tried with fewer utterances than ``utterance_min_count`` asks, its path is not
    put to the one-voice-in-pieces test nor its frame models asked for a gain (a voice of a few short turns next to a close-pitched
    one changes inside speech as one voice in pieces does; one voice's utterance clusters of
    three or more lay at most 0.20 apart over 94 one-voice recordings). Several channels'
    utterances are embedded from the channels' mean mel power (``_mel_of_channels``), not that of
    their mean signal. A start that gives more than ``utterance_max_more_overlap`` more of the
    speech to both voices than the best so far is not kept. ``best_path``: the best so far's owner, (m,) per speech
    frame: a start that holds is kept where it mends that split's utterances given to both voices and not kept
    on its separation where it mixes them so itself (``_unmixes``). Cost: the
    utterances' tiles (a third of the first pass's encoder time, less on long recordings) and two
    resegmentations whose separation reads at most 32 windows a voice (as many as a 45 s
    recording gives)."""
    if not separation < cfg.utterance_restart_below:
        return None
    ua, ub = _utterances(idx)
    keep = (ub - ua) >= grid.s_to_frames(cfg.utterance_min_s)
    decisive_on = cfg.utterance_decisive_apart > 0
    fewest = min(cfg.utterance_min_count, cfg.utterance_decisive_count) if decisive_on else cfg.utterance_min_count
    if keep.sum() < max(4, 2 * fewest):
        return None  # too few to give two voices their utterances (below)
    ua, ub = ua[keep], ub[keep]
    wt = grid.s_to_frames(cfg.window_s)
    ta, tb = ua, ub
    if np.sum(-(-(ub - ua) // wt)) > cfg.utterance_max_tiles:  # long recordings: each utterance's middle tile
        ta = ua + np.maximum(ub - ua - wt, 0) // 2
        tb = np.minimum(ta + wt, ub)
    if x.shape[1] > 1:  # several microphones: their mean mel power, not the mel power of their mean
        n, hop = len(x) // grid.hop_length, grid.hop_length
        melc = _memo(memo, "melc_of_channels", lambda: _speech_mel(
            lambda rows: _mel_of_channels(x, memo["speech"], n, hop, rows), memo["speech"], n, cfg, grid))
    tiles = _utterance_tiles(enc, melc, ta, tb)
    e = np.stack([tiles[int(a)].mean(axis=0) for a in ta])
    e = e / np.maximum(np.linalg.norm(e, axis=1, keepdims=True), 1e-12)
    ul = kmeans_cos(e, 2)
    dur = (ub - ua).astype(float)
    count = int(np.bincount(ul, minlength=2).min())
    voice = float(np.bincount(ul, weights=dur, minlength=2).min())
    decisive = (decisive_on and count >= cfg.utterance_decisive_count
                and voice >= grid.s_to_frames(cfg.utterance_decisive_voice_s)
                and _separation_of(_centroids(e, ul, np.ones(len(ul), bool))) >= cfg.utterance_decisive_apart)
    if not decisive and (count < cfg.utterance_min_count or voice < grid.s_to_frames(cfg.utterance_min_voice_s)):
        return None  # a voice in one to three utterances: an odd utterance as often (the retries judge those)
    m = len(idx)
    fl = np.full(m, np.nan)
    for a, b, k in zip(ua, ub, ul):
        fl[a:b] = k
    has = np.flatnonzero(np.isfinite(fl))  # frames of shorter utterances: the nearest labelled frame's
    fl = fl[has[np.clip(np.searchsorted(has, np.arange(m)), 0, len(has) - 1)]]
    base = _restart_cfg(cfg)
    if decisive:  # two voices by their utterances: the path is not asked whether it is one voice in pieces
        base = replace(base, pieces_min_changes=0)
    best = None
    for ws in (cfg.window_s, cfg.utterance_window_s):  # windows of the first pass (its embeddings), then shorter
        if ws <= 0:
            continue
        ucfg = base if ws == cfg.window_s else replace(base, window_s=ws, separation_window_s=cfg.window_s)
        st, wu = _window_starts(m, ucfg, grid)
        lab = (_window_mean(fl, st, wu) > 0.5).astype(np.int64)
        if np.bincount(lab, minlength=2).min() == 0:
            continue
        alt = _diarize(x, ucfg, None, enc, grid, memo=memo, start_lab=lab, unless_like=path,
                       pre_emb=emb if ws == cfg.window_s else None)
        if not _start_chosen(alt, best_path, idx, separation, separation_se, gain, overlap, cfg, grid,
                             clear=clear, decisive=decisive, feats=_restart_feats(memo, x, idx, cfg, grid)):
            continue
        best, separation, separation_se, gain = alt, alt.separation, alt.separation_se, alt.model_gain
        overlap = _overlap_share(alt)
        best_path = None if best_path is None else alt.owner[idx]
    return best


def _restart_feats(memo: dict, x: np.ndarray, idx: np.ndarray, cfg: DiarizeConfig, grid: Grid) -> np.ndarray | None:
    """The speech frames' features the passes' frame models read (``_speech_features``, made by the first pass
    and kept in ``memo``), for ``_start_chosen``'s clipped gain; None where ``fewer_mixed_by`` is 0 (not asked)."""
    if not cfg.fewer_mixed_by > 0:
        return None
    return _speech_features(memo, x, idx, cfg.n_mfcc, grid, stereo=x.shape[1] >= 2)[1]


def _restart_cfg(cfg: DiarizeConfig) -> DiarizeConfig:
    """The settings of a restart from a start of its own (``_utterance_restart``, ``_line_restart``): no
    retry or restart inside it, its separation read on at most 32 windows a voice."""
    return replace(cfg, finer_window_s=0.0, minority_min_z=0.0, odd_min_z=0.0, subclusters=0,
                   utterance_restart_below=0.0, line_restart_below=0.0, pieces_restart=False,
                   separation_max_windows=min(cfg.separation_max_windows, 32) or 32)


def _start_holds(alt: Diarization, overlap: float, cfg: DiarizeConfig, *, decisive: bool = False) -> bool:
    """Whether a restart's split ``alt`` may replace the best so far at all (``overlap``: the best's share of
    the speech given to both voices): two voices each in two or more windows of its own, frame models that hear
    two (``two_voice_min_gain``; not asked where ``decisive``), no more than ``utterance_max_more_overlap`` more
    of the speech given to both voices (each voice's own windows purer for it)."""
    return bool(alt.n_voices == 2 and np.isfinite(alt.separation_se) and np.isfinite(alt.model_gain)
                and (decisive or alt.model_gain >= cfg.two_voice_min_gain)
                and _overlap_share(alt) <= overlap + cfg.utterance_max_more_overlap)


def _start_beats(alt: Diarization, separation: float, separation_se: float, gain: float, overlap: float,
                 cfg: DiarizeConfig, *, clear: bool = True, decisive: bool = False) -> bool:
    """Whether a restart's split ``alt`` replaces the best so far (two voices ``separation`` apart, standard
    error ``separation_se``, frame models' held-out ``gain``, ``overlap`` of the speech given to both voices):
    ``_start_holds``, ``_further_apart``, and, where ``clear``, further apart by more than the separation's
    noise or within it with frame models ``start_gain_nats`` better."""
    if not (_start_holds(alt, overlap, cfg, decisive=decisive)
            and _further_apart(alt, separation, separation_se, gain, cfg)):
        return False
    if not clear:
        return True
    noise = cfg.start_noise_z * float(np.hypot(alt.separation_se, separation_se))
    beyond = alt.separation - separation > (noise if np.isfinite(noise) else 0.03)
    return bool(beyond or _gain_better(alt.model_gain, gain, cfg))


def _gain_better(alt_gain: float, gain: float, cfg: DiarizeConfig) -> bool:
    """Whether a restart's frame models (held-out gain ``alt_gain``, nats/frame) explain the frames clearly better
    than the best so far's (``gain``): ``start_gain_nats`` higher, or ``start_deaf_gain_nats`` higher where the
    best's hear no second voice (under ``two_voice_min_gain``: two voices by their separation alone) and the
    restart's do. Seen (docs/speakers.md, eighty-fourth round): FEE083>M / MEE009 s476, level, a first pass giving
    whole utterances of one man to the other (932 wrong frames) 0.204 +- 0.044 apart with a gain of 0.07, the
    finer and utterance starts right (29-252) 0.156-0.181 apart, within the noise, with 0.35-0.47."""
    if not (np.isfinite(alt_gain) and np.isfinite(gain)):
        return False
    deaf = gain < cfg.two_voice_min_gain <= alt_gain
    return bool(alt_gain >= gain + (min(cfg.start_deaf_gain_nats, cfg.start_gain_nats) if deaf
                                    else cfg.start_gain_nats))


def _start_chosen(alt: Diarization, best_path: np.ndarray | None, idx: np.ndarray, separation: float,
                  separation_se: float, gain: float, overlap: float, cfg: DiarizeConfig, grid: Grid, *,
                  clear: bool = True, decisive: bool = False, feats: np.ndarray | None = None) -> bool:
    """Whether a restart's split ``alt`` replaces the best so far (its figures as ``_start_beats`` reads them;
    ``best_path``: its owner, (m,) per speech frame ``idx``, None: ``_start_beats`` alone): ``_start_beats``
    unless ``alt`` gives utterances to both voices where the best does not, or ``_start_holds`` where it mends
    the best's so (``_unmixes``), or, its separation and overlap holding (gain not asked), where it lies further
    apart, cuts fewer utterances and its clipped frame-model gain hears two voices (``_fewer_mixed``; ``feats``:
    the speech frames' features, None: not asked)."""
    if best_path is None or alt.n_voices != 2 or cfg.unmix_from > 1.0:
        return _start_beats(alt, separation, separation_se, gain, overlap, cfg, clear=clear, decisive=decisive)
    alt_mixed, best_mixed = (_mixed_utterances(p, idx, cfg, grid) for p in (alt.owner[idx], best_path))
    if _unmixed(alt_mixed, best_mixed, cfg):
        return _start_holds(alt, overlap, cfg, decisive=decisive)
    if (feats is not None and _start_holds(alt, overlap, cfg, decisive=True)
            and _fewer_mixed(alt, alt_mixed, best_mixed, separation, best_path, idx, feats, cfg)):
        return True
    return (_start_beats(alt, separation, separation_se, gain, overlap, cfg, clear=clear, decisive=decisive)
            and not _unmixed(best_mixed, alt_mixed, cfg))


def _fewer_mixed(alt: Diarization, alt_mixed: float, best_mixed: float, separation: float, best_path: np.ndarray,
                 idx: np.ndarray, feats: np.ndarray, cfg: DiarizeConfig) -> bool:
    """Whether a restart's split ``alt`` lies further apart than the best so far (``separation``, by any amount),
    gives ``fewer_mixed_by`` or more fewer of the utterances to both voices (``_mixed_utterances`` shares
    ``alt_mixed``, ``best_mixed``; nan: not read, never fewer) and has frame models that hear two voices, and
    no worse than the best's (``best_path``, (m,) per speech frame ``idx``), in the clipped gain
    (``_clipped_gain`` on ``feats``). AMI trn06 through a call's codec (docs/speakers.md, eighty-fifth round):
    the utterance restart's split is 0.955 / 0.976 right, further apart than the best so far by less than the
    separation's noise, cuts 0.18 / 0.11 of the utterances against 0.36 / 0.22, its mean gain -0.46 / -0.28
    nats/frame (a few frames at -30..-170 nats each) but clipped +0.34 / +0.52 against the
    best's +0.08 / +0.18; on clean AMI dev00 s110 a restart's split 0.57 right, further apart, cutting none,
    has a clipped gain of +0.04 (the right first pass's +0.37): refused."""
    if not (cfg.fewer_mixed_by > 0 and alt.separation > separation and alt_mixed <= best_mixed - cfg.fewer_mixed_by):
        return False
    mine = _clipped_gain(feats, alt.owner[idx], cfg)
    return bool(mine >= cfg.two_voice_min_gain and mine >= _clipped_gain(feats, best_path, cfg))


def _clipped_gain(feats: np.ndarray, path: np.ndarray, cfg: DiarizeConfig) -> float:
    """The held-out gain of one frame model per voice (``_two_model_gain``, nats/frame, ``path`` (m,) 0/1/2 per
    speech frame of ``feats``) with each frame's gain clipped to +-``gain_clip_nats``: a coded recording's few
    frames that no model of their voice fits (2.7-4.9 % under -10 nats on the traced splits, 0.3-1.0 % on clean
    AMI; which of the codec's doings made them, concealment or band, not traced) weigh as much as a frame of
    speech the other voice's model fits clearly worse, no more. Its spread over the held-out blocks' phases
    was 0.07-0.10 nats/frame on the coded AMI trn06 splits where the mean gain's was 0.78-1.00."""
    return _two_model_gain(feats, path, cfg, clip=cfg.gain_clip_nats)


def _mixed_utterances(path: np.ndarray, idx: np.ndarray, cfg: DiarizeConfig, grid: Grid) -> float:
    """The share of the utterances (speech between pauses, ``mixed_utterance_s`` or longer; frames given to
    both voices left out) whose lesser voice holds ``mixed_utterance_minority`` or more of their frames along
    ``path`` ((m,) 0/1/2 per speech frame ``idx``); nan where fewer than four such utterances. A split of one
    voice's head against its tail, the tail with the other voice (FEO072>M beside MEE009 at 8 kHz,
    docs/speakers.md, eighty-third round), cuts half the utterances; the planted turns a fifth at most::

        utterances  [ A A A A ]  [ B B B ]  [ A A A A ]  [ B B ]
        right        0 0 0 0      1 1 1      0 0 0 0      1 1     none mixed
        mixed        1 1 0 0      0 0 0      1 1 0 0      0 0     the A utterances mixed
    """
    ua, ub = _utterances(idx)
    long = (ub - ua) >= grid.s_to_frames(cfg.mixed_utterance_s)
    if long.sum() < 4:
        return float("nan")
    label = np.repeat(np.arange(int(long.sum())), (ub - ua)[long])
    frames = np.concatenate([np.arange(a, b) for a, b in zip(ua[long], ub[long])])
    p = path[frames]
    one = np.bincount(label, weights=(p == 1), minlength=int(long.sum()))
    both = np.bincount(label, weights=(p != 2), minlength=int(long.sum()))
    lesser = np.minimum(one, both - one)
    return float(np.mean((both > 0) & (lesser >= cfg.mixed_utterance_minority * both)))


def _unmixes(path: np.ndarray, other: np.ndarray, idx: np.ndarray, cfg: DiarizeConfig, grid: Grid) -> bool:
    """Whether ``path`` gives ``unmix_to`` or less of the utterances to both voices where ``other`` gives
    ``unmix_from`` or more (``_mixed_utterances``; both (m,) 0/1/2 per speech frame ``idx``): an utterance seldom
    holds two people."""
    return cfg.unmix_from <= 1.0 and _unmixed(_mixed_utterances(path, idx, cfg, grid),
                                              _mixed_utterances(other, idx, cfg, grid), cfg)


def _unmixed(mixed: float, other_mixed: float, cfg: DiarizeConfig) -> bool:
    """``_unmixes`` on the two splits' ``_mixed_utterances`` shares (nan: not read; never unmixed)."""
    return cfg.unmix_from <= 1.0 and other_mixed >= cfg.unmix_from and mixed <= cfg.unmix_to


def _inside_share(path: np.ndarray, idx: np.ndarray, cfg: DiarizeConfig) -> float:
    """The share of ``path``'s changes of voice ((m,) 0/1/2 per speech frame ``idx``; "both" runs left out)
    that fall inside speech next to a short run (``_voice_changes``); 0 where it has none."""
    keep = path != 2
    inside, _, changes = _voice_changes(path[keep], idx[keep], cfg)
    return inside / max(changes, 1)


def utterance_line(emb: np.ndarray, level_db: np.ndarray, pairs: np.ndarray) -> np.ndarray | None:
    """The recording's own level line: the least-squares direction of the embedding steps between
    neighbouring windows ``j``, ``j + 1`` (``pairs``: (n - 1,) bool, the pairs inside one utterance) in their
    level steps (``level_db``: (n,) each window's level); unit (d,), or None where fewer than two pairs or no
    level step. Inside one utterance the voice is one, so what moves with level there is the voice's own
    spread (docs/speakers.md, seventy-ninth round: FEO072>M's head against its tail)::

        windows   |--a--|--b--|     |--c--|--d--|       a-b, c-d: one utterance each; b-c: over a pause
        steps        e_b - e_a         e_d - e_c        against  l_b - l_a, l_d - l_c
    """
    if pairs.sum() < 2:
        return None
    de = (emb[1:] - emb[:-1])[pairs].astype(np.float64)
    dl = np.diff(np.asarray(level_db, np.float64))[pairs]
    if dl @ dl <= 0:
        return None
    slope = de.T @ dl
    norm = float(np.linalg.norm(slope))
    return None if norm <= 0 else slope / norm


def _line_restart(x: np.ndarray, cfg: DiarizeConfig, enc: VoiceEncoder, grid: Grid, idx: np.ndarray,
                  melc: np.ndarray, emb: np.ndarray, lab: np.ndarray, memo: dict, path: np.ndarray,
                  separation: float, separation_se: float, gain: float, overlap: float, *,
                  best_path: np.ndarray | None = None) -> Diarization | None:
    """A restart from k-means on the first pass's window embeddings ``emb`` with the recording's own level line
    (``utterance_line``: neighbouring windows inside one utterance, no pause over ``line_max_pause_s`` in their
    frames) projected out; the resegmentation from that start reads the embeddings as they are. One more start
    for the choice between starts, kept where ``_start_beats`` prefers it to the best so far (``separation``,
    ``separation_se``, ``gain``, ``overlap``; ``path``: the first pass's path, (m,) 0/1/2 per speech frame), or
    where the first pass changes voice inside speech (``_inside_share`` ``line_inside_from`` or more of its
    changes) and this split, passing ``_start_holds``, at pauses (``line_inside_to`` or less): an utterance
    seldom holds two people, and a split of one voice's head against its tail with the other voice (FEO072>M
    beside MEE009 through an MP3 coder) lies further apart and has frame models that explain its frames better
    than the right one (docs/speakers.md, eighty-second round). Not tried where the voices lie
    ``line_restart_below`` apart or more, nor where its start is the first pass's (``lab``) for 95 % of the
    windows; ``best_path``: the best so far's owner, (m,) per speech frame, for ``_start_chosen``. None: keep the
    best so far."""
    if not separation < cfg.line_restart_below:
        return None
    starts, w = _window_starts(len(idx), cfg, grid)
    level_db = 10 * np.log10(_window_mean(_row_sum(melc).astype(np.float64), starts, w) + 1e-12)
    big = np.concatenate([[0], np.cumsum(np.diff(idx) > grid.s_to_frames(cfg.line_max_pause_s))])
    pairs = big[starts[1:] + w - 1] == big[starts[:-1]]  # no long pause from the first window's start to the last's end
    u = utterance_line(emb, level_db, pairs)
    if u is None:
        return None
    e = emb - np.outer(emb @ u, u)
    e = (e / np.maximum(np.linalg.norm(e, axis=1, keepdims=True), 1e-12)).astype(emb.dtype)
    start = kmeans2(e, n_init=cfg.n_init)
    if np.bincount(start, minlength=2).min() == 0 or max(np.mean(start == lab), np.mean(start != lab)) >= 0.95:
        return None
    alt = _diarize(x, _restart_cfg(cfg), None, enc, grid, memo=memo, start_lab=start, unless_like=path, pre_emb=emb)
    if _start_chosen(alt, best_path, idx, separation, separation_se, gain, overlap, cfg, grid,
                     feats=_restart_feats(memo, x, idx, cfg, grid)):
        return alt
    at_pauses = (cfg.line_inside_from <= 1.0 and _start_holds(alt, overlap, cfg)
                 and _inside_share(path, idx, cfg) >= cfg.line_inside_from
                 and _inside_share(alt.owner[idx], idx, cfg) <= cfg.line_inside_to)
    return alt if at_pauses else None


def _overlap_share(d: Diarization) -> float:
    """Share of ``d``'s speech frames given to both voices."""
    return float(d.activity.all(axis=1).sum() / max(1, int(d.speech.sum())))


def _separation_of(cents: np.ndarray) -> float:
    """Cosine distance between two unit centroids (2, d)."""
    return float(1.0 - cents[0] @ cents[1])


def _separation_se(own: dict, cents: np.ndarray) -> float:
    """Standard error of the separation ``1 - c0 . c1`` of two voices, from their own
    windows' embeddings (``own``: {k: (n_k, 256)}, ``cents``: (2, 256) unit centroids), by
    the delta method: voice k's centroid moves toward the other by the spread of its
    windows' similarity to the other centroid over sqrt(n_k - 1), scaled by the length of
    its mean (a tight voice: long mean); the two voices independent. nan below 2 windows
    a voice.

    A split that puts one voice's raised passage with the other voice (AMI trn06) leaves
    that voice's windows in two groups, one near the other voice and one not: a wide spread,
    a large error, though its centroids may lie as far apart as the right split's."""
    var = 0.0
    for k in (0, 1):
        e = np.asarray(own[k], np.float64)
        if len(e) < 2:
            return float("nan")
        e = e / np.maximum(np.linalg.norm(e, axis=1, keepdims=True), 1e-12)
        length = max(float(np.linalg.norm(e.mean(axis=0))), 1e-6)
        var += float(np.var(e @ cents[1 - k].astype(np.float64))) / (len(e) - 1) / length ** 2
    return float(np.sqrt(var))


def _further_apart(alt: Diarization, separation: float, separation_se: float, gain: float,
                   cfg: DiarizeConfig) -> bool:
    """Whether a restart's split ``alt`` is to replace the best so far (two voices lying
    ``separation`` apart, standard error ``separation_se``, frame models' held-out ``gain``
    in nats/frame): where its voices lie further apart, as before; and also where they lie
    less far apart by less than ``start_noise_z`` standard errors of the difference (the
    embeddings cannot tell the two splits apart) and its frame models explain the frames
    clearly better (held-out gain at least ``start_gain_nats`` higher). ``start_noise_z=0``
    (or any figure not measured): the separation alone.

    Seen (AMI trn06, docs/speakers.md "Eleventh round"): a first pass that puts one voice's
    raised passage with the other voice and the restart that does not lie 0.003-0.021 apart
    in separation (standard errors 0.024-0.034 each), the restart the nearer, with gains
    0.08-0.88 against 1.74-2.72 nats/frame. The gain only adds restarts, never vetoes one the
    separation prefers: between two near-right splits a higher gain was as often the worse
    one (AMI trn06 on the fresh split: 2.17 against 0.82 nats/frame, 6.2 against 4.4 % wrong)."""
    if alt.separation > separation:
        return True
    se_a, gain_a = alt.separation_se, alt.model_gain
    if cfg.start_noise_z <= 0 or not all(np.isfinite(v) for v in (se_a, separation_se, gain_a, gain)):
        return False
    within = separation - alt.separation <= cfg.start_noise_z * float(np.hypot(se_a, separation_se))
    return bool(within and _gain_better(gain_a, gain, cfg))


def kmeans_cos(e: np.ndarray, k: int, *, n_init: int = 10, iterations: int = 30) -> np.ndarray:
    """``k`` cosine clusters of unit vectors ``e`` (n, d): the best (largest summed similarity
    to the own centroid) of a farthest-first start (the vector least like the mean, then
    each next one least like those chosen) and ``n_init`` seeded starts; (n,) int64 in 0..k-1."""
    first = [int(np.argmin(e @ e.mean(axis=0)))]
    while len(first) < k:
        first.append(int(np.argmin(np.max(e @ e[first].T, axis=1))))
    rng = np.random.default_rng(0)
    inits = [first] + [list(rng.choice(len(e), k, replace=False)) for _ in range(n_init)]
    return _best_cosine_clusters(e, inits, iterations)


def _subcluster_restart(x: np.ndarray, cfg: DiarizeConfig, enc: VoiceEncoder, grid: Grid, separation: float,
                        emb: np.ndarray, lab: np.ndarray, memo: dict | None = None,
                        path: np.ndarray | None = None) -> Diarization | None:
    """Where the voices found lie less than ``subcluster_below`` apart (``separation``: the best
    so far, first pass or finer restart): the window embeddings ``emb`` cut into
    ``subclusters`` cosine clusters (``kmeans_cos``), each cluster against the rest starting
    the resegmentation again (``start_lab``; the first pass's ``lab`` and near-copies of it,
    >= 95 % of the windows alike, skipped); kept when its two voices lie more than
    ``subcluster_margin`` further apart than the best so far. None: keep what was found.

    Two-means on 1.5 s windows can settle on "voice A at her usual pitch" against "voice B
    + voice A's raised passage" (AMI trn06: B's turns are all shorter than a window, so no
    window is B alone; the raised passage lies as near B as A), and the resegmentation
    cannot leave that split. With four clusters the raised passage gets a cluster of its
    own, and "B against the rest" is one of the starts. A mixed split pulls the two
    centroids together, so the start whose voices lie furthest apart wins; the margin keeps
    out the noise of the separation itself (equally right splits of one recording differ by
    up to ~0.02); above ``subcluster_below`` the voices are already well apart (mixed AMI
    splits lay 0.20-0.235 apart, right ones 0.23-0.46; espeak pairs 0.31-0.46), and the
    restarts (a resegmentation and a separation each) are not paid for::

        windows   A A A A a a B B A A A a a B A A      A: usual, a: raised, B: the other voice
        2-means   0 0 0 0 1 1 1 1 0 0 0 1 1 1 0 0      A | a + B  (mixed)
        4-means   0 0 1 1 2 2 3 3 0 1 1 2 2 3 0 1      "3 against the rest": A + a | B

    Off by default (``subclusters=0``): on unseen mixes a start 0.02-0.03 further apart was
    as often a worse split as a better one (docs/speakers.md, "Eighth round")."""
    if cfg.subclusters < 3 or len(emb) < 2 * cfg.subclusters or not separation < cfg.subcluster_below:
        return None
    sub = kmeans_cos(emb, cfg.subclusters, n_init=cfg.n_init)
    mcfg = replace(cfg, finer_window_s=0.0, minority_min_z=0.0, odd_min_z=0.0, subclusters=0)
    best, best_sep = None, separation
    for j in range(cfg.subclusters):
        cand = (sub == j).astype(np.int64)
        agree = max(np.mean(cand == lab), np.mean(cand != lab))
        if cand.sum() == 0 or cand.all() or agree >= 0.95:
            continue
        alt = _diarize(x, mcfg, None, enc, grid, pre_emb=emb, memo=memo, start_lab=cand,
                       unless_like=path if cfg.finer_min_change_s > 0 else None)
        if alt.n_voices == 2 and alt.separation > best_sep + cfg.subcluster_margin:
            best, best_sep = alt, alt.separation
    return best


def _relabels_a_stretch(first: np.ndarray, path: np.ndarray, min_frames: int) -> bool:
    """Whether ``path`` gives at least ``min_frames`` consecutive speech frames to the other
    voice than ``first`` (both (m,) 0/1/2 per speech frame; the voices' names matched by
    their agreement; "both" frames never count)::

        first   0000000000111111111100000000001111
        path    0000000000001111111100000111111111      (names matched)
        moved             ^^                ^^^^^         runs of 2 and 5 frames

    The finer restart (``_finer_restart``) whose path only shifts the first pass's changes
    of voice by less than ``finer_min_change_s`` is not worth its separation (a third of
    the encoder's time): it is not kept."""
    a, b = np.asarray(first), np.asarray(path)
    both = (a != 2) & (b != 2)
    if np.sum(both & (a == b)) < np.sum(both & (a != b)):
        b = np.where(b == 2, 2, 1 - b)
    moved = np.concatenate([[0], (both & (a != b)).astype(np.int8), [0]])
    d = np.diff(moved)
    runs = np.flatnonzero(d < 0) - np.flatnonzero(d > 0)
    return bool(len(runs)) and int(runs.max()) >= min_frames


def _pitch_llr(f0_st: np.ndarray, is1: np.ndarray, use: np.ndarray, min_st: float,
               context: np.ndarray | None = None) -> np.ndarray:
    """Per-frame log-likelihood ratio (voice 1 over voice 0) of the pitch (semitones;
    nan: unvoiced, ratio 0) under one Gaussian per voice fitted on its voiced ``use``
    frames; (m,), within +-5 nats. Zeros when the two voices' medians lie less than
    ``min_st`` apart (pitch does not tell them apart) or a voice has < 50 voiced frames.
    ``context``: (m,) the pitch of each frame's stretch of speech where it is to be asked
    (``_pitch_context``; nan elsewhere): there the frame's ratio stands only where the
    stretch's, under the same Gaussians, has the same sign, else 0 (a falling sentence end,
    low frame by frame, its stretch in the speaker's own register)::

        pitch    ^^^^^^^^^^^^^^^^^^^^^\\__  ||  ___   (^ the client, _ the lower therapist, || a pause)
        frame    000000000000000000000001111  ||  111
        stretch  000000000000000000000000000  ||  111
        ratio    000000000000000000000000000  ||  111   (1: for the therapist, 0: for the client or none)"""
    voiced = np.isfinite(f0_st)
    par = []
    for k in (False, True):
        v = f0_st[voiced & use & (is1 == k)]
        if len(v) < 50:
            return np.zeros(len(f0_st))
        med = float(np.median(v))
        par.append((med, max(1.4826 * float(np.median(np.abs(v - med))), 1.0)))
    (m0, s0), (m1, s1) = par
    if abs(m1 - m0) < min_st:
        return np.zeros(len(f0_st))
    def ratio(f: np.ndarray) -> np.ndarray:
        v = np.isfinite(f)
        x = np.where(v, f, 0.0)
        ll = lambda mu, sd: -0.5 * ((x - mu) / sd) ** 2 - np.log(sd)  # noqa: E731
        return np.where(v, np.clip(ll(m1, s1) - ll(m0, s0), -5.0, 5.0), 0.0)
    out = ratio(f0_st)
    if context is not None:
        asked = np.isfinite(context)
        out[asked & (np.sign(out) != np.sign(ratio(context)))] = 0.0
    return out


def _run_tails(idx: np.ndarray, n: int) -> np.ndarray:
    """(m,) bool: the speech frames (numbers ``idx``; a gap ends a run of speech) among the last ``n``
    of their run."""
    if len(idx) == 0:
        return np.zeros(0, bool)
    ends = np.flatnonzero(np.diff(idx) > 1)
    last = np.concatenate([ends, [len(idx) - 1]])  # each run's last frame, by run
    run = np.concatenate([[0], np.cumsum(np.diff(idx) > 1)])
    return last[run] - np.arange(len(idx)) < n


def _pitch_context(f0_st: np.ndarray, idx: np.ndarray, half: int, *, where: np.ndarray | None = None,
                   rows: int = 4096) -> np.ndarray:
    """The pitch of each voiced frame's stretch of speech: the median of the voiced pitch (semitones) over
    ``half`` frames either side, inside the frame's run of speech (``idx``: the frames' numbers; a gap
    ends a run); nan where the frame is unvoiced or not in ``where`` ((m,) bool; None: every frame).
    (m,) float32."""
    f0 = np.asarray(f0_st, np.float64)
    m = len(f0)
    out = np.full(m, np.nan, np.float32)
    todo = np.flatnonzero(np.isfinite(f0) & (True if where is None else where))
    if len(todo) == 0:
        return out
    run = np.concatenate([[0], np.cumsum(np.diff(idx) > 1)])
    pad = np.concatenate([np.full(half, np.nan), f0, np.full(half, np.nan)])
    rpad = np.concatenate([np.full(half, -1), run, np.full(half, -1)])
    offs = np.arange(2 * half + 1)
    for a in range(0, len(todo), rows):  # a few thousand frames a pass: (rows, 2 * half + 1) at a time
        t = todo[a:a + rows]
        vals = pad[t[:, None] + offs]
        vals[rpad[t[:, None] + offs] != run[t][:, None]] = np.nan
        out[t] = np.nanmedian(vals, axis=1)  # the frame itself is voiced: never an empty window
    return out


def _frame_f0_st(y: np.ndarray, frames: np.ndarray, *, grid: Grid = GRID, fmin_hz: float = 60.0,
                 fmax_hz: float = 400.0, min_peak: float = 0.45, gain=None) -> np.ndarray:
    """Pitch of the frames ``frames`` (indices on the grid) of ``y`` (n_samples,) in
    semitones re 100 Hz (nan: unvoiced), from the normalised autocorrelation of a 40 ms
    Hann window centred on the frame (the first local peak within 0.9 of the best, so no
    sub-harmonics; Boersma 1993 in a bare form). ``gain``: the samples read are scaled by
    it (those of ``y * gain``). (len(frames),) float32."""
    sr, hop = grid.sample_rate, grid.hop_length
    win = 4 * hop
    lo, hi = int(sr / fmax_hz), int(sr / fmin_hz)
    nfft = _linear_ac_fft_length(win, hi)
    window = np.hanning(win).astype(np.float32)
    wac = np.fft.irfft(np.abs(np.fft.rfft(window, nfft)) ** 2, nfft)[:hi + 1]
    wac = np.maximum(wac / wac[0], 1e-3)
    y = as_signal(y)
    frames = np.asarray(frames, np.int64)
    n = len(frames)
    out = np.full(n, np.nan, np.float32)
    if len(y) == 0:
        return out
    for a in range(0, n, 64):  # 64 frames a pass: the FFTs' working set stays in the cache (2048 took 1.6 x the CPU)
        b = min(n, a + 64)
        fr = _windows_from(y, frames[a:b] * hop - win // 2, win, gain)  # the window centred on the frame
        fr = fr - fr.mean(axis=1, keepdims=True)
        ac = np.fft.irfft(np.abs(np.fft.rfft(fr * window, nfft, axis=1)) ** 2, nfft, axis=1)[:, :hi + 1]
        r = (ac / np.maximum(ac[:, :1], 1e-12) / wac)[:, lo:]
        peak = r.max(axis=1)
        top = (r[:, 1:-1] >= r[:, :-2]) & (r[:, 1:-1] >= r[:, 2:]) & (r[:, 1:-1] >= 0.9 * peak[:, None])
        lag = lo + 1 + np.argmax(top, axis=1)  # the first local maximum near the best
        out[a:b] = np.where(peak > min_peak, 12.0 * np.log2(sr / lag / 100.0), np.nan)
    return out


def _linear_ac_fft_length(win: int, max_lag: int) -> int:
    """The FFT length for the autocorrelation of ``win`` samples at lags 0..``max_lag``: the least power of two
    of at least ``win + max_lag``, so that no lag read wraps round (a circular lag L adds the products of samples
    ``nfft - L`` apart, none within the window there). 1024 for the pitch's 640-sample window to lag 266, where
    ``2 * win`` (1280) was taken before: the pitch 14-16 % less CPU on held (numpy's float32 FFTs), the same
    values but in 2 of 474 228 frames (rounding), every attribution of ``benchmarks/diarization_same.py``'s 153
    recordings the same (docs/speakers.md, seventy-ninth round, cost84)."""
    return 1 << (win + max_lag - 1).bit_length()


def _windows_from(y, first: np.ndarray, win: int, gain) -> np.ndarray:
    """(len(first), ``win``) float32: ``y[first[i] + j] * gain`` (``gain`` None: 1), zeros beyond the
    signal (``y``: 1-D float32 or a ``ChannelMean``). Rows all within the signal are read as whole
    rows (``views.windows_at``: the same values), others gathered sample by sample, with no padded
    copy of the signal."""
    if first.min() >= 0 and first.max() + win <= len(y):
        fr = windows_at(y, first, win)
        return fr if gain is None else fr * gain
    pos = first[:, None] + np.arange(win)
    fr = y[np.clip(pos, 0, len(y) - 1)]
    if gain is not None:
        fr = fr * gain
    return np.where((pos >= 0) & (pos < len(y)), fr, np.float32(0.0))


def _ild_llr(ild_db: np.ndarray, is1: np.ndarray, use: np.ndarray) -> np.ndarray:
    """Per-frame log-likelihood ratio (voice 1 over voice 0) of the level difference
    under one Gaussian per voice fitted on the ``use`` frames of each; (m,), within
    +-10 nats. Zeros when a voice has fewer than 50 such frames."""
    par = []
    for k in (False, True):
        v = ild_db[use & (is1 == k)]
        if len(v) < 50:
            return np.zeros(len(ild_db))
        par.append((float(v.mean()), max(float(v.std()), 0.3)))
    (m0, s0), (m1, s1) = par
    ll = lambda mu, sd: -0.5 * ((ild_db - mu) / sd) ** 2 - np.log(sd)  # noqa: E731
    return np.clip(ll(m1, s1) - ll(m0, s0), -10.0, 10.0)


def _spatial_split(ild_db: np.ndarray, loud: np.ndarray, starts: np.ndarray, w: int,
                   cfg: DiarizeConfig) -> np.ndarray | None:
    """Window labels from the inter-channel level difference, or None when it does not
    show two voices.

    ``ild_db``: (m,) per speech frame, ``loud``: (m,) frames whose level counts. Each
    window's median ILD over its loud frames; a two-component 1-D Gaussian mixture
    (unequal weights and spreads) on those medians; two voices when the modes lie
    ``spatial_min_db`` apart and ``spatial_min_dprime`` pooled standard deviations apart
    with at least ``spatial_min_share`` of the windows in the smaller one::

        ILD dB   -4 -3 -2 -1  0  1  2  3
        windows   .  #  #  .  .  .  #  .      two modes: voice 0 | voice 1

    Windows with too few loud frames join the larger mode."""
    med = np.full(len(starts), np.nan)
    for i, a in enumerate(starts):
        sel = loud[a:a + w]
        if sel.sum() >= 20:
            med[i] = np.median(ild_db[a:a + w][sel])
    return _two_modes(med, min_gap=cfg.spatial_min_db, min_dprime=cfg.spatial_min_dprime,
                      min_share=cfg.spatial_min_share)


def _pitch_split(f0_st: np.ndarray, starts: np.ndarray, w: int, cfg: DiarizeConfig) -> np.ndarray | None:
    """Window labels from the voices' pitch, or None when it does not show two voices.

    ``f0_st``: (m,) per speech frame, semitones (nan: unvoiced). Each window's median
    pitch over its voiced frames (at least ``pitch_split_min_voiced`` of them); two voices
    when those medians form two modes ``pitch_split_min_st`` apart and
    ``pitch_split_min_dprime`` pooled standard deviations apart (a real voice's octave
    errors and raised passages give looser modes), the smaller holding at
    least ``spatial_min_share`` of the windows::

        pitch st   0  1  2  .  .  .  .  .  . 10 11 12
        windows    #  #  #  .  .  .  .  .  .  .  #  .     a low voice | a high voice

    A voice that GE2E hardly tells from the other, or that holds ~90 % of the
    recording (which k-means would cut in two), is then split by who speaks."""
    med = np.full(len(starts), np.nan)
    voiced = np.isfinite(f0_st)
    for i, a in enumerate(starts):
        sel = voiced[a:a + w]
        if sel.sum() >= cfg.pitch_split_min_voiced:
            med[i] = np.median(f0_st[a:a + w][sel])
    return _two_modes(med, min_gap=cfg.pitch_split_min_st, min_dprime=cfg.pitch_split_min_dprime,
                      min_share=cfg.spatial_min_share)


def _two_modes(med: np.ndarray, *, min_gap: float, min_dprime: float, min_share: float) -> np.ndarray | None:
    """Labels 0/1 of the values ``med`` (n,) (nan: no value, joins the larger mode) from a
    two-component 1-D Gaussian mixture (unequal weights and spreads), or None unless the
    modes lie ``min_gap`` apart and ``min_dprime`` pooled standard deviations apart with
    at least ``min_share`` of the values in the smaller."""
    ok = np.isfinite(med)
    if ok.sum() < 6:
        return None
    v = med[ok]
    mu = np.percentile(v, [5, 95]).astype(np.float64)
    sd = np.full(2, max(float(v.std()) / 2, 0.05))
    pi = np.array([0.5, 0.5])
    for _ in range(50):
        ll = -0.5 * ((v[:, None] - mu) / sd) ** 2 - np.log(sd) + np.log(pi)
        r = np.exp(ll - ll.max(axis=1, keepdims=True))
        r /= r.sum(axis=1, keepdims=True)
        nk = r.sum(axis=0) + 1e-9
        mu = (r * v[:, None]).sum(axis=0) / nk
        sd = np.maximum(np.sqrt((r * (v[:, None] - mu) ** 2).sum(axis=0) / nk), 0.05)
        pi = nk / nk.sum()
    dprime = abs(mu[1] - mu[0]) / np.sqrt(0.5 * (sd[0] ** 2 + sd[1] ** 2))
    if abs(mu[1] - mu[0]) < min_gap or dprime < min_dprime or pi.min() < min_share:
        return None
    lab = np.full(len(med), int(np.argmax(pi)), np.int64)
    lab[ok] = np.argmax(ll, axis=1)
    if np.bincount(lab, minlength=2).min() == 0:
        return None
    return lab


def _short_pitched_apart(path: np.ndarray, f0_st: np.ndarray | None, cfg: DiarizeConfig,
                         grid: Grid) -> bool:
    """Whether a split of a short recording holds two voices by their pitch: the smaller voice holds
    less than ``short_max_voice_s`` of speech (its frame models, fitted on half of it, overfit), the
    two voices' median pitches (each over >= 50 voiced frames, overlap left out) lie at least
    ``short_pitch_apart_st`` apart, and that far in units of their spread (``short_pitch_min_dprime``:
    the medians' difference over the root mean square of the two voices' robust deviations, the
    interquartile range / 1.349, each at least 0.3 st): one voice's halves whose pitch the tracker
    reads an octave off here and there (AMI FEE083: medians 9.6 st apart, deviations 7-8 st) lie far
    apart in median but not in spread. False where pitch is not measured or the test is off (0)."""
    if cfg.short_pitch_apart_st <= 0 or f0_st is None:
        return False
    keep = path != 2
    if min(np.sum(path[keep] == k) for k in (0, 1)) >= grid.s_to_frames(cfg.short_max_voice_s):
        return False
    f0, p = f0_st[keep], path[keep]
    med, dev = [], []
    for k in (0, 1):
        v = f0[np.isfinite(f0) & (p == k)]
        if len(v) < 50:
            return False
        q1, q2, q3 = np.percentile(v, [25, 50, 75])
        med.append(float(q2))
        dev.append(max(float(q3 - q1) / 1.349, 0.3))
    apart = abs(med[1] - med[0])
    return apart >= cfg.short_pitch_apart_st and apart >= cfg.short_pitch_min_dprime * math.sqrt(
        (dev[0] ** 2 + dev[1] ** 2) / 2)


GAIN_BLOCK_FRAMES = 50  # the held-out blocks of _two_model_gain: 0.5 s
# the phases (frames) _steady_gain averages the held-out gain over: five, 0.1 s apart, spread over one block;
# one phase's gain of the same split moved from -0.229 to -0.267..+0.255 nats/frame with these (wp85)
GAIN_PHASES_FRAMES = (0, 10, 20, 30, 40)


def _two_model_gain(feats: np.ndarray, path: np.ndarray, cfg: DiarizeConfig, *, phase: int = 0,
                    clip: float = 0.0) -> float:
    """Mean per-frame log-likelihood gain of one GMM per voice over one GMM for all
    speech, each scored on held-out frames (every other 0.5 s block, the blocks moved
    ``phase`` frames earlier), in nats/frame; -inf when a voice has too few frames to model.
    ``clip`` > 0: each frame's gain clipped to +-``clip`` nats first (``_clipped_gain``)."""
    m = len(feats)
    block = ((np.arange(m) + phase) // GAIN_BLOCK_FRAMES) % 2 == 0
    gains = []
    # the models fitted on the rows they use, the frames scored where they lie: an hour's speech makes
    # no copies of half its features (24 MB each)
    for train, test in ((block, ~block), (~block, block)):
        one = _DiagGmm.of_rows(feats, train, cfg.n_gauss, cfg.gmm_iterations)
        rows = np.flatnonzero(test)
        ll1 = one.loglik_rows(feats, rows)
        ll2 = np.empty(len(rows))
        pt = path[test]
        for k in (0, 1):
            tr = train & (path == k)
            if tr.sum() < 20:
                return float("-inf")  # too little of one voice to tell
            g = _DiagGmm.of_rows(feats, tr, cfg.n_gauss, cfg.gmm_iterations)
            sel = pt == k
            ll2[sel] = g.loglik_rows(feats, rows[sel])
        sel = pt != 2
        d = ll2[sel] - ll1[sel]
        gains.append(float(np.mean(np.clip(d, -clip, clip) if clip > 0 else d)))
    return float(np.mean(gains))


def _steady_gain(feats: np.ndarray, path: np.ndarray, cfg: DiarizeConfig, bar: float) -> float:
    """``_two_model_gain`` of ``path`` (nats/frame), averaged over the held-out blocks' phases
    ``GAIN_PHASES_FRAMES`` (those a voice can be modelled in) where the first phase's lies within
    ``cfg.gain_phase_margin`` of ``bar``, the bar it is read against: there one phase's gain is as
    likely noise as the voices (it moves by up to 0.6 nats/frame with the phase alone on alike
    voices). Costs four more gains (24 GMM fits) only there."""
    gain = _two_model_gain(feats, path, cfg)
    if not abs(gain - bar) < cfg.gain_phase_margin:
        return gain
    gains = [gain] + [_two_model_gain(feats, path, cfg, phase=p) for p in GAIN_PHASES_FRAMES[1:]]
    return float(np.mean([g for g in gains if np.isfinite(g)]))


def _voice_turns(own: np.ndarray, idx: np.ndarray, emb: np.ndarray, starts: np.ndarray, w: int,
                 prefixes: dict, prefix_w: int, min_frames: int) -> list[tuple[int, int, int, np.ndarray]]:
    """Each voice's turns and their embeddings, from windows already embedded.

    ``own``: (m,) 0/1/2 (both) per speech frame, ``idx``: (m,) their frame numbers. A turn is a
    run of one voice between pauses or changes of voice, at least ``min_frames`` long; its
    embedding is the mean of the unit embeddings of the first pass's windows lying wholly inside
    it (``emb``: (len(starts), 256), ``w`` frames from each of ``starts``, compact speech frames),
    else of the ``prefix_w``-frame windows at those starts (``prefixes``: start -> embedding, the
    finer restart's, ``_window_embeddings``), unit length; a turn with neither is left out.
    [(voice, a, b, (256,) embedding)] with a..b compact speech frames, in time order::

        speech   [======]   [==========][====]     [=====]
        owner     000000     0000000000  1111       11111
        turns     |-0--|     |---0----|  |1|        |-1-|    (a turn < min_frames: left out)
    """
    cut = np.flatnonzero((np.diff(idx) > 1) | (own[1:] != own[:-1])) + 1
    bounds = np.concatenate([[0], cut, [len(own)]])
    e = emb / np.maximum(np.linalg.norm(emb, axis=1, keepdims=True), 1e-12)
    out = []
    for a, b in zip(bounds[:-1], bounds[1:]):
        if own[a] == 2 or b - a < min_frames:
            continue
        inside = (starts >= a) & (starts + w <= b)
        if inside.any():
            v = e[inside].mean(axis=0)
        else:
            pre = [prefixes[int(s)] for s in starts if a <= s and s + prefix_w <= b and int(s) in prefixes]
            if not pre:
                continue
            p = np.stack(pre)
            v = (p / np.maximum(np.linalg.norm(p, axis=1, keepdims=True), 1e-12)).mean(axis=0)
        out.append((int(own[a]), int(a), int(b), v / max(float(np.linalg.norm(v)), 1e-12)))
    return out


def _turns_of(d: Diarization, memo: dict) -> tuple[list, np.ndarray] | None:
    """``_voice_turns`` of ``d`` (>= 1 s each) from the first pass's windows in ``memo``, and the
    speech frames' numbers; None where the first pass embedded fewer than two windows."""
    if "windows" not in memo:
        return None
    starts, w, emb = memo["windows"]
    idx = np.flatnonzero(memo["speech"])
    if len(emb) < 2 or len(emb) != len(starts) or len(idx) == 0:
        return None
    pkey = next((k for k in memo if isinstance(k, tuple) and k[0] == "prefix"), None)
    return _voice_turns(d.owner[idx], idx, emb, starts, w, memo[pkey] if pkey else {}, pkey[1] if pkey else 0,
                        d.grid.s_to_frames(1.0)), idx


def _more_voices(d: Diarization, cfg: DiarizeConfig, memo: dict) -> Diarization:
    """``d`` with ``more_voices`` / ``mixed`` set where a voice of it seems to hold two people (a
    couple or a family with their therapist, a supervisor joining): the diarizer finds at most two
    voices, so a third person's speech goes to one of them. Nothing else of ``d`` changes.

    Per voice: its turns (``_voice_turns``, >= 1 s each, embedded from the first pass's windows in ``memo``, no new
    encoder run) cut into two groups by cosine 2-means; the voice is mixed when each group holds at least
    ``more_voices_min_turns`` turns and ``more_voices_min_s`` of speech, or at least as many distinct turns
    (``_distinct_turns``: a repeat of the same audio counts once) and ``more_voices_distinct_min_s`` of their speech,
    the groups' duration-weighted centroids lie at least ``more_voices_min_distance`` apart and one frame model per
    group (MFCC GMMs as the resegmentation's) predicts held-out frames of the voice at least ``more_voices_min_gain``
    nats/frame better than one model for the voice (``_two_model_gain``). The embeddings alone do not tell: one
    voice's turns, cut in two, lie 0.05-0.28 apart on 1.5 s windows (AMI voices the most), as far as two people's;
    one voice's groups lose on held-out frames (-0.3..-2 nats/frame on the espeak-ng two-voice dialogues), two
    people's mostly gain (benchmarks/more_voices.py; docs/speakers.md, "More than two voices"). 0.7 nats/frame (not
    0.4): two real AMI people over 1.5 min (each stretch used at most twice) gained up to 0.53 on groups of >= 8 s,
    so 0.4 warned on one. 8 s: 45 s two-voice mixes placing the same few AMI stretches again and again gained 1-3
    nats/frame on one person (held-out frames copying training frames) on groups of 4-7 s. Counted in distinct turns
    those groups hold 1-2, so 4 s of distinct turns is asked as well: it says three people in recordings under a
    minute that 8 s left unsaid, and no one- or two-voice recording more (docs/speakers.md, "Eighty-third round").
    ``more_voices``: 2 + the number of mixed voices (an estimate: a mixed voice may hold more than two people).
    Costs two k-means of a few turns, their pairwise cosines and up to 12 GMM fits on the voices' frames."""
    if d.n_voices != 2 or cfg.more_voices_min_s <= 0:
        return d
    got = _turns_of(d, memo)
    if got is None:
        return d
    turns, idx = got
    min_frames = d.grid.s_to_frames(cfg.more_voices_min_s)
    distinct_frames = d.grid.s_to_frames(cfg.more_voices_distinct_min_s)
    feats = None
    mixed = []
    for v in (0, 1):
        mine = [t for t in turns if t[0] == v]
        if len(mine) < 2 * cfg.more_voices_min_turns:
            mixed.append(False)
            continue
        e = np.stack([t[3] for t in mine])
        n = np.array([t[2] - t[1] for t in mine], np.float64)
        lab = kmeans_cos(e, 2, n_init=6)
        own = _distinct_turns(mine, cfg.more_voices_repeat_distance)
        if not (_groups_hold(lab, n, np.ones(len(mine), bool), cfg.more_voices_min_turns, min_frames)
                or cfg.more_voices_distinct_min_s > 0
                and _groups_hold(lab, n, own, cfg.more_voices_min_turns, distinct_frames)):
            mixed.append(False)
            continue
        c = np.stack([(e[lab == k] * n[lab == k, None]).sum(axis=0) for k in (0, 1)])
        c /= np.maximum(np.linalg.norm(c, axis=1, keepdims=True), 1e-12)
        if _separation_of(c) < cfg.more_voices_min_distance:
            mixed.append(False)
            continue
        if feats is None:
            feats = _speech_features(memo, None, idx, cfg.n_mfcc, GRID, stereo=False)[1]
        sel = np.concatenate([np.arange(t[1], t[2]) for t in mine])
        path = np.concatenate([np.full(t[2] - t[1], k, np.int8) for t, k in zip(mine, lab)])
        mixed.append(_two_model_gain(feats[sel], path, cfg) >= cfg.more_voices_min_gain)
    if not any(mixed):
        return d
    return replace(d, more_voices=2 + sum(mixed), mixed=(mixed[0], mixed[1]))


def _groups_hold(lab: np.ndarray, n: np.ndarray, use: np.ndarray, min_turns: int, min_frames: int) -> bool:
    """Whether both groups of ``lab`` (0/1 per turn) hold at least ``min_turns`` of the turns in
    ``use`` and ``min_frames`` of their frames (``n``: each turn's frames)."""
    return (min(np.bincount(lab[use], minlength=2)) >= min_turns
            and min(float(n[use & (lab == k)].sum()) for k in (0, 1)) >= min_frames)


def _distinct_turns(turns: list, min_distance: float) -> np.ndarray:
    """(len(turns),) bool: the ``turns`` (``_voice_turns``' tuples of one voice) that count as
    evidence of their own: each, longest first, unless it lies within ``min_distance`` (cosine) of
    a longer one counted. The same audio heard again (an espeak-ng sentence spoken twice, an AMI
    stretch a test mix places twice: 0.01-0.046 apart) is one piece of evidence; a voice's turns
    form a continuum down to 0.02 apart, so some distinct turns are not counted either, which only
    asks more of a group (``_more_voices``' counts and seconds)."""
    out = np.zeros(len(turns), bool)
    if not turns:
        return out
    if min_distance <= 0:
        return ~out
    e = np.stack([t[3] for t in turns])
    near = e @ e.T > 1.0 - min_distance
    for i in sorted(range(len(turns)), key=lambda i: turns[i][1] - turns[i][2]):
        out[i] = not (near[i] & out).any()
    return out


def _one_voice(n: int, speech: np.ndarray, emb: np.ndarray, separation: float) -> Diarization:
    v = emb.mean(axis=0)
    act = np.zeros((n, 2), bool)
    act[:, 0] = speech
    return Diarization(n_voices=1, activity=act, owner=np.zeros(n, np.int8),
                       centroids=(v / max(np.linalg.norm(v), 1e-12)).astype(np.float32)[None],
                       separation=separation, voice_share=(1.0, 0.0))


def _centroids(emb: np.ndarray, lab: np.ndarray, use: np.ndarray) -> np.ndarray:
    out = []
    for k in (0, 1):
        sel = use & (lab == k)
        v = emb[sel].mean(axis=0) if np.any(sel) else emb[lab == k].mean(axis=0)
        out.append(v / max(np.linalg.norm(v), 1e-12))
    return np.stack(out).astype(np.float32)


def _spread(values: np.ndarray, starts: np.ndarray, w: int, m: int) -> np.ndarray:
    """Per compact frame: mean of ``values`` over the windows ``[s, s + w)`` covering it; (m,)."""
    acc = np.zeros(m + 1)
    cnt = np.zeros(m + 1)
    np.add.at(acc, starts, values)
    np.add.at(acc, starts + w, -values)
    np.add.at(cnt, starts, 1.0)
    np.add.at(cnt, starts + w, -1.0)
    acc, cnt = np.cumsum(acc)[:m], np.cumsum(cnt)[:m]
    return np.where(cnt > 0.5, acc / np.maximum(cnt, 1.0), 0.0)


def _window_mean(frame_values: np.ndarray, starts: np.ndarray, w: int) -> np.ndarray:
    cs = np.concatenate([[0.0], np.cumsum(frame_values)])
    return (cs[starts + w] - cs[starts]) / w


def channel_mean(x: np.ndarray) -> np.ndarray:
    """(n_samples,) mean of the channels of ``x`` (n_samples, n_channels): for one channel
    the channel itself, a view (the mean of one value is that value), not a copy of an
    hour of audio. Of a ``Pcm16``: its one channel read where read, or the channels' mean
    in float32 (``ChannelMean``'s values: the same)."""
    if isinstance(x, Pcm16):
        return x[:, 0] if x.shape[1] == 1 else np.asarray(ChannelMean(x))
    return x[:, 0] if x.shape[1] == 1 else x.mean(axis=1)



def frame_mean_square(frames: np.ndarray, dtype, *, offset: float = 0.0) -> np.ndarray:
    """(n,) mean square of each row of ``frames`` (n, hop_length), squared in ``dtype``: as
    ``np.mean(np.square(frames, dtype=dtype), axis=1)`` (the same values), some thousand rows
    at a time, so that an hour's squares are never held at once. ``offset``: subtracted
    first, in ``dtype`` (a recording's DC offset)."""
    out = np.empty(len(frames), dtype)
    for a in range(0, len(frames), _ROWS):
        rows = frames[a:a + _ROWS]
        out[a:a + _ROWS] = np.mean(np.square(rows, dtype=dtype) if offset == 0.0 else
                                   np.square(rows.astype(dtype) - offset), axis=1)
    return out


_ROWS = 8192  # frames squared at once by frame_mean_square


def _speech_rms(frames: np.ndarray, speech: np.ndarray):
    """Root mean square of the ``speech`` rows of ``frames`` (n, hop_length) float32: the value
    of ``np.sqrt(np.mean(frames[speech] ** 2))`` without that copy of the rows (an hour of
    speech: 180 MB). The sum runs in numpy's own pairwise order (``_pairwise_square_sum``):
    the encoder's gain is set by it, and the diarizer's results move with its last bits."""
    rows = np.flatnonzero(speech)
    n = len(rows) * frames.shape[1]
    total = _pairwise_square_sum(frames, rows, 0, n)
    return np.sqrt(total.dtype.type(total / n))


_PAIRWISE_LEAF = 1 << 16  # elements summed by numpy itself in _pairwise_square_sum


def _pairwise_square_sum(frames: np.ndarray, rows: np.ndarray, lo: int, n: int):
    """float32 sum of the squares of elements ``lo`` .. ``lo + n`` of ``frames[rows]`` (flattened),
    split as numpy's pairwise summation splits a contiguous array (above its 128-element blocks:
    the first half rounded down to a multiple of 8, then the rest), so that the sum is that of
    ``np.add.reduce(np.square(frames[rows]).ravel())``, bit for bit; pieces of up to
    ``_PAIRWISE_LEAF`` elements are squared and summed by numpy, from a copy of their rows only."""
    if n <= _PAIRWISE_LEAF:
        hop = frames.shape[1]
        r0, r1 = lo // hop, -(-(lo + n) // hop)
        return np.add.reduce(np.square(frames[rows[r0:r1]]).ravel()[lo - r0 * hop:lo - r0 * hop + n])
    half = n // 2
    half -= half % 8
    return _pairwise_square_sum(frames, rows, lo, half) + _pairwise_square_sum(frames, rows, lo + half, n - half)


def audio_2d(audio: np.ndarray) -> np.ndarray:
    """Audio as float32 of shape (n_samples, n_channels); one clear error for any other shape or
    for non-finite samples. A ``Pcm16`` (16-bit samples, always finite) is passed as it is, and
    one of its columns as that channel held so."""
    if isinstance(audio, Pcm16):
        return audio
    if isinstance(audio, ChannelMean) and isinstance(audio.source, Pcm16) and audio.source.shape[1] == 1:
        return audio.source  # a Pcm16's column
    x = np.asarray(audio, dtype=np.float32)
    if x.ndim == 1:
        x = x[:, None]
    if x.ndim != 2 or x.shape[1] < 1:
        raise InputError(f"audio of shape {x.shape}: give (n_samples,) or (n_samples, n_channels)")
    if not all(np.isfinite(x[a:a + _FINITE_ROWS]).all() for a in range(0, len(x), _FINITE_ROWS)):
        raise InputError("audio contains NaN or infinite samples")
    return x


_FINITE_ROWS = 1 << 20  # samples checked at once by audio_2d
