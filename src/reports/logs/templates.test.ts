import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parseLogLine, type LogLine } from "./log-line.js";
import { buildTemplateInput } from "./template-input.js";
import { TemplateMiner, tokenize, type TemplateMinerOptions } from "./templates.js";

const FIXTURE = new URL("./fixtures/opsguard-lines.jsonl", import.meta.url);

/** The 108 recorded lines of the fixture, parsed. */
function fixtureLines(): LogLine[] {
  return readFileSync(FIXTURE, "utf8")
    .split("\n")
    .filter((text) => text !== "")
    .map((text) => {
      const entry = parseLogLine(text);
      if (entry.kind !== "line") throw new Error(`fixture line does not parse: ${text}`);
      return entry.line;
    });
}

function mine(lines: LogLine[], options?: TemplateMinerOptions): TemplateMiner {
  const miner = new TemplateMiner(options);
  for (const line of lines) miner.add(buildTemplateInput(line));
  return miner;
}

function line(msg: string, fields: Record<string, unknown> = {}, at = "2026-01-05T10:00:00.000Z"): LogLine {
  const entry = parseLogLine(
    JSON.stringify({ timestamp: at, level: "error", msg, event: "test.event", ...fields }),
  );
  if (entry.kind !== "line") throw new Error("unparseable test line");
  return entry.line;
}

