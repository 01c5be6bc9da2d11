import { describe, expect, it } from "vitest";
import type { ConfigInput } from "../config/schema.js";
import { fixtureContext, TODAY } from "./app-root.fixture.js";
import type { CheckId } from "./catalog.js";
import { runChecks } from "./run-checks.js";
import { isLoopback, type TokenAge } from "./settings.js";

const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;

/** The result of check `id` with `config` (nothing on disk is read by the settings checks). */
async function check(
  id: CheckId,
  config: ConfigInput,
  extra: { tokens?: TokenAge[]; lastBackupAt?: number; otlpHeadersSecret?: boolean } = {},
) {
  const context = fixtureContext({
    dataDir: "/nonexistent/data",
    appRoot: "/nonexistent/app",
    config,
    sources: {
      tokens: () => extra.tokens ?? [],
      lastBackupAt: () => extra.lastBackupAt,
    },
  });
  const [result] = await runChecks({ ...context, otlpHeadersSecret: extra.otlpHeadersSecret ?? false }, [id]);
  return result!;
}

describe("OG-CFG-001, authentication", () => {
  it("is critical with auth off on 0.0.0.0", async () => {
    expect(
      await check("OG-CFG-001", { auth: { enabled: false }, server: { host: "0.0.0.0", port: 8080 } }),
    ).toMatchObject({
      status: "critical",
      evidence: ["auth.enabled is false while the API listens on 0.0.0.0:8080"],
      recommendation: "Set auth.enabled: true, or bind server.host to 127.0.0.1.",
    });
  });

  it("only warns with auth off on loopback, and passes with auth on", async () => {
    expect(
      (await check("OG-CFG-001", { auth: { enabled: false }, server: { host: "127.0.0.1" } })).status,
    ).toBe("warning");
    expect((await check("OG-CFG-001", { auth: { enabled: false }, server: { host: "[::1]" } })).status).toBe(
      "warning",
    );
    expect(await check("OG-CFG-001", { server: { host: "0.0.0.0" } })).toMatchObject({
      status: "ok",
      evidence: ["auth.enabled is true (server.host 0.0.0.0)"],
    });
  });
});

describe("OG-CFG-002, /metrics", () => {
  it("warns that /metrics answers anyone on 0.0.0.0 without a bearer token file", async () => {
    expect(await check("OG-CFG-002", { server: { host: "0.0.0.0", port: 9090 } })).toMatchObject({
      status: "warning",
      evidence: ["GET /metrics answers anyone who reaches 0.0.0.0:9090: P&L, exposure and limits"],
    });
  });

  it("passes with a bearer token file, or on loopback", async () => {
    expect(
      await check("OG-CFG-002", {
        server: { host: "0.0.0.0" },
        metrics: { bearerTokenFile: "/run/secrets/metrics" },
      }),
    ).toMatchObject({ status: "ok", evidence: ["GET /metrics requires the token in /run/secrets/metrics"] });
    expect((await check("OG-CFG-002", { server: { host: "localhost" } })).status).toBe("ok");
  });
});

describe("OG-CFG-003, token age", () => {
  const token = (id: string, ageDays: number): TokenAge => ({
    id,
    name: `${id}-name`,
    role: "admin",
    createdAt: TODAY - ageDays * DAY_MS,
  });

  it("warns of each token older than security.maxTokenAgeDays, listing its id", async () => {
    const result = await check("OG-CFG-003", {}, { tokens: [token("fresh", 10), token("oldtoken0001", 91)] });
    expect(result).toMatchObject({
      status: "warning",
      evidence: [
        `token oldtoken0001 (oldtoken0001-name, admin) was created ${new Date(TODAY - 91 * DAY_MS).toISOString()}, 91 days ago`,
      ],
    });
    expect(result.recommendation).toMatch(/opsguard token revoke ID/);
  });

  it("follows the configured age, and passes tokens within it", async () => {
    expect(
      (await check("OG-CFG-003", { security: { maxTokenAgeDays: 5 } }, { tokens: [token("a", 10)] })).status,
    ).toBe("warning");
    expect(await check("OG-CFG-003", {}, { tokens: [token("a", 90), token("b", 1)] })).toMatchObject({
      status: "ok",
      evidence: ["2 token(s), none older than security.maxTokenAgeDays (90 days)"],
    });
  });
});

