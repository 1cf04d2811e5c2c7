// Unit tests of source-shop-ts's logic under Node, run with `npm test`
// (ctest-sdk-test): the SDK's Harness runs the connector as ctest does, and
// mockHttp answers its fetch calls. ctest's suites test the built component.

import assert from "node:assert/strict";
import { test } from "node:test";
import { Harness, mockHttp, UnexpectedRequest } from "@ctest/sdk/testing";
import { shop } from "./app.ts";

const BASE = "https://shop.example.com";
const CONFIG = { base_url: BASE, api_key: "k-123", page_size: 2 };
const KEY = { "x-api-key": "k-123" };
const customer = (id: number, day: number) => ({ id, name: `c${id}`, plan: "team", updated_at: `2025-01-0${day}T00:00:00Z` });

test("a read follows the pages, one at a time, and checkpoints each", async () => {
  const http = mockHttp();
  http.expect("GET", `${BASE}/v1/customers?page=1&page_size=2`, { headers: KEY })
    .respond(200, { json: { data: [customer(1, 1), customer(2, 2)], next_page: 2 } });
  http.expect("GET", `${BASE}/v1/customers?page_size=2&page=2`, { headers: KEY })
    .respond(200, { json: { data: [customer(3, 3)], next_page: null } });
  // One message per pull: the second page is fetched only when the first is used up.
  const read = await new Harness(shop).read(CONFIG, { streams: ["customers"], batch: 1 });
  http.done();
  assert.deepEqual(read.records("customers").map((r) => (r as { id: number }).id), [1, 2, 3]);
  assert.deepEqual(read.states("customers"), [{ updated_at: "2025-01-02T00:00:00Z" }, { updated_at: "2025-01-03T00:00:00Z" }]);
  assert.deepEqual(read.statuses("customers"), ["started", "complete"]);
  assert.equal(read.error, undefined);
});

test("an async read is pulled page by page", async () => {
  const http = mockHttp();
  http.expect("GET", `${BASE}/v1/customers?page=1&page_size=2`).respond(200, { json: { data: [customer(1, 1)], next_page: 2 } });
  http.expect("GET", `${BASE}/v1/customers?page=2&page_size=2`).respond(200, { json: { data: [], next_page: null } });
  // Through the export, as ctest pulls: two messages, then stop asking.
  const { source } = new Harness(shop);
  const catalog = { streams: [{ name: "customers", syncMode: "full-refresh" as const, cursorField: [], primaryKey: [["id"]] }] };
  const reader = await source.read(JSON.stringify(CONFIG), catalog, []);
  const first = await reader.next(2);
  assert.deepEqual(first.map((m) => m.tag), ["trace", "record"]);
  assert.equal(http.requests.length, 1, "the second page was fetched before it was needed");
  await reader.next(10);
  assert.equal(http.requests.length, 2);
  http.done();
});

test("a server error ends the read as a transient error", async () => {
  const http = mockHttp();
  http.expect("GET", `${BASE}/v1/customers?page=1&page_size=2`).respond(503, { body: "down" });
  const read = await new Harness(shop).read(CONFIG, { streams: ["customers"] });
  http.done();
  assert.deepEqual(read.statuses("customers"), ["started"]);
  assert.equal(read.error?.failureType, "transient");
  assert.match(read.error?.message ?? "", /503/);
});

test("a config that breaks the spec fails before the connector sees it", async () => {
  const http = mockHttp(); // no request is expected
  const harness = new Harness(shop);
  const problem = await harness.check({ ...CONFIG, page_size: 500 });
  assert.equal(problem, "the config does not match the spec: `page_size`: 500 is greater than 100");
  await assert.rejects(harness.read({ ...CONFIG, page_size: 500 }), (e: Error) => e.message === `config: ${problem}`);
  assert.equal(
    await harness.check({ base_url: BASE }),
    'the config does not match the spec: Instance does not have required property "api_key"',
  );
  http.done();
});

test("a refused key fails check with what to fix", async () => {
  const http = mockHttp();
  http.expect("GET", `${BASE}/v1/customers?page_size=1`).respond(401, { json: { error: "bad key" } });
  assert.match((await new Harness(shop).check(CONFIG)) ?? "", /check `api_key`/);
  http.done();
});

test("the mock names an unexpected request and what it expected", async () => {
  const http = mockHttp();
  http.expect("GET", `${BASE}/v1/invoices?page=1&page_size=2`).respond(200, { json: {} });
  await new Harness(shop).read(CONFIG, { streams: ["customers"] });
  assert.throws(() => http.done(), (e: Error) => {
    assert.ok(e instanceof UnexpectedRequest);
    assert.match(e.message, /unexpected request GET https:\/\/shop\.example\.com\/v1\/customers\?page=1&page_size=2/);
    assert.match(e.message, /- GET https:\/\/shop\.example\.com\/v1\/invoices\?page=1&page_size=2/);
    return true;
  });
});

test("the mock fails when an expected request is never made", () => {
  const http = mockHttp();
  http.expect("GET", `${BASE}/v1/customers?page=1`).respond(200, { json: {} });
  assert.throws(() => http.done(), /never made/);
});
