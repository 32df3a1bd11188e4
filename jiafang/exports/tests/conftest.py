"""The export tests' fixtures: the visit tests' 2025 campaign and request-like scope."""

from jiafang.visits.tests.conftest import campaign, scoped  # noqa: F401
