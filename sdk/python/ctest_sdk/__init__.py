"""Write ctest data connectors in Python (componentize-py 0.25.1).

Subclass `Connector`, then export it from your app module under the name the
contract's world expects:

    import ctest_sdk
    from ctest_sdk import Connector, Spec, Stream, record, state, status

    class Numbers(Connector):
        def spec(self): return Spec("source-numbers", "0.1.0", {...}).no_network()
        def check(self, config): return None            # None: succeeded; a str: why not
        def discover(self, config): return [Stream("numbers", {...}).primary_key("n")]
        def read(self, config, catalog, state):          # a generator of messages
            yield status("numbers", "started")
            ...

    Source = ctest_sdk.export(Numbers)

and build it with

    python -m ctest_sdk_build app.py -o plugin.wasm

(componentize-py, with the contract's `connector-http` world: the `connector`
world plus wasi:http, which `ctest_sdk.http` uses). For the write_back suite,
subclass `WriteBack` and bind `WriteBack = ctest_sdk.export_write_back(YourWriter)`
next to `Source`; the build then uses `connector-http-with-write-back`. Unit
tests run under plain CPython: see `ctest_sdk.testing`.

The names follow the Rust SDK: Spec, Stream, Connector, record/state/status/log
messages, State, ConnectorError (raised as `error.config(...)`,
`error.transient(...)`, `error.system(...)`). Configs and states are plain
JSON values (dicts); the SDK does the contract's text encoding.
"""

import json
import sys
import time
import traceback
from typing import Any, Dict, Iterable, Iterator, List, Optional, Tuple

try:  # inside a component: componentize-py's bindings of the contract
    import wit_world  # noqa: F401
except ImportError:  # plain CPython (unit tests): the same, made from the contract
    from ctest_sdk import _plain

    _plain.load()

from componentize_py_types import Err
from wit_world import exports
from wit_world.imports import host

try:  # the `connector-http` world: wasi:http's `types` takes the short name
    from wit_world.imports import ctest_connector_types as wit
except ImportError:  # the `connector` world
    from wit_world.imports import types as wit

try:  # a world that exports write-back (`connector-http-with-write-back`)
    from wit_world.exports import write_back as _wb
except ImportError:
    _wb = None

__all__ = [
    "Connector", "ConnectorError", "Spec", "Stream", "State", "export",
    "record", "state", "status", "log", "error", "now_millis",
    "WriteBack", "ChangedRows", "export_write_back",
]


class ConnectorError(Exception):
    """An error the connector reports; `failure_type` is "config",
    "transient" or "system"."""

    def __init__(self, message: str, failure_type: str = "system", internal: Optional[str] = None):
        super().__init__(message)
        self.message = message
        self.failure_type = failure_type
        self.internal = internal

    def to_wit(self) -> "wit.ConnectorError":
        kind = {
            "config": wit.FailureType.CONFIG_ERROR,
            "transient": wit.FailureType.TRANSIENT_ERROR,
        }.get(self.failure_type, wit.FailureType.SYSTEM_ERROR)
        return wit.ConnectorError(self.message, self.internal, kind)


class error:
    """Constructors of `ConnectorError`, as in the Rust SDK."""

    @staticmethod
    def config(message: str) -> ConnectorError:
        return ConnectorError(message, "config")

    @staticmethod
    def transient(message: str) -> ConnectorError:
        return ConnectorError(message, "transient")

    @staticmethod
    def system(message: str) -> ConnectorError:
        return ConnectorError(message, "system")


class Spec:
    """The connector's specification. Declare the hosts it reaches with
    `allowed_hosts([...])`, or `no_network()`."""

    def __init__(self, name: str, version: str, connection_specification: Dict[str, Any]):
        self.name = name
        self.version = version
        self.connection_specification = connection_specification
        self.hosts: Optional[List[str]] = None
        self.features: List[str] = []
        self.documentation_url: Optional[str] = None

    def allowed_hosts(self, hosts: List[str]) -> "Spec":
        self.hosts = list(hosts)
        return self

    def no_network(self) -> "Spec":
        self.hosts = []
        return self

    def incremental(self) -> "Spec":
        self.features.append("incremental")
        return self

    def to_wit(self) -> "wit.ConnectorSpec":
        features = [wit.Feature[f.upper()] for f in self.features]
        return wit.ConnectorSpec(
            self.name, self.version, json.dumps(self.connection_specification),
            self.hosts, features, self.documentation_url,
        )


