"""Benchmarks for Threadline: each compares the server with a bare baseline measured in the same run.

Run with ``python -m bench [names...]``; see ``bench/README.md``.
"""
