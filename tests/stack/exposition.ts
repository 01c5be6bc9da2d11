import { ExecutionError } from "../../src/execution/executor.js";
import { createGlobalLimitsMetrics } from "../../src/global/metrics.js";
import { ScriptedExecutor, startTestApp, submitBody, type TestApp } from "../harness.js";

/** What a `/metrics` body exposes: series names, and the label sets of each sample name. */
export interface ExposedSeries {
  /**
   * Every sample name, plus for each `# TYPE` the names its family has even before its first
   * sample (a labelled counter that never moved).
   */
  names: Set<string>;
  samples: Map<string, Record<string, string>[]>;
}

/**
 * Reads a `/metrics` body in the Prometheus text format or OpenMetrics, where a counter family is
 * named without the `_total` its samples carry.
 */
export function readExposition(body: string, into?: ExposedSeries): ExposedSeries {
  const exposed = into ?? { names: new Set<string>(), samples: new Map() };
  const { names, samples } = exposed;
  for (const [, name = "", type = ""] of body.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    if (type === "histogram") for (const suffix of ["_bucket", "_sum", "_count"]) names.add(name + suffix);
    else if (type === "summary") for (const suffix of ["", "_sum", "_count"]) names.add(name + suffix);
    else if (type === "counter") names.add(name.endsWith("_total") ? name : `${name}_total`);
    else names.add(name);
  }
  for (const [, name = "", labels = ""] of body.matchAll(/^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{([^}]*)\})? /gm)) {
    names.add(name);
    const set: Record<string, string> = {};
    for (const [, label = "", value = ""] of labels.matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g))
      set[label] = value;
    samples.set(name, [...(samples.get(name) ?? []), set]);
  }
  return exposed;
}

async function expectStatus(response: Promise<Response>, status: number, what: string): Promise<Response> {
  const answered = await response;
  if (answered.status !== status)
    throw new Error(`${what}: expected ${status}, got ${answered.status}: ${await answered.text()}`);
  return answered;
}

async function moveEveryMetric(test: TestApp, executor: ScriptedExecutor): Promise<void> {
  const open = async (body: Record<string, unknown>): Promise<string> => {
    const response = test.call("POST", "/v1/operations", { body: submitBody(body) });
    return ((await (await expectStatus(response, 201, "open")).json()) as { id: string }).id;
  };
  const win = await open({ pattern: "double-bottom" });
  const loss = await open({ instrument: "ETH-USD", size: "1", pattern: "head-shoulders" });
  await open({ instrument: "SOL-USD", size: "2" });
  await expectStatus(
    test.call("POST", "/v1/operations", { body: submitBody({ size: "50" }) }),
    422,
    "rejection",
  );
  executor.setPrice("BTC-USD", 6_600_000n);
  executor.setPrice("ETH-USD", 310_000n);
  await expectStatus(test.call("POST", `/v1/operations/${win}/close`, { body: {} }), 200, "winning close");
  await expectStatus(test.call("POST", `/v1/operations/${loss}/close`, { body: {} }), 200, "losing close");
  executor.failWith = new ExecutionError("venue down", "refused");
  await expectStatus(
    test.call("POST", "/v1/operations", { body: submitBody({ instrument: "ETH-USD", size: "1" }) }),
    502,
    "failed execution",
  );
  executor.failWith = undefined;
  const halt = { state: "halted", reason: "stack test", flatten: true };
  await expectStatus(test.call("PUT", "/v1/risk/state", { body: halt }), 200, "halt");
  await expectStatus(test.call("GET", "/nowhere"), 404, "unmatched route");
  // The security checks' status series exist from their first run on.
  await test.app.security.runQuick();
  // The recommendations' series exist while one is active: the loss above fell 83% of the way to
  // the drawdown limit of this app (PERF-004, high).
  await test.app.reports.run("exposition");
}

/**
 * What a live opsguard app (in-process, runtime metrics on) exposes once every kind of metric has
 * moved: opens, a rejection, a win and a loss with patterns, a failed execution, a halt that
 * flattens what is open, an unmatched route, a daily report with a recommendation. Both formats are read, as Prometheus may ask for
 * either.
 */
export async function collectExposedSeries(): Promise<ExposedSeries> {
  const executor = new ScriptedExecutor();
  const test = await startTestApp(
    // A drawdown limit the losing close comes near, and reports of today.
    { risk: { maxDrawdown: 0.0012 }, reports: { covers: "today" } },
    { executor, runtimeMetrics: true },
  );
  try {
    await moveEveryMetric(test, executor);
    // The firm-wide limits' metrics, which an instance registers only when they are on
    // (globalLimits.urlFile), as such an instance exposes them.
    createGlobalLimitsMetrics(test.app.registry);
    const scrape = async (accept?: string): Promise<string> =>
      (await test.app.http.request("/metrics", { headers: accept ? { accept } : {} })).text();
    const exposed = readExposition(await scrape());
    return readExposition(await scrape("application/openmetrics-text; version=1.0.0"), exposed);
  } finally {
    await test.close();
  }
}