describe("Drain templates of recorded opsguard lines", () => {
  it("finds one template per message, told apart by event, codes and error text", () => {
    const miner = mine(fixtureLines());
    const summary = miner.templates().map((t) => `${t.count} ${t.event} | ${t.template}`);
    expect(summary).toEqual([
      "31 operation.opened | operation opened",
      "23 operation.closed | operation closed",
      "8 risk.rejected | operation rejected by risk checks codes=POSITION_SIZE_EXCEEDED",
      "6 http.request_failed | the request body is not valid JSON code=INVALID_BODY error=Unexpected token <str> at position <num>",
      "5 supervisor.quote_failed | no quote for supervision err=quote source answered HTTP <num> for <_>",
      "4 operation.failed | operation failed to <_> err=webhook executor answered HTTP <num> after <num> attempts",
      "4 operation.unconfirmed | operation open unconfirmed; it is reconciled shortly err=executor did not answer within <num> ms",
      "4 risk.rejected | operation rejected by risk checks codes=DAILY_LOSS_EXCEEDED",
      "4 risk.rejected | operation rejected by risk checks codes=NOTIONAL_EXCEEDED,EXPOSURE_EXCEEDED",
      "3 operation.failed | operation failed to <_> err=connect ECONNREFUSED <ip>",
      "2 backup.started | backup started",
      "2 operation.failed | operation failed to <_> err=request to <url> timed out after <num> ms",
      "2 risk.rejected | operation rejected by risk checks codes=RATE_LIMITED",
      "1 backup.failed | backup failed: restic exited with code <num>: Fatal: unable to open repository at <path>: permission denied",
      "1 backup.succeeded | backup succeeded",
      "1 executor.circuit_closed | webhook executor submit circuit closed",
      "1 executor.circuit_opened | webhook executor submit circuit opened: submit calls fail at once until a trial call succeeds",
      "1 security.check_finished | security check finished",
      "1 security.check_started | security check started",
      "1 security.finding | S03 file permissions: warning",
      "1 security.finding | S07 dependency advisories: critical",
      "1 server.started | server listening",
      "1 supervisor.tick | supervisor tick",
    ]);
    expect(miner.unclustered).toBe(0);
  });

  it("keeps the first line as the sample, with first and last seen and levels", () => {
    const refused = mine(fixtureLines())
      .templates()
      .find((t) => t.template.includes("ECONNREFUSED"));
    expect(refused).toMatchObject({
      event: "operation.failed",
      count: 3,
      sample: "operation failed to close err=connect ECONNREFUSED 10.0.4.80:8443",
      firstSeenMs: Date.parse("2026-01-05T10:49:44.967Z"),
      lastSeenMs: Date.parse("2026-01-05T11:16:41.973Z"),
      levels: { error: 3 },
    });
  });

  it("gives the same ids, templates and counts for the same lines in the same order", () => {
    expect(mine(fixtureLines()).templates()).toEqual(mine(fixtureLines()).templates());
  });

  it("merges lines that differ in an unmasked token into a `<_>`", () => {
    const miner = mine([
      line("no quote for supervision", { err: "quote source answered HTTP 504 for BTC-USD" }),
      line("no quote for supervision", { err: "quote source answered HTTP 502 for ETH-USD" }),
    ]);
    expect(miner.templates().map((t) => [t.template, t.count])).toEqual([
      ["no quote for supervision err=quote source answered HTTP <num> for <_>", 2],
    ]);
  });

  it("never merges lines of different codes, however alike", () => {
    const miner = mine([
      line("operation rejected by risk checks", { codes: ["RATE_LIMITED"] }),
      line("operation rejected by risk checks", { codes: ["DAILY_LOSS_EXCEEDED"] }),
      line("operation rejected by risk checks", { codes: ["RATE_LIMITED"] }),
    ]);
    expect(miner.templates().map((t) => [t.template, t.count])).toEqual([
      ["operation rejected by risk checks codes=RATE_LIMITED", 2],
      ["operation rejected by risk checks codes=DAILY_LOSS_EXCEEDED", 1],
    ]);
  });

  it("merges different errors behind one message at a low threshold: why the default is 0.6", () => {
    const lines = [
      line("operation failed to submit", { err: "webhook executor answered HTTP 503 after 3 attempts" }),
      line("operation failed to submit", { err: "request to http://x:8080/o timed out after 5000 ms" }),
    ];
    expect(mine(lines, { similarityThreshold: 0.4 }).size).toBe(1);
    expect(mine(lines).size).toBe(2);
  });

  it("counts the lines past the cluster cap and still counts lines of kept clusters", () => {
    const miner = mine(
      [line("alpha one"), line("beta two three"), line("gamma four five six"), line("alpha one")],
      {
        maxClusters: 2,
      },
    );
    expect(miner.size).toBe(2);
    expect(miner.unclustered).toBe(1);
    expect(miner.templates().map((t) => [t.template, t.count])).toEqual([
      ["alpha one", 2],
      ["beta two three", 1],
    ]);
  });

  it("bounds the tokens and the text of one line", () => {
    expect(tokenize("a b c d e", 3)).toEqual(["a", "b", "c d e"]);
    const miner = new TemplateMiner({ maxTextLength: 10 });
    const id = miner.add({ event: "e", text: "0123456789 overflow", level: "info", timeMs: 0 });
    expect(miner.template(id!)).toBe("<num>");
    expect(miner.templates()[0]?.sample).toBe("0123456789");
  });
});

describe("what a line is clustered by", () => {
  it("appends codes, error messages and error objects' messages to msg", () => {
    const input = buildTemplateInput(
      line("operation failed to close", {
        code: "EXECUTION_FAILED",
        codes: ["NOTIONAL_EXCEEDED", "EXPOSURE_EXCEEDED"],
        err: { name: "ExecutorError", message: "connect ECONNREFUSED 10.0.4.80:8443", stack: "…" },
        operationId: "01KE6SMQ64HVTP5AEAJGNE0EMS",
      }),
    );
    expect(input.text).toBe(
      "operation failed to close code=EXECUTION_FAILED codes=NOTIONAL_EXCEEDED,EXPOSURE_EXCEEDED err=connect ECONNREFUSED 10.0.4.80:8443",
    );
    expect(input.partition).toBe("code=EXECUTION_FAILED\u0000codes=NOTIONAL_EXCEEDED,EXPOSURE_EXCEEDED");
    expect(input.event).toBe("test.event");
  });

  it("is msg alone when no such field is set", () => {
    expect(buildTemplateInput(line("operation opened", { strategy: "breakout" }))).toMatchObject({
      text: "operation opened",
      partition: "",
    });
  });
});
