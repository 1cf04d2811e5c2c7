// source-numbers in TypeScript: one incremental stream, `numbers`, with the
// integers 1..count, each updated a minute after the one before.

import { type Connector, error, exportConnector, type Message, record, Spec, state, status, Stream } from "@ctest/sdk";

interface Config {
  count: number;
}

const EPOCH = 1_735_689_600; // 2025-01-01T00:00:00Z
const timestamp = (n: number) => new Date((EPOCH + n * 60) * 1000).toISOString().replace(".000Z", "Z");

const schema = {
  type: "object",
  additionalProperties: false,
  required: ["n", "updated_at"],
  properties: {
    n: { type: "integer" },
    square: { type: "integer" },
    updated_at: { type: "string", format: "date-time" },
  },
};

export const numbers: Connector<Config> = {
  spec: () =>
    new Spec("source-numbers-ts", "0.1.0", {
      type: "object",
      required: ["count"],
      additionalProperties: false,
      properties: { count: { type: "integer", minimum: 1 } },
    })
      .noNetwork()
      .incremental(),

  check(config) {
    if (!Number.isInteger(config.count)) return "`count` must be an integer";
    return config.count >= 1 ? null : "`count` must be at least 1";
  },

  discover: () => [new Stream("numbers", schema).primaryKey("n").incremental("updated_at")],

  *read(config, catalog, state_in): Generator<Message> {
    for (const stream of catalog) {
      if (stream.name !== "numbers") {
        throw error.config(`the catalog names the stream \`${stream.name}\`, which this connector does not offer`);
      }
      const saved = stream.syncMode === "incremental" ? state_in.get("numbers") : undefined;
      const since = saved && typeof saved === "object" && !Array.isArray(saved) ? (saved.updated_at as string) : undefined;
      yield status("numbers", "started");
      let cursor = since ?? null;
      for (let n = 1; n <= config.count; n++) {
        const updated_at = timestamp(n);
        if (since !== undefined && updated_at < since) continue;
        yield record("numbers", { n, square: n * n, updated_at });
        cursor = updated_at;
        if (n % 100 === 0) yield state("numbers", { updated_at: cursor });
      }
      yield state("numbers", { updated_at: cursor });
      yield status("numbers", "complete");
    }
  },
};

export const source = exportConnector(numbers);
