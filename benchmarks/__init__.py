"""neuropil benchmarks: blob download throughput and asset listing latency.

Run ``python -m benchmarks --help`` from the repository root; see ``benchmarks/README.md``.
"""
