"""Run a benchmark with the split ``unseen_rooms`` replaced by fresh seeds of the pair that mixes (eighty-second
round, docs/speakers.md): FEO072>M / MEE009 and FEE083>M / MEE009 (FEE083 made a man as FEO072>M is: formants
0.85, 110 Hz) at seeds 473-475 under level, 8k and MP3 (the rooms drawn anew), and each voice alone; 18 two-voice
recordings, 3 one-voice. Give it a --cache of its own (the cases differ from unseen_rooms'). ``--seeds A,B,C``
(first, before the script): other seeds, e.g. 476,477,478, the eighty-third round's second set, read once.

    python benchmarks/unseen_pair_seeds.py [--seeds 476,477,478] benchmarks/diarization.py --split unseen_rooms \
        --cache DIR [...]
"""
import runpy
import sys

sys.path.insert(0, "benchmarks")
import unseen_material as U  # noqa: E402

U.VOICES["FEE083>M"] = ("trn06", "FEE083", 0.85, 110.0, 1.0)
U.PAIRS[:] = [("FEO072>M", "MEE009"), ("FEE083>M", "MEE009")]
U.SEEDS["unseen_rooms"] = (473, 474, 475)
U.CONDITIONS = ("level", "8k", "mp3")
if __name__ == "__main__":
    if sys.argv[1] == "--seeds":
        U.SEEDS["unseen_rooms"] = tuple(int(v) for v in sys.argv[2].split(","))
        sys.argv[1:3] = []
    script = sys.argv[1]
    sys.argv = sys.argv[1:]
    runpy.run_path(script, run_name="__main__")
