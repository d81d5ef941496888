"""The benchmark harness: komoju-server under wrk, next to a bare durable-insert baseline.

Run `bench/run` (or `.venv/bin/python -m bench`) from the repository root; see README.md.
"""
