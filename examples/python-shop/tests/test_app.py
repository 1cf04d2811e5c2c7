"""Unit tests of source-shop-python's logic under plain CPython: run with
`python -m pytest` (the SDK's Harness runs the connector as ctest does; its
MockHttp answers the API). ctest's suites test the built component."""

import pytest

import app
from ctest_sdk.testing import ConnectorFailure, Harness, MockHttp, UnexpectedRequest

BASE = "https://shop.example.com"
CONFIG = {"base_url": BASE, "api_key": "k-123", "page_size": 2}
KEY = {"X-Api-Key": "k-123"}


def customer(n, day):
    return {"id": n, "name": f"c{n}", "plan": "team", "updated_at": f"2025-01-0{day}T00:00:00Z"}


def test_a_read_follows_the_pages_and_checkpoints_each():
    harness = Harness(app.Shop)
    with MockHttp() as http:
        http.expect("GET", f"{BASE}/v1/customers?page=1&page_size=2", headers=KEY).respond(
            200, json={"data": [customer(1, 1), customer(2, 2)], "next_page": 2})
        http.expect("GET", f"{BASE}/v1/customers?page_size=2&page=2", headers=KEY).respond(
            200, json={"data": [customer(3, 3)], "next_page": None})
        read = harness.read(CONFIG, streams=["customers"])
    assert [r["id"] for r in read.records("customers")] == [1, 2, 3]
    assert read.states("customers") == [
        {"updated_at": "2025-01-02T00:00:00Z"}, {"updated_at": "2025-01-03T00:00:00Z"}]
    assert read.statuses("customers") == ["started", "complete"]
    assert read.error is None


def test_an_incremental_read_asks_for_what_changed_since_the_state():
    harness = Harness(app.Shop)
    with MockHttp() as http:
        http.expect(
            "GET", f"{BASE}/v1/invoices?page=1&page_size=2&updated_since=2025-01-05T00:00:00Z"
        ).respond(200, json={"data": [], "next_page": None})
        read = harness.read(CONFIG, streams=["invoices"],
                            state={"invoices": {"updated_at": "2025-01-05T00:00:00Z"}})
    # No new rows: the state stays where it was.
    assert read.state("invoices") == {"updated_at": "2025-01-05T00:00:00Z"}


def test_a_refused_key_fails_check_with_what_to_fix():
    harness = Harness(app.Shop)
    with MockHttp() as http:
        http.expect("GET", f"{BASE}/v1/customers?page_size=1").respond(401, json={"error": "bad key"})
        assert "check `api_key`" in harness.check(CONFIG)


def test_a_server_error_ends_the_read_as_a_transient_error():
    harness = Harness(app.Shop)
    with MockHttp() as http:
        http.expect("GET", f"{BASE}/v1/customers?page=1&page_size=2").respond(503, body=b"down")
        read = harness.read(CONFIG, streams=["customers"])
    # After the stream's `started`: the read ends with the error.
    assert read.statuses("customers") == ["started"]
    assert read.error.failure_type == "transient"
    assert "503" in read.error.message
    assert read.records() == []


def test_a_config_that_breaks_the_spec_fails_before_the_connector_sees_it():
    harness = Harness(app.Shop)
    # No request is expected: the SDK checks the config against the spec first.
    with MockHttp():
        problem = harness.check({**CONFIG, "page_size": 500})
        with pytest.raises(ConnectorFailure) as failed:
            harness.read({**CONFIG, "page_size": 500}, streams=["customers"])
    assert problem == "the config does not match the spec: config.page_size must be smaller than or equal to 100"
    assert failed.value.failure_type == "config"
    assert failed.value.message == problem
    missing = harness.check({"base_url": BASE})
    assert missing == "the config does not match the spec: config must contain ['api_key'] properties"


def test_discover_refuses_a_config_that_is_not_an_object():
    with pytest.raises(ConnectorFailure) as failed:
        Harness(app.Shop).discover([1, 2])
    assert failed.value.failure_type == "config"


def test_the_mock_names_an_unexpected_request_and_what_it_expected():
    harness = Harness(app.Shop)
    with pytest.raises(UnexpectedRequest) as unexpected:
        with MockHttp() as http:
            http.expect("GET", f"{BASE}/v1/invoices?page=1&page_size=2").respond(200, json={})
            harness.read(CONFIG, streams=["customers"])
    assert "unexpected request GET https://shop.example.com/v1/customers?page=1&page_size=2" in str(unexpected.value)
    assert f"- GET {BASE}/v1/invoices?page=1&page_size=2" in str(unexpected.value)


def test_the_mock_fails_when_an_expected_request_is_never_made():
    with pytest.raises(AssertionError, match="never made"):
        with MockHttp() as http:
            http.expect("GET", f"{BASE}/v1/customers?page=1").respond(200, json={})
