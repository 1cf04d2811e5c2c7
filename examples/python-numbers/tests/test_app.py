"""Unit tests of the connector's logic under plain CPython, run with
`python -m pytest`: the SDK's Harness runs the connector as ctest does, with
a fake host. `ctest run` tests the built component against every suite."""

import app
from ctest_sdk.testing import Harness


def test_a_first_read_has_every_number_and_ends_with_its_cursor():
    read = Harness(app.Numbers).read({"count": 3})
    assert [r["n"] for r in read.records("numbers")] == [1, 2, 3]
    assert read.state("numbers") == {"updated_at": "2025-01-01T00:03:00Z"}
    assert read.statuses("numbers") == ["started", "complete"]
    assert read.error is None


def test_a_read_from_a_state_resumes_at_its_cursor():
    state = {"numbers": {"updated_at": "2025-01-01T00:02:00Z"}}
    read = Harness(app.Numbers).read({"count": 3}, state=state)
    assert [r["n"] for r in read.records("numbers")] == [2, 3]


def test_a_config_that_breaks_the_spec_fails_check_with_the_schemas_message():
    # The SDK checks the config against the spec before the connector sees it.
    assert Harness(app.Numbers).check({"count": 0}) == (
        "the config does not match the spec: config.count must be bigger than or equal to 1")
    assert Harness(app.Numbers).check({"count": 5}) is None
