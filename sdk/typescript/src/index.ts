/**
 * Write ctest data connectors in TypeScript, built with componentize-js.
 *
 * Implement {@link Connector} and export it as the contract's `source`:
 *
 * ```ts
 * import { exportConnector, Spec, Stream, record, state, status } from "@ctest/sdk";
 *
 * const numbers: Connector<{ count: number }> = {
 *   spec: () => new Spec("source-numbers", "0.1.0", { type: "object", ... }).noNetwork(),
 *   check: (config) => (config.count >= 1 ? null : "`count` must be at least 1"),
 *   discover: () => [new Stream("numbers", schema).primaryKey("n").incremental("updated_at")],
 *   *read(config, catalog, state) { yield status("numbers", "started"); ... },
 * };
 * export const source = exportConnector(numbers);
 * ```
 *
 * The names follow the Rust SDK. Configs and states are plain JSON values;
 * the SDK does the contract's text encoding. HTTP: use `fetch()`, which
 * componentize-js maps to wasi:http, so ctest's network policy and cassettes
 * apply to it.
 */

/// <reference path="../types/connector.d.ts" preserve="true" />

import { Validator } from "@cfworker/json-schema";
import { log as hostLog } from "ctest:connector/host@0.2.0";
import type {
  CheckOutcome,
  Catalog,
  ConfiguredCatalog,
  ConnectorError as WitError,
  ConnectorSpec,
  Feature,
  IngestionType,
  LogLevel,
  Message,
  RecordMessage,
  StreamInfo,
  StreamState,
  StreamStatus,
  SyncMode,
} from "ctest:connector/types@0.2.0";

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type { Message };

/** An error the connector reports. */
export class ConnectorError extends Error {
  constructor(
    message: string,
    public failureType: "config-error" | "transient-error" | "system-error" = "system-error",
    public internalMessage?: string,
  ) {
    super(message);
  }
  toWit(): WitError {
    return { message: this.message, internalMessage: this.internalMessage, failureType: this.failureType };
  }
}

/** Constructors of {@link ConnectorError}, as in the Rust SDK. */
export const error = {
  config: (message: string) => new ConnectorError(message, "config-error"),
  transient: (message: string) => new ConnectorError(message, "transient-error"),
  system: (message: string) => new ConnectorError(message, "system-error"),
};

/** The connector's specification. Declare its hosts, or `noNetwork()`. */
export class Spec {
  hosts?: string[];
  features: Feature[] = [];
  documentationUrl?: string;
  constructor(public name: string, public version: string, public connectionSpecification: Json) {}
  allowedHosts(hosts: string[]): this {
    this.hosts = [...hosts];
    return this;
  }
  noNetwork(): this {
    this.hosts = [];
    return this;
  }
  incremental(): this {
    this.features.push("incremental");
    return this;
  }
  toWit(): ConnectorSpec {
    return {
      name: this.name,
      version: this.version,
      connectionSpecification: JSON.stringify(this.connectionSpecification),
      allowedHosts: this.hosts,
      features: this.features,
      documentationUrl: this.documentationUrl,
    };
  }
}

/** A stream: full refresh, append, no key, until told otherwise. */
export class Stream {
  syncModes: SyncMode[] = ["full-refresh"];
  cursor: string[] = [];
  key: string[][] = [];
  ingestion: IngestionType = "append";
  constructor(public name: string, public jsonSchema: Json) {}
  primaryKey(field: string): this {
    this.key.push(field.split("."));
    return this;
  }
  incremental(cursorField: string): this {
    if (!this.syncModes.includes("incremental")) this.syncModes.push("incremental");
    this.cursor = cursorField.split(".");
    return this;
  }
  ingestionType(kind: IngestionType): this {
    this.ingestion = kind;
    return this;
  }
  toWit(): StreamInfo {
    return {
      name: this.name,
      jsonSchema: JSON.stringify(this.jsonSchema),
      supportedSyncModes: this.syncModes,
      sourceDefinedCursor: this.cursor.length > 0,
      defaultCursorField: this.cursor,
      sourceDefinedPrimaryKey: this.key,
      ingestionType: this.ingestion,
    };
  }
}

/** A configured stream of the read. */
export interface ConfiguredStream {
  name: string;
  syncMode: SyncMode;
  cursorField: string[];
  primaryKey: string[][];
}

/** The state a read starts from: stream name -> the value emitted last. */
export class State {
  constructor(private streams: Map<string, Json>) {}
  get(stream: string): Json | undefined {
    return this.streams.get(stream);
  }
}

export const nowMillis = (): bigint => BigInt(Date.now());

export function record(stream: string, data: Json, emittedAt: bigint = nowMillis()): Message {
  return { tag: "record", val: { stream, data: JSON.stringify(data), emittedAt } };
}

export function state(stream: string, value: Json): Message {
  return { tag: "state", val: { stream, data: JSON.stringify(value) } };
}

