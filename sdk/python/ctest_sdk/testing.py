"""Unit tests of a connector under plain CPython (pytest, unittest).

`Harness` runs the connector the way ctest does: through the exported
`Source`, with the config as JSON text (checked against the spec first), the
catalog from `discover` and the state as the contract carries it. A fake host
keeps the connector's log lines. `MockHttp` answers `ctest_sdk.http`
requests from a list of expected ones.

    from ctest_sdk.testing import Harness, MockHttp
    import app

    def test_reads_one_page():
        harness = Harness(app.Shop)
        with MockHttp() as http:
            http.expect("GET", "https://api.example.com/v1/customers?page=1") \\
                .respond(200, json={"data": [{"id": 1}], "next_page": None})
            read = harness.read({"api_key": "k", "base_url": "https://api.example.com"})
        assert read.records("customers") == [{"id": 1}]
        assert read.error is None

ctest's own suites run on the built component; these tests are for the
connector's logic (paging, cursors, parsing), fast and without a network.
"""

import json
import urllib.parse
from typing import Any, Dict, List, Optional, Tuple

from componentize_py_types import Err

from ctest_sdk import _plain, export, http

try:  # the bindings of the widest world, as `_plain` makes them
    from wit_world.imports import ctest_connector_types as wit
except ImportError:  # pragma: no cover - inside a component
    from wit_world.imports import types as wit

__all__ = ["Harness", "Read", "ConnectorFailure", "MockHttp", "UnexpectedRequest"]


class ConnectorFailure(Exception):
    """The connector failed an operation: the contract's `connector-error`."""

    def __init__(self, message: str, failure_type: str, internal: Optional[str]):
        super().__init__(f"{failure_type}: {message}")
        self.message = message
        self.failure_type = failure_type
        self.internal = internal


def _failure(e: Err) -> ConnectorFailure:
    value = e.value
    kind = getattr(value.failure_type, "name", str(value.failure_type)).lower().replace("_error", "")
    return ConnectorFailure(value.message, kind, value.internal_message)


class Read:
    """What a read yielded, in order: `messages` holds (kind, stream, value)
    with kind `record`, `state`, `status`, `log` or `error`."""

    def __init__(self) -> None:
        self.messages: List[Tuple[str, Optional[str], Any]] = []
        self.error: Optional[ConnectorFailure] = None

    def records(self, stream: Optional[str] = None) -> List[Dict[str, Any]]:
        return [v for k, s, v in self.messages if k == "record" and (stream is None or s == stream)]

    def states(self, stream: str) -> List[Any]:
        return [v for k, s, v in self.messages if k == "state" and s == stream]

    def state(self, stream: str) -> Any:
        """The last state of `stream`, or None."""
        states = self.states(stream)
        return states[-1] if states else None

    def statuses(self, stream: str) -> List[str]:
        return [v for k, s, v in self.messages if k == "status" and s == stream]


class Harness:
    """A connector class, run as ctest runs its exported `Source`."""

    def __init__(self, connector_class: type):
        self.source = export(connector_class)()
        self.logs: List[Tuple[str, str]] = []

    def _call(self, f):
        previous = _plain.log_sink
        _plain.log_sink = lambda level, message: self.logs.append((level, message))
        try:
            return f()
        except Err as e:
            raise _failure(e) from None
        finally:
            _plain.log_sink = previous

    def spec(self) -> Dict[str, Any]:
        spec = self._call(self.source.spec)
        return {
            "name": spec.name,
            "version": spec.version,
            "connection_specification": json.loads(spec.connection_specification),
            "allowed_hosts": spec.allowed_hosts,
            "features": [f.name.lower() for f in spec.features],
        }

    def check(self, config: Any) -> Optional[str]:
        """None when the connector accepts the config, else why not."""
        outcome = self._call(lambda: self.source.check(json.dumps(config)))
        return None if isinstance(outcome, wit.CheckOutcome_Succeeded) else outcome.value

    def discover(self, config: Any) -> List[Dict[str, Any]]:
        catalog = self._call(lambda: self.source.discover(json.dumps(config)))
        return [
            {
                "name": s.name,
                "json_schema": json.loads(s.json_schema),
                "sync_modes": [m.name.lower() for m in s.supported_sync_modes],
                "primary_key": s.source_defined_primary_key,
                "cursor": s.default_cursor_field,
            }
            for s in catalog.streams
        ]

    def read(
        self,
        config: Any,
        streams: Optional[List[str]] = None,
        state: Optional[Dict[str, Any]] = None,
        incremental: bool = True,
        batch: int = 100,
    ) -> Read:
        """Reads `streams` (all that `discover` returns by default),
        incrementally where a stream can, from `state` (stream name to the
        state the connector emitted). A failure of the read, before any
        message or after some, is `Read.error`; `discover` failing raises
        ConnectorFailure."""
        found = self._call(lambda: self.source.discover(json.dumps(config))).streams
        chosen = [s for s in found if streams is None or s.name in streams]
        missing = set(streams or []) - {s.name for s in found}
        if missing:
            raise ValueError(f"discover returned no stream {sorted(missing)}; it returned {[s.name for s in found]}")
        configured = []
        for s in chosen:
            can = incremental and wit.SyncMode.INCREMENTAL in s.supported_sync_modes
            configured.append(wit.ConfiguredStream(
                s.name,
                wit.SyncMode.INCREMENTAL if can else wit.SyncMode.FULL_REFRESH,
                (s.default_cursor_field or []) if can else [],
                s.source_defined_primary_key or [],
            ))
        states = [wit.StreamState(name, json.dumps(value)) for name, value in (state or {}).items()]
        out = Read()
        try:
            reader = self._call(lambda: self.source.read(
                json.dumps(config), wit.ConfiguredCatalog(configured), states))
        except ConnectorFailure as e:
            out.error = e
            return out
        while True:
            try:
                messages = self._call(lambda: reader.next(batch))
            except ConnectorFailure as e:
                out.error = e
                break
            if not messages:
                break
            for message in messages:
                _collect(message, out)
        return out