_INGESTION = {
    "append": "APPEND", "cdc": "CDC", "cdc_with_deletes": "CDC_WITH_DELETES", "snapshot": "SNAPSHOT",
}


class Stream:
    """A stream the connector offers: full refresh, append, no key, until
    told otherwise."""

    def __init__(self, name: str, json_schema: Dict[str, Any]):
        self.name = name
        self.json_schema = json_schema
        self.sync_modes = ["full_refresh"]
        self.cursor: List[str] = []
        self.key: List[List[str]] = []
        self.ingestion = "append"

    def primary_key(self, field: str) -> "Stream":
        self.key.append(field.split("."))
        return self

    def incremental(self, cursor_field: str) -> "Stream":
        if "incremental" not in self.sync_modes:
            self.sync_modes.append("incremental")
        self.cursor = cursor_field.split(".")
        return self

    def ingestion_type(self, kind: str) -> "Stream":
        self.ingestion = kind
        return self

    def to_wit(self) -> "wit.StreamInfo":
        return wit.StreamInfo(
            self.name, json.dumps(self.json_schema),
            [wit.SyncMode[m.upper()] for m in self.sync_modes],
            bool(self.cursor), self.cursor, self.key,
            wit.IngestionType[_INGESTION[self.ingestion]],
        )


class State:
    """The state a read starts from: stream name -> the JSON value the
    connector emitted last."""

    def __init__(self, streams: Dict[str, Any]):
        self.streams = streams

    def get(self, stream: str) -> Optional[Any]:
        return self.streams.get(stream)


def now_millis() -> int:
    return int(time.time() * 1000)


def record(stream: str, data: Dict[str, Any], emitted_at: Optional[int] = None) -> "wit.Message":
    return wit.Message_Record(wit.RecordMessage(
        stream, json.dumps(data, separators=(",", ":")), emitted_at if emitted_at is not None else now_millis()))


def state(stream: str, value: Any) -> "wit.Message":
    return wit.Message_State(wit.StreamState(stream, json.dumps(value)))


def status(stream: str, value: str) -> "wit.Message":
    """`value`: "started", "running", "complete" or "incomplete"."""
    return wit.Message_Trace(wit.TraceMessage_StreamStatus(
        wit.StreamStatusTrace(stream, wit.StreamStatus[value.upper()])))


def log(level: str, message: str) -> None:
    """Writes to the test's log (`level`: trace, debug, info, warn, error)."""
    host.log(wit.LogLevel[level.upper()], message)


class Connector:
    """Override spec, check, discover and read. `config` is the parsed JSON;
    `catalog` a list of (stream name, sync mode "full_refresh" or
    "incremental")."""

    def spec(self) -> Spec:
        raise NotImplementedError

    def check(self, config: Dict[str, Any]) -> Optional[str]:
        """None when the config works; otherwise why not, for the user."""
        raise NotImplementedError

    def discover(self, config: Dict[str, Any]) -> List[Stream]:
        raise NotImplementedError

    def read(self, config: Dict[str, Any], catalog: List["ConfiguredStream"], state: State) -> Iterable["wit.Message"]:
        raise NotImplementedError


class ConfiguredStream:
    def __init__(self, s: "wit.ConfiguredStream"):
        self.name = s.name
        self.sync_mode = "incremental" if s.sync_mode == wit.SyncMode.INCREMENTAL else "full_refresh"
        self.cursor_field = list(s.cursor_field)
        self.primary_key = [list(p) for p in s.primary_key]


def _parse_config(text: str) -> Dict[str, Any]:
    try:
        value = json.loads(text)
    except ValueError as e:
        raise Err(error.config(f"the config is not JSON: {e}").to_wit())
    if not isinstance(value, dict):
        raise Err(error.config("the config is not a JSON object").to_wit())
    return value


def _refuse_remote(uri: str) -> Any:
    raise ValueError(f"the spec refers to {uri}: a connector's spec must be self-contained")