export function status(stream: string, value: StreamStatus): Message {
  return { tag: "trace", val: { tag: "stream-status", val: { stream, status: value } } };
}

/** Writes to the test's log. */
export function log(level: LogLevel, message: string): void {
  hostLog(level, message);
}

/** What a connector implements. `check` returns null when the config works,
 * otherwise why not; `read` is a generator of messages: `*read` (lazy), or
 * `async *read` to `await fetch(...)` page by page (pulled as the host asks
 * for messages, so one page is held at a time). `check` and `discover` may
 * be `async`; a plain `async read` returns all its messages at once. */
export interface Connector<C = Json> {
  spec(): Spec;
  check(config: C): string | null | Promise<string | null>;
  discover(config: C): Stream[] | Promise<Stream[]>;
  read(
    config: C,
    catalog: ConfiguredStream[],
    state: State,
  ): Iterable<Message> | AsyncIterable<Message> | Promise<Iterable<Message>>;
}

function toError(e: unknown): WitError {
  if (e instanceof ConnectorError) return e.toWit();
  const text = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
  hostLog("fatal", `connector threw: ${e instanceof Error ? e.stack ?? text : text}`);
  return error.system(text).toWit();
}

/** Runs `f`, awaiting it; a throw (or rejection) becomes the contract's
 * error, thrown as componentize-js expects for a `result`'s error case. */
async function guarded<T>(f: () => T | Promise<T>): Promise<T> {
  try {
    return await f();
  } catch (e) {
    throw toError(e);
  }
}

function parseConfig<C>(text: string): C {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw error.config(`the config is not JSON: ${e}`).toWit();
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw error.config("the config is not a JSON object").toWit();
  }
  return value as C;
}

/** `schema` without its `format` keywords: like airbyte-cdk, the SDK leaves
 * formats to the connector (values inside `enum`, `const`, `default` and
 * `examples` are data, and kept). */
function withoutFormats(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(withoutFormats);
  if (schema === null || typeof schema !== "object") return schema;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(schema)) {
    if (key === "format" && typeof value === "string") continue;
    out[key] = ["enum", "const", "default", "examples"].includes(key) ? value : withoutFormats(value);
  }
  return out;
}

/** The config checked against the spec's JSON Schema (draft 7) before the
 * connector sees it, as airbyte-cdk does. Compiled on first use; a schema
 * that does not compile is left to ctest's spec suite, which reports it. */
class ConfigCheck {
  private validator?: Validator | null;
  constructor(private spec: () => Spec) {}

