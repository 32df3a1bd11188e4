"""The visit tests' fixtures (a 2025 campaign of the persona bureau, a request-like scope)."""

from jiafang.visits.tests.conftest import campaign, scoped  # noqa: F401
