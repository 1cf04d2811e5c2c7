"""{{name}}: a ctest connector. One incremental stream, `numbers`, with the
integers 1..count, each updated a minute after the one before. Replace it
with your source's streams."""

import datetime

import ctest_sdk
from ctest_sdk import Connector, Spec, Stream, record, state, status

EPOCH = datetime.datetime(2025, 1, 1, tzinfo=datetime.timezone.utc)


def updated_at(n: int) -> str:
    return (EPOCH + datetime.timedelta(minutes=n)).strftime("%Y-%m-%dT%H:%M:%SZ")


class Numbers(Connector):
    def spec(self):
        return Spec("{{name}}", "0.1.0", {
            "type": "object",
            "required": ["count"],
            "additionalProperties": False,
            "properties": {"count": {"type": "integer", "minimum": 1}},
        }).no_network().incremental()

    def check(self, config):
        count = config.get("count")
        if not isinstance(count, int) or isinstance(count, bool) or count < 1:
            return "`count` must be an integer of at least 1"
        return None

    def discover(self, config):
        schema = {
            "type": "object",
            "additionalProperties": False,
            "required": ["n", "updated_at"],
            "properties": {"n": {"type": "integer"}, "updated_at": {"type": "string", "format": "date-time"}},
        }
        return [Stream("numbers", schema).primary_key("n").incremental("updated_at")]

    def read(self, config, catalog, state_in):
        for stream in catalog:
            if stream.name != "numbers":
                raise ctest_sdk.error.config(f"no stream `{stream.name}`")
            since = (state_in.get("numbers") or {}).get("updated_at") if stream.sync_mode == "incremental" else None
            yield status("numbers", "started")
            cursor = since
            for n in range(1, config["count"] + 1):
                at = updated_at(n)
                if since is not None and at < since:
                    continue
                yield record("numbers", {"n": n, "updated_at": at})
                cursor = at
                if n % 25 == 0:  # a checkpoint: a read can resume from it
                    yield state("numbers", {"updated_at": cursor})
            yield state("numbers", {"updated_at": cursor})
            yield status("numbers", "complete")


Source = ctest_sdk.export(Numbers)
