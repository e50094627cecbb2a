"""Workloads: graph IR, built-in zoo, quantizers and per-layer statistics (no hardware here)."""
