// source-shop in TypeScript: the shop API (plugins/shop-api) over `fetch`,
// which componentize-js maps to wasi:http, so ctest's network policy and its
// cassettes apply. API key from a secret field, pagination, incremental reads
// through `updated_since`, and 429 answers waited out for their Retry-After.
// It also writes customers for the write_back suite (`writeBack`).

import {
  type Connector,
  error,
  exportConnector,
  exportWriteBack,
  type Json,
  record,
  Spec,
  state,
  status,
  Stream,
  type WriteBack,
} from "@ctest/sdk";

interface Config {
  base_url: string;
  api_key: string;
  page_size?: number;
}

const STREAMS = ["customers", "invoices"];
const MAX_RETRIES = 5;

const ts = { type: "string", format: "date-time" };
const schemas: Record<string, Json> = {
  customers: {
    type: "object",
    additionalProperties: false,
    required: ["id", "updated_at"],
    properties: {
      id: { type: "integer" },
      name: { type: "string" },
      email: { type: "string", format: "email" },
      plan: { type: "string", enum: ["free", "team", "enterprise"] },
      updated_at: ts,
      _ctest_deleted_at: { type: ["null", "string"], format: "date-time" },
    },
  },
  invoices: {
    type: "object",
    additionalProperties: false,
    required: ["id", "updated_at"],
    properties: {
      id: { type: "integer" },
      customer_id: { type: "integer" },
      amount_cents: { type: "integer", minimum: 0 },
      currency: { type: "string" },
      status: { type: "string" },
      updated_at: ts,
    },
  },
};

/** A request to the API with the key, waiting out 429s. */
async function send(config: Config, method: string, path: string, body?: Json): Promise<Response> {
  const url = `${config.base_url.replace(/\/$/, "")}${path}`;
  const headers: Record<string, string> = { "X-Api-Key": config.api_key, Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  for (let attempt = 0; attempt <= MAX_RETRIES; attempt++) {
    const response = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    if (response.status !== 429) return response;
    await response.text();
    const wait = Number(response.headers.get("retry-after") ?? "1");
    await new Promise((resolve) => setTimeout(resolve, wait * 1000));
  }
  throw error.transient(`${method} ${path}: still rate limited after ${MAX_RETRIES} retries`);
}

const get = (config: Config, path: string) => send(config, "GET", path);

async function failure(path: string, response: Response, method = "GET") {
  const message = `${method} ${path} answered ${response.status}: ${await response.text()}`;
  if (response.status === 401 || response.status === 403) return error.config(`the API refused the key: ${message}`);
  return response.status >= 500 ? error.transient(message) : error.system(message);
}

/** What is wrong with the config, if anything (the spec's schema, checked by
 * hand: TypeScript's types are gone at run time). */
function invalid(config: Config): string | null {
  if (typeof config.base_url !== "string" || !/^https?:\/\//.test(config.base_url)) {
    return "`base_url` must be an http(s) URL";
  }
  if (typeof config.api_key !== "string" || config.api_key === "") return "`api_key` must be a non-empty string";
  const size = config.page_size;
  if (size !== undefined && !(Number.isInteger(size) && size >= 1 && size <= 100)) {
    return "`page_size` must be an integer from 1 to 100";
  }
  return null;
}

interface Page {
  data: Record<string, Json>[];
  next_page: number | null;
}

export const shop: Connector<Config> = {
  spec: () =>
    new Spec("source-shop-ts", "0.1.0", {
      type: "object",
      required: ["base_url", "api_key"],
      additionalProperties: false,
      properties: {
        base_url: { type: "string", format: "uri" },
        api_key: { type: "string", secret: true },
        page_size: { type: "integer", minimum: 1, maximum: 100, default: 50 },
      },
    })
      // Exactly the configured API.
      .allowedHosts(["${base_url}"])
      .incremental(),

  async check(config) {
    const problem = invalid(config);
    if (problem) return problem;
    const response = await get(config, "/v1/customers?page_size=1");
    await response.text();
    if (response.status === 200) return null;
    return response.status === 401 ? "the API refused the key (401): check `api_key`" : `the API answered ${response.status}`;
  },

  discover: () =>
    STREAMS.map((name) =>
      new Stream(name, schemas[name])
        .primaryKey("id")
        .incremental("updated_at")
        .ingestionType(name === "customers" ? "cdc-with-deletes" : "cdc"),
    ),

  // Page by page: the SDK pulls this generator as ctest asks for messages.
  async *read(config, catalog, stateIn) {
    const problem = invalid(config);
    if (problem) throw error.config(problem);
    for (const stream of catalog) {
      if (!STREAMS.includes(stream.name)) {
        throw error.config(`the catalog names the stream \`${stream.name}\`, which this connector does not offer`);
      }
      const saved = stream.syncMode === "incremental" ? stateIn.get(stream.name) : undefined;
      const since = saved && typeof saved === "object" && !Array.isArray(saved) ? (saved.updated_at as string | null) : null;
      yield status(stream.name, "started");
      let cursor = since;
      for (let page: number | null = 1; page !== null; ) {
        let path = `/v1/${stream.name}?page=${page}&page_size=${config.page_size ?? 50}`;
        if (since) path += `&updated_since=${since}`;
        const response = await get(config, path);
        if (response.status !== 200) throw await failure(path, response);
        const body = (await response.json()) as Page;
        for (const row of body.data) {
          cursor = row.updated_at as string;
          const data = "deleted_at" in row ? { id: row.id, updated_at: row.updated_at, _ctest_deleted_at: row.deleted_at } : row;
          yield record(stream.name, data);
        }
        yield state(stream.name, { updated_at: cursor });
        page = body.next_page;
      }
      yield status(stream.name, "complete");
    }
  },
};

function onlyCustomers(table: string) {
  if (table !== "customers") {
    throw error.config(`rows can be written to and deleted from \`customers\` only, not \`${table}\``);
  }
}

/** Writes customers for ctest's write_back suite, and deletes them. */
const writer: WriteBack<Config> = {
  insertableTables: () => ["customers"],

  async writeRows(config, table, count, tag) {
    onlyCustomers(table);
    const rows: { [key: string]: Json }[] = [];
    for (let i = 1; i <= count; i++) {
      const row = { name: `${tag} customer ${i}`, email: `${tag}.${i}@example.com`, plan: "team" };
      const response = await send(config, "POST", "/v1/customers", row);
      if (response.status !== 201) throw await failure("/v1/customers", response, "POST");
      rows.push((await response.json()) as { [key: string]: Json });
    }
    return { rows, columnMapping: ["id", "name", "email", "plan", "updated_at"].map((f): [string, string] => [f, f]) };
  },

  deletableTables: () => ["customers"],

  /** Writes `count` customers for the purpose, then deletes them, so the API
   * keeps its data. */
  async deleteRows(config, table, count, tag) {
    const written = await this.writeRows(config, table, count, tag);
    const rows: { [key: string]: Json }[] = [];
    for (const row of written.rows) {
      const path = `/v1/customers/${row.id}`;
      const response = await send(config, "DELETE", path);
      if (response.status !== 200) throw await failure(path, response, "DELETE");
      await response.text();
      rows.push({ id: row.id });
    }
    return { rows, columnMapping: [["id", "id"]] };
  },
};

export const source = exportConnector(shop);
export const writeBack = exportWriteBack(writer);
