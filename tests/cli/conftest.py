"""Fixtures for these tests: the shared bench fixtures (tiny models, scripted backend)."""
from __future__ import annotations

from device_bench.bench_fixtures import scripted_backend, tiny_models  # noqa: F401  (fixtures)
