// The same record as examples/ts-numbers makes, in each shape of shape.wit.
const EPOCH = Date.UTC(2025, 0, 1);

function object(n) {
  const updated = new Date(EPOCH + n * 60000).toISOString().replace(".000Z", "Z");
  return { n, square: n * n, updated_at: updated };
}

function json(n) {
  return JSON.stringify(object(n));
}

export function messages(first, count) {
  const out = new Array(count);
  for (let i = 0; i < count; i++) {
    out[i] = { tag: "record", val: { stream: "numbers", data: json(first + i), emittedAt: 1n } };
  }
  return out;
}

export function strings(first, count) {
  const out = new Array(count);
  for (let i = 0; i < count; i++) out[i] = json(first + i);
  return out;
}

export function jsonLines(first, count) {
  const out = new Array(count);
  for (let i = 0; i < count; i++) out[i] = json(first + i);
  return out.join("\n");
}

export function makeOnly(first, count) {
  let length = 0;
  for (let i = 0; i < count; i++) length += json(first + i).length;
  return length;
}

export function jsonArray(first, count) {
  const out = new Array(count);
  for (let i = 0; i < count; i++) out[i] = object(first + i);
  return JSON.stringify(out);
}

export function joinOnly(first, count) {
  const out = new Array(count);
  for (let i = 0; i < count; i++) out[i] = json(first + i);
  return out.join("\n").length;
}

const encoder = new TextEncoder();

export function jsonLinesBytes(first, count) {
  const out = new Array(count);
  for (let i = 0; i < count; i++) out[i] = json(first + i);
  return encoder.encode(out.join("\n"));
}
