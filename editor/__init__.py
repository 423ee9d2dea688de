"""Edit backends behind one small interface; the CPU default (`classic`) lives here too.

MKL's fast memory manager is switched off before any model runs: ZeroGPU forks its worker from a process whose
threads have used MKL (the CPU text guard, the edit pool), and a child's first matrix product then spun forever in
MKL's per-thread buffer table about once in 20 forks here (none in 60 with it off; editor/zerogpu.py). MKL reads
the variable at its first use, so setting it at import is in time.
"""
import os

os.environ.setdefault("MKL_DISABLE_FAST_MM", "1")
