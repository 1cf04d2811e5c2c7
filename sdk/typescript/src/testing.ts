/**
 * Unit tests of a connector under Node (node:test), run by `ctest-sdk-test`
 * (`npm test` in a project `ctest new` made).
 *
 * {@link Harness} runs the connector the way ctest does: through what
 * `exportConnector` returns, with the config as JSON text, the catalog from
 * `discover` and the state as the contract carries it. A fake host keeps its
 * log lines. {@link mockHttp} answers `fetch` from a list of expected
 * requests.
 *
 * ```ts
 * import { test } from "node:test";
 * import assert from "node:assert/strict";
 * import { Harness, mockHttp } from "@ctest/sdk/testing";
 * import { connector } from "./app.ts";
 *
 * test("reads one page", async () => {
 *   const http = mockHttp();
 *   http.expect("GET", "https://api.example.com/v1/items?page=1").respond(200, { json: { data: [] } });
 *   const read = await new Harness(connector).read({ base_url: "https://api.example.com" });
 *   http.done();
 *   assert.deepEqual(read.records("items"), []);
 * });
 * ```
 */

import { type Connector, type Json, exportConnector } from "./index.js";
import { setLogSink } from "./fake-host.js";

/** The connector failed an operation: the contract's `connector-error`. */
export class ConnectorFailure extends Error {
  constructor(
    message: string,
    public failureType: "config" | "transient" | "system",
    public internal?: string,
  ) {
    super(`${failureType}: ${message}`);
    this.name = "ConnectorFailure";
  }
}

type WitError = { message: string; internalMessage?: string; failureType: string };

function failure(e: unknown): ConnectorFailure {
  const w = e as WitError;
  if (w && typeof w === "object" && typeof w.message === "string" && typeof w.failureType === "string") {
    return new ConnectorFailure(w.message, w.failureType.replace("-error", "") as "config", w.internalMessage);
  }
  throw e;
}

export type ReadMessage =
  | { kind: "record"; stream: string; value: Json }
  | { kind: "state"; stream: string; value: Json }
  | { kind: "status"; stream: string; value: string }
  | { kind: "error"; stream?: string; value: ConnectorFailure }
  | { kind: "log"; stream?: string; value: string };

/** What a read yielded, in order. */
export class Read {
  messages: ReadMessage[] = [];
  /** The failure that ended the read, before any message or after some. */
  error?: ConnectorFailure;
  records(stream?: string): Json[] {
    return this.messages.filter((m) => m.kind === "record" && (stream === undefined || m.stream === stream)).map((m) => m.value as Json);
  }
  states(stream: string): Json[] {
    return this.messages.filter((m) => m.kind === "state" && m.stream === stream).map((m) => m.value as Json);
  }
  /** The last state of `stream`, or undefined. */
  state(stream: string): Json | undefined {
    return this.states(stream).at(-1);
  }
  statuses(stream: string): string[] {
    return this.messages.filter((m) => m.kind === "status" && m.stream === stream).map((m) => m.value as string);
  }
}

export interface ReadOptions {
  /** The streams to read (default: all that `discover` returns). */
  streams?: string[];
  /** Stream name -> the state the connector emitted. */
  state?: Record<string, Json>;
  /** Incrementally where a stream can (default true). */
  incremental?: boolean;
  /** Messages asked for per `next` call (default 100). */
  batch?: number;
}

const decoder = new TextDecoder();

/** A connector, run as ctest runs it. */
export class Harness<C = Json> {
  /** What `exportConnector` made of the connector: what ctest calls. */
  readonly source;
  /** The connector's log lines: [level, message]. */
  logs: [string, string][] = [];
  constructor(connector: Connector<C>) {
    this.source = exportConnector(connector);
  }

  private async call<T>(f: () => T | Promise<T>): Promise<T> {
    setLogSink((level, message) => this.logs.push([level, message]));
    try {
      return await f();
    } catch (e) {
      throw failure(e);
    } finally {
      setLogSink(undefined);
    }
  }

  async spec() {
    const spec = await this.call(() => this.source.spec());
    return { ...spec, connectionSpecification: JSON.parse(spec.connectionSpecification) as Json };
  }

  /** null when the connector accepts the config, else why not. */
  async check(config: Json): Promise<string | null> {
    const outcome = await this.call(() => this.source.check(JSON.stringify(config)));
    return outcome.tag === "succeeded" ? null : outcome.val;
  }

  async discover(config: Json) {
    const catalog = await this.call(() => this.source.discover(JSON.stringify(config)));
    return catalog.streams.map((s) => ({ ...s, jsonSchema: JSON.parse(s.jsonSchema) as Json }));
  }

