"""source-numbers in Python: one incremental stream, `numbers`, with the
integers 1..count, each updated a minute after the one before."""

import ctest_sdk
from ctest_sdk import Connector, Spec, Stream, record, state, status

EPOCH = 1_735_689_600  # 2025-01-01T00:00:00Z


def timestamp(n: int) -> str:
    seconds = EPOCH + n * 60
    days, rest = divmod(seconds, 86_400)
    # Days since 1970-01-01 to a civil date (Howard Hinnant's algorithm).
    z = days + 719_468
    era = z // 146_097
    doe = z - era * 146_097
    yoe = (doe - doe // 1460 + doe // 36_524 - doe // 146_096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    day = doy - (153 * mp + 2) // 5 + 1
    month = mp + 3 if mp < 10 else mp - 9
    year = yoe + era * 400 + (1 if month <= 2 else 0)
    h, m, s = rest // 3600, rest % 3600 // 60, rest % 60
    return f"{year:04d}-{month:02d}-{day:02d}T{h:02d}:{m:02d}:{s:02d}Z"


class Numbers(Connector):
    def spec(self):
        return Spec("source-numbers-python", "0.1.0", {
            "type": "object",
            "required": ["count"],
            "additionalProperties": False,
            "properties": {"count": {"type": "integer", "minimum": 1}},
        }).no_network().incremental()

    def check(self, config):
        count = config.get("count")
        if not isinstance(count, int) or isinstance(count, bool):
            return "`count` must be an integer"
        if count < 1:
            return "`count` must be at least 1"
        return None

    def discover(self, config):
        schema = {
            "type": "object",
            "additionalProperties": False,
            "required": ["n", "updated_at"],
            "properties": {
                "n": {"type": "integer"},
                "square": {"type": "integer"},
                "updated_at": {"type": "string", "format": "date-time"},
            },
        }
        return [Stream("numbers", schema).primary_key("n").incremental("updated_at")]

    def read(self, config, catalog, state_in):
        count = config["count"]
        for stream in catalog:
            if stream.name != "numbers":
                raise ctest_sdk.error.config(f"the catalog names the stream `{stream.name}`, which this connector does not offer")
            since = None
            if stream.sync_mode == "incremental":
                since = (state_in.get("numbers") or {}).get("updated_at")
            yield status("numbers", "started")
            cursor = since
            for n in range(1, count + 1):
                updated_at = timestamp(n)
                if since is not None and updated_at < since:
                    continue
                yield record("numbers", {"n": n, "square": n * n, "updated_at": updated_at})
                cursor = updated_at
                if n % 100 == 0:
                    yield state("numbers", {"updated_at": cursor})
            yield state("numbers", {"updated_at": cursor})
            yield status("numbers", "complete")


Source = ctest_sdk.export(Numbers)