describe("OG-CFG-004, credentials over plain HTTP", () => {
  const webhook = (url: string, tokenFile?: string): ConfigInput => ({
    executor: { type: "webhook", webhook: { url, ...(tokenFile ? { tokenFile } : {}) } },
  });

  it("is critical when the webhook executor's token goes over http to another host", async () => {
    expect(await check("OG-CFG-004", webhook("http://10.0.0.5:9000", "/run/secrets/webhook"))).toMatchObject({
      status: "critical",
      evidence: ["executor.webhook.url sends executor.webhook.tokenFile over plain HTTP to 10.0.0.5"],
    });
  });

  it.each([
    ["https", "https://10.0.0.5:9000", "/run/secrets/webhook"],
    ["loopback", "http://127.0.0.1:9000", "/run/secrets/webhook"],
    ["no token", "http://10.0.0.5:9000", undefined],
  ])("passes the webhook over %s", async (_label, url, tokenFile) => {
    expect((await check("OG-CFG-004", webhook(url, tokenFile))).status).toBe("ok");
  });

  it("is critical for Loki with a token file, traces with OTLP headers, and a REST backup with a password", async () => {
    const result = await check(
      "OG-CFG-004",
      {
        logging: { loki: { url: "http://loki.internal:3100", tokenFile: "/run/secrets/loki" } },
        telemetry: { traces: { endpoint: "http://tempo.internal:4318/v1/traces" } },
        backup: { repository: "rest:http://restic:secret@10.0.0.7:8000/opsguard" },
      },
      { otlpHeadersSecret: true },
    );
    expect(result).toMatchObject({
      status: "critical",
      evidence: [
        "logging.loki.url sends logging.loki.tokenFile over plain HTTP to loki.internal",
        "telemetry.traces.endpoint sends OTEL_EXPORTER_OTLP_HEADERS over plain HTTP to tempo.internal",
        "backup.repository sends a user and password in the URL over plain HTTP to 10.0.0.7",
      ],
    });
  });
});

describe("OG-BAK-001, backups", () => {
  it("warns when backups are off", async () => {
    expect(await check("OG-BAK-001", { backup: { enabled: false } })).toMatchObject({
      status: "warning",
      evidence: ["backup.enabled is false: no scheduled backups"],
    });
    expect(
      (await check("OG-BAK-001", { backup: { enabled: true, schedule: { backup: "off" } } })).evidence,
    ).toEqual(["backup.schedule.backup is off"]);
  });

  it("warns when no backup has succeeded, or the last is older than security.maxBackupAgeHours", async () => {
    const on: ConfigInput = { backup: { enabled: true } };
    expect((await check("OG-BAK-001", on)).evidence).toEqual([
      'no backup has succeeded yet (schedule "17 * * * *")',
    ]);
    const stale = await check("OG-BAK-001", on, { lastBackupAt: TODAY - 4 * HOUR_MS });
    expect(stale).toMatchObject({
      status: "warning",
      evidence: [
        `the last successful backup was taken ${new Date(TODAY - 4 * HOUR_MS).toISOString()}, 4.0 h ago; security.maxBackupAgeHours is 3`,
      ],
    });
    expect(await check("OG-BAK-001", on, { lastBackupAt: TODAY - HOUR_MS })).toMatchObject({ status: "ok" });
  });
});

describe("isLoopback", () => {
  it.each([
    ["127.0.0.1", true],
    ["127.1.2.3", true],
    ["localhost", true],
    ["api.localhost", true],
    ["::1", true],
    ["[::1]", true],
    ["0.0.0.0", false],
    ["::", false],
    ["10.0.0.5", false],
    ["example.com", false],
  ])("%s: %s", (host, loopback) => {
    expect(isLoopback(host)).toBe(loopback);
  });
});