  problem(config: unknown): string | null {
    if (this.validator === undefined) {
      try {
        this.validator = new Validator(withoutFormats(this.spec().connectionSpecification) as object, "7", false);
      } catch (e) {
        this.validator = null;
        hostLog("warn", `the SDK does not check configs against this spec: ${e}`);
      }
    }
    if (this.validator === null) return null;
    const result = this.validator.validate(config);
    if (result.valid) return null;
    // The errors at the leaves: each names the place and what is wrong.
    const containers = ["properties", "items", "allOf", "anyOf", "oneOf", "then", "else", "false"];
    const leaves = result.errors.filter((e) => !containers.includes(e.keyword));
    const shown = (leaves.length > 0 ? leaves : result.errors).map((e) => {
      const at = e.instanceLocation.replace(/^#\/?/, "").replace(/\//g, ".");
      return `${at ? `\`${at}\`: ` : ""}${e.error.replace(/\.$/, "")}`;
    });
    return `the config does not match the spec: ${shown.join("; ")}`;
  }

  /** The config, parsed and checked; a config error if it is wrong. */
  parse<C>(text: string): C {
    const config = parseConfig<C>(text);
    const problem = this.problem(config);
    if (problem !== null) throw error.config(problem).toWit();
    return config;
  }
}

const utf8 = new TextEncoder();

/** Hands the host up to `max` messages per call. Consecutive records of one
 * stream go as one `records` message (JSON lines as bytes): componentize-js
 * returns bytes about 7 times faster than as many strings (BENCHMARKS.md). */
class Reader {
  #it: Iterator<Message> | AsyncIterator<Message> | null;
  constructor(messages: Iterable<Message> | AsyncIterable<Message>) {
    this.#it = Symbol.asyncIterator in messages ? messages[Symbol.asyncIterator]() : messages[Symbol.iterator]();
  }
  /** Up to `max` messages; an `async *read` is pulled only as far as that,
   * so a paginated read holds one page at a time. */
  async next(max: number): Promise<Message[]> {
    const batch: Message[] = [];
    if (!this.#it) return batch;
    let lines: string[] = [];
    let group: RecordMessage | null = null;
    const flush = () => {
      if (group === null) return;
      if (lines.length === 1) {
        batch.push({ tag: "record", val: group });
      } else {
        batch.push({
          tag: "records",
          val: { stream: group.stream, data: utf8.encode(lines.join("\n")), emittedAt: group.emittedAt },
        });
      }
      group = null;
      lines = [];
    };
    try {
      for (let taken = 0; taken < max; taken++) {
        const pulled = this.#it.next();
        const r = pulled instanceof Promise ? await pulled : pulled;
        if (r.done) {
          this.#it = null;
          break;
        }
        const message = r.value;
        // (A record whose JSON text spans lines goes alone.)
        if (message.tag === "record" && !message.val.data.includes("\n")) {
          if (group !== null && group.stream !== message.val.stream) flush();
          if (group === null) group = message.val;
          lines.push(message.val.data);
          continue;
        }
        flush();
        batch.push(message);
      }
      flush();
    } catch (e) {
      this.#it = null;
      flush();
      const failure = toError(e);
      if (batch.length === 0) throw failure;
      batch.push({ tag: "trace", val: { tag: "error", val: { stream: undefined, error: failure } } });
    }
    return batch;
  }
}

/** The object to export as `source` from your module. The config is
 * checked against the spec before `check`, `discover` and `read` see it: a
 * config that breaks the spec fails with the schema's message. */
export function exportConnector<C>(connector: Connector<C>) {
  const checked = new ConfigCheck(() => connector.spec());
  return {
    spec(): ConnectorSpec {
      try {
        return connector.spec().toWit();
      } catch (e) {
        throw toError(e);
      }
    },
    async check(config: string): Promise<CheckOutcome> {
      let parsed: C;
      try {
        parsed = checked.parse<C>(config);
      } catch (e) {
        return { tag: "failed", val: (e as WitError).message };
      }
      const outcome = await guarded(() => connector.check(parsed));
      return outcome === null ? { tag: "succeeded" } : { tag: "failed", val: outcome };
    },
    async discover(config: string): Promise<Catalog> {
      const parsed = checked.parse<C>(config);
      const streams = await guarded(() => connector.discover(parsed));
      return { streams: streams.map((s) => s.toWit()) };
    },
    async read(config: string, catalog: ConfiguredCatalog, states: StreamState[]): Promise<Reader> {
      const parsed = checked.parse<C>(config);
      const streams = new Map<string, Json>();
      for (const s of states) {
        try {
          streams.set(s.stream, JSON.parse(s.data));
        } catch (e) {
          throw error.config(`the state of stream \`${s.stream}\` is not JSON: ${e}`).toWit();
        }
      }
      const configured = catalog.streams.map((s) => ({ ...s }));
      const messages = await guarded(() => connector.read(parsed, configured, new State(streams)));
      return new Reader(messages);
    },
    Reader,
  };
}

/** Rows written to or deleted from the source, and where each of their
 * fields appears in a record: (field of the row, dotted path in the record).
 * For deleted rows, at least the primary key. */
export interface ChangedRows {
  rows: { [key: string]: Json }[];
  columnMapping: [string, string][];
}

/** Writes test rows to the source for ctest's write_back suite: ctest
 * writes, reads back incrementally, and checks the rows arrived. Put `tag`
 * (unique to the run) in what you write, so that parallel runs never
 * collide. `deletableTables` and `deleteRows` are for `cdc-with-deletes`
 * streams. Each may be `async`. */
export interface WriteBack<C = Json> {
  insertableTables(config: C): string[] | Promise<string[]>;
  writeRows(config: C, table: string, count: number, tag: string): ChangedRows | Promise<ChangedRows>;
  deletableTables?(config: C): string[] | Promise<string[]>;
  deleteRows?(config: C, table: string, count: number, tag: string): ChangedRows | Promise<ChangedRows>;
}

const toWitRows = (changed: ChangedRows) => ({
  rows: changed.rows.map((row) => JSON.stringify(row)),
  columnMapping: changed.columnMapping,
});

/** The object to export as `writeBack` from your module, next to `source`
 * (the build then uses the `connector-with-write-back` world). */
export function exportWriteBack<C>(writer: WriteBack<C>) {
  return {
    async insertableTables(config: string): Promise<string[]> {
      const parsed = parseConfig<C>(config);
      return guarded(() => writer.insertableTables(parsed));
    },
    async writeRows(config: string, table: string, count: number, tag: string) {
      const parsed = parseConfig<C>(config);
      return toWitRows(await guarded(() => writer.writeRows(parsed, table, count, tag)));
    },
    async deletableTables(config: string): Promise<string[]> {
      const parsed = parseConfig<C>(config);
      return guarded(() => writer.deletableTables?.(parsed) ?? []);
    },
    async deleteRows(config: string, table: string, count: number, tag: string) {
      const parsed = parseConfig<C>(config);
      return toWitRows(
        await guarded(() => {
          if (!writer.deleteRows) throw error.config(`rows of \`${table}\` cannot be deleted`);
          return writer.deleteRows(parsed, table, count, tag);
        }),
      );
    },
  };
}
