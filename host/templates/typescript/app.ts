// {{name}}: a ctest connector. One incremental stream, `numbers`, with the
// integers 1..count, each updated a minute after the one before. Replace it
// with your source's streams.

import { type Connector, error, exportConnector, type Message, record, Spec, state, status, Stream } from "@ctest/sdk";

interface Config {
  count: number;
}

const updatedAt = (n: number) => new Date(Date.UTC(2025, 0, 1) + n * 60_000).toISOString().replace(".000Z", "Z");

const connector: Connector<Config> = {
  spec: () =>
    new Spec("{{name}}", "0.1.0", {
      type: "object",
      required: ["count"],
      additionalProperties: false,
      properties: { count: { type: "integer", minimum: 1 } },
    })
      .noNetwork()
      .incremental(),

  check: (config) => (Number.isInteger(config.count) && config.count >= 1 ? null : "`count` must be an integer of at least 1"),

  discover: () => [
    new Stream("numbers", {
      type: "object",
      additionalProperties: false,
      required: ["n", "updated_at"],
      properties: { n: { type: "integer" }, updated_at: { type: "string", format: "date-time" } },
    })
      .primaryKey("n")
      .incremental("updated_at"),
  ],

  *read(config, catalog, stateIn): Generator<Message> {
    for (const stream of catalog) {
      if (stream.name !== "numbers") throw error.config(`no stream \`${stream.name}\``);
      const saved = stream.syncMode === "incremental" ? stateIn.get("numbers") : undefined;
      const since = saved && typeof saved === "object" && !Array.isArray(saved) ? (saved.updated_at as string) : undefined;
      yield status("numbers", "started");
      let cursor = since ?? null;
      for (let n = 1; n <= config.count; n++) {
        const at = updatedAt(n);
        if (since !== undefined && at < since) continue;
        yield record("numbers", { n, updated_at: at });
        cursor = at;
        if (n % 25 === 0) yield state("numbers", { updated_at: cursor }); // a checkpoint: a read can resume from it
      }
      yield state("numbers", { updated_at: cursor });
      yield status("numbers", "complete");
    }
  },
};

export const source = exportConnector(connector);
