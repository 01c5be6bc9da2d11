import { parseSamples } from "./prometheus.js";
import { buildApp, submitBody } from "./inproc-app.js";
import { spread, type Spread } from "./stats.js";

/** What Prometheus 2.x asks for: OpenMetrics first (it carries exemplars), text as a fallback. */
const PROMETHEUS_ACCEPT =
  "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75," +
  "text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
/** Timed renders per format, after three untimed ones. */
const RENDERS = 20;

export interface ScrapeResult {
  /** The series count aimed at. */
  targetSeries: number;
  /** Series (sample lines) the page actually had. */
  series: number;
  strategies: number;
  instruments: number;
  /** Bytes of the OpenMetrics page. */
  bytes: number;
  /** `GET /metrics` as Prometheus asks for it (OpenMetrics), in-process, milliseconds. */
  openMetricsMs: Spread;
  /** `GET /metrics` in the classic text format (curl, older scrapers), milliseconds. */
  textMs: Spread;
}

/**
 * Phase 3: the time to answer `GET /metrics` with about `targetSeries` series. Series grow the way
 * they do in production: the config declares k strategies × k instruments, and each pair has an
 * operation open and one closed, so every per-pair series (submitted, open, closed, profit, loss),
 * per-instrument series (exposure, unrealized P&L) and per-strategy histogram (lifetime) exists;
 * runtime metrics are on. k starts from about five series per pair and is corrected from the
 * count measured until that count is within 5% of the target; the real count is reported.
 */
export async function measureScrape(targetSeries: number): Promise<ScrapeResult> {
  let k = Math.max(1, Math.round(Math.sqrt(targetSeries / 5)));
  let result = await populate(k, targetSeries);
  for (
    let attempt = 0;
    attempt < 4 && Math.abs(result.series - targetSeries) > targetSeries * 0.05;
    attempt++
  ) {
    const next = Math.max(1, Math.round(k * Math.sqrt(targetSeries / result.series)));
    if (next === k) break;
    k = next;
    result = await populate(k, targetSeries);
  }
  return result;
}

async function populate(k: number, targetSeries: number): Promise<ScrapeResult> {
  const strategies = Array.from({ length: k }, (_, i) => `strategy-${i + 1}`);
  const instruments = Object.fromEntries(
    Array.from({ length: k }, (_, i) => [
      `INSTR-${i + 1}`,
      { pricePrecision: 2, sizePrecision: 4, maxPositionSize: "10", initialPrice: "100" },
    ]),
  );
  const { app, close } = buildApp({ strategies, instruments });
  try {
    let n = 0;
    for (const strategy of strategies) {
      for (const instrument of Object.keys(instruments)) {
        await app.service.submit(submitBody(strategy, instrument, `open-${++n}`), "bench");
        const { operation } = await app.service.submit(
          submitBody(strategy, instrument, `closed-${n}`),
          "bench",
        );
        await app.service.close(operation.id, "manual", "bench");
      }
    }
    // What the supervisor sets on its first tick: unrealized P&L per instrument.
    await app.supervisor.tick();
    // Timed until the handler has produced its page: reading it back out of the Response would
    // encode and decode it again, which a real server does not (it writes the string).
    const render = async (accept: string | undefined): Promise<{ ms: number; text: string }> => {
      const started = performance.now();
      const response = await app.http.request("/metrics", { headers: accept ? { accept } : {} });
      const ms = performance.now() - started;
      return { ms, text: await response.text() };
    };
    const timings = async (accept: string | undefined): Promise<number[]> => {
      for (let i = 0; i < 3; i++) await render(accept);
      const ms: number[] = [];
      for (let i = 0; i < RENDERS; i++) ms.push((await render(accept)).ms);
      return ms;
    };
    const page = (await render(PROMETHEUS_ACCEPT)).text;
    return {
      targetSeries,
      series: parseSamples(page).length,
      strategies: k,
      instruments: k,
      bytes: Buffer.byteLength(page),
      openMetricsMs: spread(await timings(PROMETHEUS_ACCEPT)),
      textMs: spread(await timings(undefined)),
    };
  } finally {
    await close();
  }
}
