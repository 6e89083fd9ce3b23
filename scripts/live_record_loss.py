"""Figures for a `live --record` whose recording's folder is removed mid-session (docs/store.md, hostile sweeps
28-31; a WAV and a FLAC recording): real capture from a private PulseAudio (tests/pulse.py), the fixture playing, an autosave each second,
the folder removed (or made a file) 3 s in, Ctrl-C 3 s later; prints, per case, the exit status, the seconds
captured, the seconds in the recording named by the session, whether it says it whole, and the closing line.

    PYTHONPATH=. python scripts/live_record_loss.py
"""
import tempfile
from pathlib import Path

import soundfile as sf

from tests.pulse import started_or_skip
from tests.test_sweep_hostile28 import _live_losing_its_recording_folder


def main() -> None:
    server = started_or_skip()
    try:
        for name, case in ((n, c) for n in ("r.wav", "r.flac") for c in ("removed", "made a file")):
            rc, err, doc = _live_losing_its_recording_folder(server, Path(tempfile.mkdtemp(prefix="prosody-loss")),
                                                             make_it_a_file=case == "made a file", name=name)
            live = doc["live"]
            kept = Path(live["recording_file"])
            print(f"{name}, folder {case}: exit {rc}, captured {live['captured_s']} s, recording {kept} holds "
                  f"{sf.info(str(kept)).frames / sf.info(str(kept)).samplerate} s, complete "
                  f"{live['recording_complete']}, stopped at {live['recording_stopped_s']}\n  {err.strip()}")
            kept.unlink()
    finally:
        server.stop()


if __name__ == "__main__":
    main()