class _ConfigCheck:
    """The config checked against the spec's JSON Schema before the connector
    sees it, as airbyte-cdk does (draft 7 by default; `format` is left to the
    connector, as there). Compiled once; a spec whose schema does not compile
    is left to ctest's spec suite, which reports it."""

    def __init__(self, connector: "Connector"):
        self.connector = connector
        self.validate: Any = None
        self.compiled = False
        self.failure: Optional[str] = None

    def compile(self) -> None:
        if self.compiled:
            return
        self.compiled = True
        try:
            import fastjsonschema

            schema = self.connector.spec().connection_specification
            self.validate = fastjsonschema.compile(
                schema, handlers={"http": _refuse_remote, "https": _refuse_remote},
                use_default=False, use_formats=False,
            )
        except Exception as e:  # the spec suite reports a bad schema
            self.failure = f"the SDK does not check configs against this spec: {type(e).__name__}: {e}"

    def problem(self, config: Dict[str, Any]) -> Optional[str]:
        """Why the config does not match the spec, or None."""
        self.compile()
        if self.failure is not None:  # said once, at run time (not while building)
            log("warn", self.failure)
            self.failure = None
        if self.validate is None:
            return None
        import fastjsonschema

        try:
            self.validate(config)
        except fastjsonschema.JsonSchemaValueException as e:
            where = "config" + e.name[len("data"):] if e.name.startswith("data") else e.name
            what = e.message.replace(e.name, where, 1) if e.message.startswith(e.name) else e.message
            return f"the config does not match the spec: {what}"
        return None

    def parse(self, text: str) -> Dict[str, Any]:
        """The config, parsed and checked; a config error if it is wrong."""
        config = _parse_config(text)
        problem = self.problem(config)
        if problem is not None:
            raise Err(error.config(problem).to_wit())
        return config


def _guarded(call):
    """Runs `call`, turning a ConnectorError into the contract's error and
    anything else into a system error carrying the traceback."""
    try:
        return call()
    except Err:
        raise
    except ConnectorError as e:
        raise Err(e.to_wit())
    except Exception as e:  # a bug of the connector's: report it whole
        detail = traceback.format_exc()
        host.log(wit.LogLevel.FATAL, f"connector raised: {detail}")
        raise Err(error.system(f"{type(e).__name__}: {e}").to_wit())


class _Reader(exports.source.Reader):
    def __init__(self, messages: Iterator["wit.Message"]):
        self.messages: Optional[Iterator["wit.Message"]] = messages

    def next(self, max: int) -> List["wit.Message"]:
        batch: List["wit.Message"] = []
        if self.messages is None:
            return batch
        # Consecutive records of one stream go as one `records` message (JSON
        # lines as bytes): one value to hand over instead of many.
        group: Optional["wit.RecordMessage"] = None
        lines: List[str] = []

        def flush() -> None:
            nonlocal group, lines
            if group is None:
                return
            if len(lines) == 1:
                batch.append(wit.Message_Record(group))
            else:
                batch.append(wit.Message_Records(wit.RecordBatch(
                    group.stream, "\n".join(lines).encode(), group.emitted_at)))
            group, lines = None, []

        try:
            for _ in range(max):
                message = next(self.messages)
                # (A record whose JSON text spans lines goes alone.)
                if isinstance(message, wit.Message_Record) and "\n" not in message.value.data:
                    record = message.value
                    if group is not None and group.stream != record.stream:
                        flush()
                    if group is None:
                        group = record
                    lines.append(record.data)
                    continue
                flush()
                batch.append(message)
            flush()
        except StopIteration:
            flush()
            self.messages = None
        except ConnectorError as e:
            flush()
            self.messages = None
            if not batch:
                raise Err(e.to_wit())
            batch.append(wit.Message_Trace(wit.TraceMessage_Error(wit.ErrorTrace(None, e.to_wit()))))
        except Exception as e:
            flush()
            self.messages = None
            host.log(wit.LogLevel.FATAL, f"connector raised: {traceback.format_exc()}")
            failure = error.system(f"{type(e).__name__}: {e}").to_wit()
            if not batch:
                raise Err(failure)
            batch.append(wit.Message_Trace(wit.TraceMessage_Error(wit.ErrorTrace(None, failure))))
        return batch


