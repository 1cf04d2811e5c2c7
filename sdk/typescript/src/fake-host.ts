/**
 * The host of the contract (`ctest:connector/host`) outside a component: in
 * unit tests (`ctest-sdk-test`), `import ... from "ctest:connector/host@…"`
 * resolves here. Log lines go to the sink `@ctest/sdk/testing` sets, else to
 * stderr.
 */

type Sink = (level: string, message: string) => void;

const key = Symbol.for("ctest.sdk.logSink");

export function setLogSink(sink: Sink | undefined): void {
  (globalThis as { [key]?: Sink })[key] = sink;
}

export function log(level: string, message: string): void {
  const sink = (globalThis as { [key]?: Sink })[key];
  if (sink) sink(level, message);
  else console.error(`[${level}] ${message}`);
}
