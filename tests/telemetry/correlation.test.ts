import { afterEach, describe, expect, it } from "vitest";
import { ScriptedExecutor, startTestApp, submitBody, type TestApp } from "../harness.js";
import { startLokiReceiver, startOtlpReceiver, type LokiReceiver, type OtlpReceiver } from "./receivers.js";

describe("traces and logs of one request", () => {
  let otlp: OtlpReceiver;
  let loki: LokiReceiver;
  let t: TestApp | undefined;
  afterEach(async () => {
    await t?.close();
    await otlp.close();
    await loki.close();
  });

  it("carry the same trace id, and Loki gets exactly the bounded labels", async () => {
    otlp = await startOtlpReceiver();
    loki = await startLokiReceiver();
    t = await startTestApp(
      {
        env: "staging",
        telemetry: { traces: { endpoint: otlp.url } },
        logging: { console: { enabled: false }, loki: { url: loki.url, batchIntervalMs: 50 } },
      },
      // No logger override: the app builds its real logging from the config.
      { executor: new ScriptedExecutor(), logger: undefined },
    );
    const opened = await t.call("POST", "/v1/operations", { body: submitBody() });
    expect(opened.status).toBe(201);
    const { id } = (await opened.json()) as { id: string };
    const rejected = await t.call("POST", "/v1/operations", { body: submitBody({ size: "50" }) });
    expect(rejected.status).toBe(422);
    await t.app.tracing.shutdown(5_000);
    await t.app.flushLogs(5_000);

    const servers = otlp.spans.filter((s) => s.kind === 2);
    expect(servers).toHaveLength(2);
    const lines = loki.lines();
    const openedLine = lines.find((l) => l.line.event === "operation.opened")!;
    expect(openedLine.line).toMatchObject({ operationId: id, level: "info", msg: "operation opened" });
    expect(openedLine.line.trace_id).toBe(servers[0]!.traceId);
    expect(otlp.spans.some((s) => s.spanId === openedLine.line.span_id)).toBe(true);
    const rejectedLine = lines.find((l) => l.line.event === "risk.rejected")!;
    expect(rejectedLine.line.trace_id).toBe(servers[1]!.traceId);

    for (const { labels } of lines) expect(Object.keys(labels).sort()).toEqual(["env", "level", "service"]);
    expect(openedLine.labels).toEqual({ service: "opsguard", env: "staging", level: "info" });
    expect(rejectedLine.labels.level).toBe("warn");
    // No token, of any kind, ever reaches Loki.
    const everything = JSON.stringify(loki.streams);
    for (const token of Object.values(t.tokens)) expect(everything).not.toContain(token.slice(3, 20));
  });
});