def _collect(message: Any, out: Read) -> None:
    value = message.value
    if isinstance(message, wit.Message_Record):
        out.messages.append(("record", value.stream, json.loads(value.data)))
    elif isinstance(message, wit.Message_Records):
        for line in bytes(value.data).decode().split("\n"):
            out.messages.append(("record", value.stream, json.loads(line)))
    elif isinstance(message, wit.Message_State):
        out.messages.append(("state", value.stream, json.loads(value.data)))
    elif isinstance(message, wit.Message_Trace):
        trace = value.value
        if isinstance(value, wit.TraceMessage_StreamStatus):
            out.messages.append(("status", trace.stream, trace.status.name.lower()))
        elif isinstance(value, wit.TraceMessage_Error):
            failure = _failure(Err(trace.error))
            out.messages.append(("error", trace.stream, failure))
            out.error = failure
        else:
            out.messages.append(("trace", None, trace))
    else:
        out.messages.append(("other", None, value))


class UnexpectedRequest(BaseException):
    """A request that MockHttp was not told to expect. A BaseException, so
    that the connector's `except Exception` cannot hide it."""


class _Expected:
    def __init__(self, method: str, url: str, headers: Dict[str, str], body: Optional[bytes]):
        self.method, self.url, self.headers, self.body = method.upper(), url, headers, body
        self.response: Optional[http.Response] = None
        self.made = False

    def respond(self, status: int = 200, json: Any = None, body: bytes = b"",
                headers: Optional[Dict[str, str]] = None) -> "_Expected":
        """The answer: `json` (serialised, with its content type) or `body`."""
        pairs = [(k.lower(), v) for k, v in (headers or {}).items()]
        if json is not None:
            body = _json.dumps(json).encode()
            pairs.append(("content-type", "application/json"))
        self.response = http.Response(status, pairs, body)
        return self

    def matches(self, request: http.Request) -> bool:
        if self.method != request.method or not _same_url(self.url, request.url):
            return False
        sent = {k.lower(): v for k, v in request.headers}
        if any(sent.get(k.lower()) != v for k, v in self.headers.items()):
            return False
        return self.body is None or self.body == request.body

    def __str__(self) -> str:
        extra = "".join(f" [{k}: {v}]" for k, v in self.headers.items())
        return f"{self.method} {self.url}{extra}"


_json = json


def _same_url(a: str, b: str) -> bool:
    """Equal URLs, the query's parameters in any order."""
    pa, pb = urllib.parse.urlsplit(a), urllib.parse.urlsplit(b)
    return (pa.scheme, pa.netloc, pa.path or "/") == (pb.scheme, pb.netloc, pb.path or "/") and sorted(
        urllib.parse.parse_qsl(pa.query, keep_blank_values=True)
    ) == sorted(urllib.parse.parse_qsl(pb.query, keep_blank_values=True))


class MockHttp:
    """Answers `ctest_sdk.http` requests while it is active (`with`). Each
    `expect(...)` is answered once, in any order. A request nobody expected
    raises UnexpectedRequest, listing what was expected; leaving the block
    with an expected request never made raises AssertionError."""

    def __init__(self) -> None:
        self.expected: List[_Expected] = []
        self.requests: List[http.Request] = []
        self._unexpected: List[str] = []
        self._saved = None

    def expect(self, method: str, url: str, headers: Optional[Dict[str, str]] = None,
               body: Optional[bytes] = None) -> _Expected:
        """A request to expect: `method` and `url` (query parameters in any
        order), headers it must carry (others may come too), and its body."""
        expected = _Expected(method, url, headers or {}, body)
        self.expected.append(expected)
        return expected

    def _send(self, request: http.Request) -> http.Response:
        self.requests.append(request)
        for expected in self.expected:
            if not expected.made and expected.matches(request):
                expected.made = True
                if expected.response is None:
                    raise UnexpectedRequest(f"{expected} is expected but has no `.respond(...)`")
                return expected.response
        waiting = [str(e) for e in self.expected if not e.made]
        detail = "\n".join(f"  - {w}" for w in waiting) or "  (none left)"
        message = f"unexpected request {request.method} {request.url}\nexpected:\n{detail}"
        self._unexpected.append(message)
        raise UnexpectedRequest(message)

    def __enter__(self) -> "MockHttp":
        self._saved = http._transport
        http._transport = self._send
        return self

    def __exit__(self, kind, value, traceback) -> None:
        http._transport = self._saved
        if kind is not None:
            return
        if self._unexpected:
            raise AssertionError(self._unexpected[0])
        never = [str(e) for e in self.expected if not e.made]
        if never:
            raise AssertionError("expected requests never made:\n" + "\n".join(f"  - {n}" for n in never))
