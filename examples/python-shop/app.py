"""source-shop in Python: the shop API (plugins/shop-api) over wasi:http with
`ctest_sdk.http`, so ctest's network policy and its cassettes apply. API key
from a secret field, pagination, incremental reads through `updated_since`,
and 429 answers waited out for their Retry-After. It also writes customers
for the write_back suite (`ShopWriter`), so it is built against the
`connector-http-with-write-back` world."""

import re
import time

import ctest_sdk
from ctest_sdk import ChangedRows, Connector, Spec, Stream, error, http, record, state, status

STREAMS = ["customers", "invoices"]
MAX_RETRIES = 5

TIMESTAMP = {"type": "string", "format": "date-time"}
SCHEMAS = {
    "customers": {
        "type": "object",
        "additionalProperties": False,
        "required": ["id", "updated_at"],
        "properties": {
            "id": {"type": "integer"},
            "name": {"type": "string"},
            "email": {"type": "string", "format": "email"},
            "plan": {"type": "string", "enum": ["free", "team", "enterprise"]},
            "updated_at": TIMESTAMP,
            "_ctest_deleted_at": {"type": ["null", "string"], "format": "date-time"},
        },
    },
    "invoices": {
        "type": "object",
        "additionalProperties": False,
        "required": ["id", "updated_at"],
        "properties": {
            "id": {"type": "integer"},
            "customer_id": {"type": "integer"},
            "amount_cents": {"type": "integer", "minimum": 0},
            "currency": {"type": "string"},
            "status": {"type": "string"},
            "updated_at": TIMESTAMP,
        },
    },
}


def invalid(config):
    """What is wrong with the config, if anything (the spec's schema, checked
    by hand)."""
    base = config.get("base_url")
    if not isinstance(base, str) or not re.match(r"^https?://", base):
        return "`base_url` must be an http(s) URL"
    key = config.get("api_key")
    if not isinstance(key, str) or key == "":
        return "`api_key` must be a non-empty string"
    size = config.get("page_size", 50)
    if not isinstance(size, int) or isinstance(size, bool) or not 1 <= size <= 100:
        return "`page_size` must be an integer from 1 to 100"
    return None


def send(config, method, path, body=None):
    """A request to the API with the key, waiting out 429s."""
    url = config["base_url"].rstrip("/") + path
    for _ in range(MAX_RETRIES + 1):
        request = (http.Request(method, url)
                   .header("X-Api-Key", config["api_key"])
                   .header("Accept", "application/json"))
        if body is not None:
            request = request.json(body)
        response = request.send()
        if response.status != 429:
            return response
        time.sleep(float(response.header("retry-after") or "1"))
    raise error.transient(f"{method} {path}: still rate limited after {MAX_RETRIES} retries")


def get(config, path):
    return send(config, "GET", path)


def failure(path, response, method="GET"):
    message = f"{method} {path} answered {response.status}: {response.text()}"
    if response.status in (401, 403):
        return error.config(f"the API refused the key: {message}")
    return error.transient(message) if response.status >= 500 else error.system(message)


class Shop(Connector):
    def spec(self):
        return Spec("source-shop-python", "0.1.0", {
            "type": "object",
            "required": ["base_url", "api_key"],
            "additionalProperties": False,
            "properties": {
                "base_url": {"type": "string", "format": "uri"},
                "api_key": {"type": "string", "secret": True},
                "page_size": {"type": "integer", "minimum": 1, "maximum": 100, "default": 50},
            },
        }).allowed_hosts(["${base_url}"]).incremental()  # exactly the configured API

    def check(self, config):
        problem = invalid(config)
        if problem:
            return problem
        response = get(config, "/v1/customers?page_size=1")
        if response.status == 200:
            return None
        if response.status == 401:
            return "the API refused the key (401): check `api_key`"
        return f"the API answered {response.status}"

    def discover(self, config):
        return [
            Stream(name, SCHEMAS[name]).primary_key("id").incremental("updated_at")
            .ingestion_type("cdc_with_deletes" if name == "customers" else "cdc")
            for name in STREAMS
        ]

    def read(self, config, catalog, state_in):
        problem = invalid(config)
        if problem:
            raise error.config(problem)
        for stream in catalog:
            if stream.name not in STREAMS:
                raise error.config(
                    f"the catalog names the stream `{stream.name}`, which this connector does not offer")
            saved = state_in.get(stream.name) if stream.sync_mode == "incremental" else None
            since = saved.get("updated_at") if isinstance(saved, dict) else None
            yield status(stream.name, "started")
            cursor = since
            page = 1
            while page is not None:
                path = f"/v1/{stream.name}?page={page}&page_size={config.get('page_size', 50)}"
                if since:
                    path += f"&updated_since={since}"
                response = get(config, path)
                if response.status != 200:
                    raise failure(path, response)
                body = response.json()
                for row in body["data"]:
                    cursor = row["updated_at"]
                    if "deleted_at" in row:
                        row = {"id": row["id"], "updated_at": row["updated_at"],
                               "_ctest_deleted_at": row["deleted_at"]}
                    yield record(stream.name, row)
                yield state(stream.name, {"updated_at": cursor})
                page = body["next_page"]
            yield status(stream.name, "complete")


class ShopWriter(ctest_sdk.WriteBack):
    """Writes customers for ctest's write_back suite, and deletes them."""

    def insertable_tables(self, config):
        return ["customers"]

    def write_rows(self, config, table, count, tag):
        only_customers(table)
        rows = []
        for i in range(1, count + 1):
            row = {"name": f"{tag} customer {i}", "email": f"{tag}.{i}@example.com", "plan": "team"}
            response = send(config, "POST", "/v1/customers", row)
            if response.status != 201:
                raise failure("/v1/customers", response, "POST")
            rows.append(response.json())
        return ChangedRows(rows, [(f, f) for f in ("id", "name", "email", "plan", "updated_at")])

    def deletable_tables(self, config):
        return ["customers"]

    def delete_rows(self, config, table, count, tag):
        """Writes `count` customers for the purpose, then deletes them, so the
        API keeps its data."""
        deleted = []
        for row in self.write_rows(config, table, count, tag).rows:
            path = f"/v1/customers/{row['id']}"
            response = send(config, "DELETE", path)
            if response.status != 200:
                raise failure(path, response, "DELETE")
            deleted.append({"id": row["id"]})
        return ChangedRows(deleted, [("id", "id")])


def only_customers(table):
    if table != "customers":
        raise error.config(f"rows can be written to and deleted from `customers` only, not `{table}`")


Source = ctest_sdk.export(Shop)
WriteBack = ctest_sdk.export_write_back(ShopWriter)