  async read(config: Json, options: ReadOptions = {}): Promise<Read> {
    const found = (await this.call(() => this.source.discover(JSON.stringify(config)))).streams;
    const missing = (options.streams ?? []).filter((n) => !found.some((s) => s.name === n));
    if (missing.length > 0) {
      throw new Error(`discover returned no stream ${missing.join(", ")}; it returned ${found.map((s) => s.name).join(", ")}`);
    }
    const incremental = options.incremental ?? true;
    const streams = found
      .filter((s) => options.streams === undefined || options.streams.includes(s.name))
      .map((s) => {
        const can = incremental && s.supportedSyncModes.includes("incremental");
        return {
          name: s.name,
          syncMode: can ? ("incremental" as const) : ("full-refresh" as const),
          cursorField: can ? s.defaultCursorField : [],
          primaryKey: s.sourceDefinedPrimaryKey,
        };
      });
    const states = Object.entries(options.state ?? {}).map(([stream, value]) => ({ stream, data: JSON.stringify(value) }));
    const out = new Read();
    let reader;
    try {
      reader = await this.call(() => this.source.read(JSON.stringify(config), { streams }, states));
    } catch (e) {
      if (e instanceof ConnectorFailure) {
        out.error = e;
        return out;
      }
      throw e;
    }
    for (;;) {
      let batch;
      try {
        batch = await this.call(() => reader.next(options.batch ?? 100));
      } catch (e) {
        if (e instanceof ConnectorFailure) {
          out.error = e;
          break;
        }
        throw e;
      }
      if (batch.length === 0) break;
      for (const m of batch) {
        if (m.tag === "record") out.messages.push({ kind: "record", stream: m.val.stream, value: JSON.parse(m.val.data) });
        else if (m.tag === "records") {
          for (const line of decoder.decode(m.val.data).split("\n")) {
            out.messages.push({ kind: "record", stream: m.val.stream, value: JSON.parse(line) });
          }
        } else if (m.tag === "state") out.messages.push({ kind: "state", stream: m.val.stream, value: JSON.parse(m.val.data) });
        else if (m.tag === "log") out.messages.push({ kind: "log", value: m.val.message });
        else if (m.val.tag === "stream-status") out.messages.push({ kind: "status", stream: m.val.val.stream, value: m.val.val.status });
        else {
          const f = failure(m.val.val.error);
          out.messages.push({ kind: "error", stream: m.val.val.stream, value: f });
          out.error = f;
        }
      }
    }
    return out;
  }
}

/** A request nobody told the mock to expect. */
export class UnexpectedRequest extends Error {
  name = "UnexpectedRequest";
}

interface Expected {
  method: string;
  url: string;
  headers: Record<string, string>;
  body?: string;
  response?: Response | (() => Response);
  made: boolean;
}

export interface ExpectOptions {
  /** Headers the request must carry (others may come too). */
  headers?: Record<string, string>;
  /** The body it must have, as text. */
  body?: string;
}

export interface RespondOptions {
  /** A JSON body, with its content type. */
  json?: unknown;
  body?: string;
  headers?: Record<string, string>;
}

function sameUrl(a: string, b: string): boolean {
  const [ua, ub] = [new URL(a), new URL(b)];
  const query = (u: URL) => [...u.searchParams.entries()].map(([k, v]) => `${k}=${v}`).sort().join("&");
  return ua.origin === ub.origin && ua.pathname === ub.pathname && query(ua) === query(ub);
}

const describe = (e: Expected) =>
  `${e.method} ${e.url}${Object.entries(e.headers).map(([k, v]) => ` [${k}: ${v}]`).join("")}`;

/** Answers `fetch` while installed: each `expect(...)` once, in any order.
 * A request nobody expected rejects with UnexpectedRequest, listing what
 * was expected (and `done()` reports it even if the connector caught it);
 * `done()` fails for an expected request never made, and restores `fetch`. */
export class MockHttp {
  expected: Expected[] = [];
  requests: Request[] = [];
  private unexpected: string[] = [];
  private saved = globalThis.fetch;

  constructor() {
    globalThis.fetch = (input: RequestInfo | URL, init?: RequestInit) => this.answer(new Request(input, init));
  }

  expect(method: string, url: string, options: ExpectOptions = {}) {
    const entry: Expected = { method: method.toUpperCase(), url, headers: options.headers ?? {}, body: options.body, made: false };
    this.expected.push(entry);
    return {
      respond(status = 200, answer: RespondOptions = {}) {
        const headers = new Headers(answer.headers);
        let body = answer.body ?? null;
        if (answer.json !== undefined) {
          body = JSON.stringify(answer.json);
          headers.set("content-type", "application/json");
        }
        entry.response = () => new Response(body, { status, headers });
      },
    };
  }

  private async answer(request: Request): Promise<Response> {
    this.requests.push(request);
    const text = request.body ? await request.text() : undefined;
    for (const e of this.expected) {
      if (
        !e.made &&
        e.method === request.method &&
        sameUrl(e.url, request.url) &&
        Object.entries(e.headers).every(([k, v]) => request.headers.get(k) === v) &&
        (e.body === undefined || e.body === text)
      ) {
        e.made = true;
        if (!e.response) throw new UnexpectedRequest(`${describe(e)} is expected but has no .respond(...)`);
        return typeof e.response === "function" ? e.response() : e.response;
      }
    }
    const waiting = this.expected.filter((e) => !e.made).map((e) => `  - ${describe(e)}`);
    const message = `unexpected request ${request.method} ${request.url}\nexpected:\n${waiting.join("\n") || "  (none left)"}`;
    this.unexpected.push(message);
    throw new UnexpectedRequest(message);
  }

  /** Restores `fetch`; throws for an unexpected request, or an expected one never made. */
  done(): void {
    globalThis.fetch = this.saved;
    if (this.unexpected.length > 0) throw new UnexpectedRequest(this.unexpected[0]);
    const never = this.expected.filter((e) => !e.made).map((e) => `  - ${describe(e)}`);
    if (never.length > 0) throw new Error(`expected requests never made:\n${never.join("\n")}`);
  }
}

/** Replaces `fetch` with a {@link MockHttp} until its `done()`. */
export const mockHttp = () => new MockHttp();
