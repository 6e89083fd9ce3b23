"""The optional compiled kernels (prosody/_kernels.c, plain C and the Python C
API); everything else about the package is in pyproject.toml. Without a C
compiler the install goes on without them and the numpy code runs instead."""
import sys

from setuptools import Extension, setup

# -ffp-contract=off: no fused multiply-adds, so the sums are the same on every machine
FLAGS = [] if sys.platform == "win32" else ["-O3", "-ffp-contract=off"]

setup(ext_modules=[Extension("prosody._kernels", ["prosody/_kernels.c"], extra_compile_args=FLAGS,
                             optional=True)])
