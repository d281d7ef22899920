"""Test and benchmark tooling (throwaway PostgreSQL clusters, free ports, waiting for a
server), shared by tests/ and bench/. The tracker's own code never imports it.
"""