def export(connector_class):
    """The class to bind to the name `Source` in your app module. The
    config is checked against the spec before `check`, `discover` and
    `read` see it: a config that breaks the spec fails with the schema's
    message."""
    connector = connector_class()
    checked = _ConfigCheck(connector)
    # At build time when it can: componentize-py keeps the compiled check
    # in the component's snapshot.
    checked.compile()

    class Source(exports.Source):
        def spec(self) -> "wit.ConnectorSpec":
            return _guarded(lambda: connector.spec().to_wit())

        def check(self, config: str) -> "wit.CheckOutcome":
            try:
                parsed = checked.parse(config)
            except Err as e:
                return wit.CheckOutcome_Failed(e.value.message)
            outcome = _guarded(lambda: connector.check(parsed))
            return wit.CheckOutcome_Succeeded() if outcome is None else wit.CheckOutcome_Failed(str(outcome))

        def discover(self, config: str) -> "wit.Catalog":
            parsed = checked.parse(config)
            return _guarded(lambda: wit.Catalog([s.to_wit() for s in connector.discover(parsed)]))

        def read(self, config: str, catalog: "wit.ConfiguredCatalog", state: List["wit.StreamState"]):
            parsed = checked.parse(config)
            streams = {}
            for s in state:
                try:
                    streams[s.stream] = json.loads(s.data)
                except ValueError as e:
                    raise Err(error.config(f"the state of stream `{s.stream}` is not JSON: {e}").to_wit())
            configured = [ConfiguredStream(s) for s in catalog.streams]
            messages = _guarded(lambda: iter(connector.read(parsed, configured, State(streams))))
            return _Reader(messages)

    return Source


class ChangedRows:
    """Rows written to or deleted from the source, as JSON objects, and where
    each of their fields appears in a record: `column_mapping` holds (field of
    the row, dotted path in the record) pairs. For deleted rows, at least the
    primary key."""

    def __init__(self, rows: List[Dict[str, Any]], column_mapping: List[Tuple[str, str]]):
        self.rows = rows
        self.column_mapping = column_mapping


class WriteBack:
    """Writes test rows to the source for ctest's write_back suite: ctest
    writes, reads back incrementally, and checks the rows arrived. Override
    `insertable_tables` and `write_rows`, and for a `cdc_with_deletes`
    stream `deletable_tables` and `delete_rows`. Put `tag` (unique to the run)
    in what you write, so that parallel runs never collide."""

    def insertable_tables(self, config: Dict[str, Any]) -> List[str]:
        raise NotImplementedError

    def write_rows(self, config: Dict[str, Any], table: str, count: int, tag: str) -> ChangedRows:
        raise NotImplementedError

    def deletable_tables(self, config: Dict[str, Any]) -> List[str]:
        return []

    def delete_rows(self, config: Dict[str, Any], table: str, count: int, tag: str) -> ChangedRows:
        raise error.config(f"rows of `{table}` cannot be deleted")


def export_write_back(writer_class):
    """The class to bind to the name `WriteBack` in your app module, next to
    `Source`. Build against the `connector-http-with-write-back` world."""
    if _wb is None:
        raise RuntimeError(
            "ctest_sdk.export_write_back: this build's world does not export write-back; "
            "build with `-w connector-http-with-write-back`")
    writer = writer_class()

    def changed(rows: ChangedRows) -> "_wb.ChangedRows":
        return _wb.ChangedRows(
            [json.dumps(r, separators=(",", ":")) for r in rows.rows],
            [(field, path) for field, path in rows.column_mapping])

    class WriteBackExport(exports.WriteBack):
        def insertable_tables(self, config: str) -> List[str]:
            parsed = _parse_config(config)
            return _guarded(lambda: list(writer.insertable_tables(parsed)))

        def write_rows(self, config: str, table: str, count: int, tag: str) -> "_wb.ChangedRows":
            parsed = _parse_config(config)
            return _guarded(lambda: changed(writer.write_rows(parsed, table, count, tag)))

        def deletable_tables(self, config: str) -> List[str]:
            parsed = _parse_config(config)
            return _guarded(lambda: list(writer.deletable_tables(parsed)))

        def delete_rows(self, config: str, table: str, count: int, tag: str) -> "_wb.ChangedRows":
            parsed = _parse_config(config)
            return _guarded(lambda: changed(writer.delete_rows(parsed, table, count, tag)))

    return WriteBackExport
