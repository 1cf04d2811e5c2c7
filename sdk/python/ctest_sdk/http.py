"""A small blocking HTTP client over wasi:http, as in the Rust SDK.

The host makes each request, under ctest's network policy (a host the spec
does not allow is refused, and ctest fails the test saying which entry to
add) and its record/replay cassettes. `python -m ctest_sdk_build` builds
against the `connector-http` world, which has wasi:http. In unit tests,
`ctest_sdk.testing.MockHttp` answers instead.

    from ctest_sdk import http

    response = http.Request.get(f"{base}/v1/customers?page=1") \\
        .header("X-Api-Key", config["api_key"]) \\
        .send()
    page = response.json()

Python's own `urllib` and `http.client` go through wasi:sockets instead:
the policy still applies, but ctest cannot record or replay them.
"""

import json
from typing import Any, Callable, List, Optional, Tuple

from componentize_py_types import Err
from wit_world.imports import outgoing_handler
from wit_world.imports import streams
from wit_world.imports import wasi_http_types as wasi

from . import ConnectorError, error

__all__ = ["Request", "Response"]

_METHODS = {
    "GET": wasi.Method_Get, "HEAD": wasi.Method_Head, "POST": wasi.Method_Post,
    "PUT": wasi.Method_Put, "DELETE": wasi.Method_Delete, "PATCH": wasi.Method_Patch,
    "OPTIONS": wasi.Method_Options,
}
_CHUNK = 4096


class Response:
    """A response, read whole. `headers` has lowercase names."""

    def __init__(self, status: int, headers: List[Tuple[str, str]], body: bytes):
        self.status = status
        self.headers = headers
        self.body = body

    def header(self, name: str) -> Optional[str]:
        """The first value of a header (`name` in any case)."""
        name = name.lower()
        return next((v for k, v in self.headers if k == name), None)

    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")

    def json(self) -> Any:
        """The body parsed as JSON; a system error if it is not JSON."""
        try:
            return json.loads(self.body)
        except ValueError as e:
            raise error.system(f"the response (status {self.status}) is not the JSON expected: {e}")


class Request:
    """An HTTP request to send: `Request.get(url).header(k, v).send()`."""

    def __init__(self, method: str, url: str):
        self.method = method.upper()
        self.url = url
        self.headers: List[Tuple[str, str]] = []
        self.body = b""
        self.timeout: Optional[float] = None

    @classmethod
    def get(cls, url: str) -> "Request":
        return cls("GET", url)

    @classmethod
    def post(cls, url: str) -> "Request":
        return cls("POST", url)

    @classmethod
    def delete(cls, url: str) -> "Request":
        return cls("DELETE", url)

    def header(self, name: str, value: str) -> "Request":
        self.headers.append((name, value))
        return self

    def with_body(self, body: bytes) -> "Request":
        self.body = body
        return self

    def json(self, value: Any) -> "Request":
        """A JSON body, with its content type."""
        return self.header("content-type", "application/json").with_body(json.dumps(value).encode())

    def with_timeout(self, seconds: float) -> "Request":
        """How long to wait for the first byte of the response."""
        self.timeout = seconds
        return self

    def _fail(self, what: str) -> ConnectorError:
        return error.transient(f"{self.method} {self.url}: {what}")

    def send(self) -> Response:
        """Sends the request and reads the whole response. An error status is
        a response, not an error; a refused or failed connection raises a
        transient ConnectorError."""
        if "://" not in self.url:
            raise error.config(f"`{self.url}` is not an absolute URL")
        return _transport(self)


def _send_over_wasi(asked: Request) -> Response:
    """The request through wasi:http: the host makes it."""
    scheme, _, rest = asked.url.partition("://")
    cut = min([i for i in (rest.find("/"), rest.find("?")) if i >= 0], default=len(rest))
    authority, path = rest[:cut], rest[cut:] or "/"
    if path.startswith("?"):
        path = "/" + path
    try:
        fields = wasi.Fields.from_list([(k, v.encode()) for k, v in asked.headers])
    except Err as e:
        raise asked._fail(f"bad header: {e.value}")
    outgoing = wasi.OutgoingRequest(fields)
    method = _METHODS.get(asked.method)
    for part, set_part, value in (
        ("method", outgoing.set_method, method() if method else wasi.Method_Other(asked.method)),
        ("scheme", outgoing.set_scheme, {"http": wasi.Scheme_Http(), "https": wasi.Scheme_Https()}.get(scheme)
         or wasi.Scheme_Other(scheme)),
        ("host", outgoing.set_authority, authority),
        ("path", outgoing.set_path_with_query, path),
    ):
        try:
            set_part(value)
        except Err:
            raise error.config(f"`{asked.url}`: invalid {part}")
    body = outgoing.body()
    options = wasi.RequestOptions()
    if asked.timeout is not None:
        options.set_first_byte_timeout(int(asked.timeout * 1e9))
    # The request goes out first: the host reads the body as it is
    # written, and each flush waits for that.
    try:
        pending = outgoing_handler.handle(outgoing, options)
    except Err as e:
        raise asked._fail(_describe(e.value))
    with body.write() as stream:
        for i in range(0, len(asked.body), _CHUNK):
            try:
                stream.blocking_write_and_flush(asked.body[i:i + _CHUNK])
            except Err as e:
                raise asked._fail(f"writing the body: {e.value}")
    try:
        wasi.OutgoingBody.finish(body, None)
    except Err as e:
        raise asked._fail(_describe(e.value))
    with pending:
        with pending.subscribe() as ready:
            ready.block()
        outcome = pending.get()
    if outcome is None or isinstance(outcome, Err):
        raise asked._fail("no response")
    answer = outcome.value
    if isinstance(answer, Err):
        raise asked._fail(_describe(answer.value))
    with answer.value as response:
        status = response.status()
        with response.headers() as fields:
            headers = [(k.lower(), v.decode("utf-8", errors="replace")) for k, v in fields.entries()]
        incoming = response.consume()
        chunks = []
        with incoming.stream() as stream:
            while True:
                try:
                    chunks.append(stream.blocking_read(64 << 10))
                except Err as e:
                    if isinstance(e.value, streams.StreamError_Closed):
                        break
                    raise asked._fail(f"reading the response: {e.value}")
        with wasi.IncomingBody.finish(incoming):
            pass
    return Response(status, headers, b"".join(chunks))


# What sends a request: wasi:http in a component; `ctest_sdk.testing.MockHttp`
# replaces it in unit tests.
_transport: Callable[[Request], Response] = _send_over_wasi


def _describe(code: Any) -> str:
    if isinstance(code, wasi.ErrorCode_HttpRequestDenied):
        return "the request was denied by the sandbox's network policy"
    return type(code).__name__.replace("ErrorCode_", "") + (
        f": {code.value}" if getattr(code, "value", None) is not None else "")
