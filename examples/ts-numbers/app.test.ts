// Unit tests of the connector's logic under Node, run with `npm test`
// (ctest-sdk-test): the SDK's Harness runs the connector as ctest does, with a
// fake host. `ctest run` tests the built component against every suite.

import assert from "node:assert/strict";
import { test } from "node:test";
import { Harness } from "@ctest/sdk/testing";
import { numbers } from "./app.ts";

test("a first read has every number and ends with its cursor", async () => {
  const read = await new Harness(numbers).read({ count: 3 });
  assert.deepEqual(read.records("numbers").map((r) => (r as { n: number }).n), [1, 2, 3]);
  assert.deepEqual(read.state("numbers"), { updated_at: "2025-01-01T00:03:00Z" });
  assert.deepEqual(read.statuses("numbers"), ["started", "complete"]);
  assert.equal(read.error, undefined);
});

test("a read from a state resumes at its cursor", async () => {
  const state = { numbers: { updated_at: "2025-01-01T00:02:00Z" } };
  const read = await new Harness(numbers).read({ count: 3 }, { state });
  assert.deepEqual(read.records("numbers").map((r) => (r as { n: number }).n), [2, 3]);
});

test("a config that breaks the spec fails check with the schema's message", async () => {
  // The SDK checks the config against the spec before the connector sees it.
  assert.equal(await new Harness(numbers).check({ count: 0 }), "the config does not match the spec: `count`: 0 is less than 1");
  assert.equal(await new Harness(numbers).check({ count: 5 }), null);
});
