import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { tempDir } from "../../../tests/harness.js";
import { Config, type ConfigInput } from "../../config/schema.js";
import { StartupError } from "../../platform/errors.js";
import { readWebhookSecrets } from "./secrets.js";

type EndpointInput = NonNullable<NonNullable<ConfigInput["webhooks"]>["endpoints"]>[number];
const URL = "https://hooks.example.com/opsguard";

/** The problems of a config with these endpoints, as `loadConfig` prints them. */
function problems(endpoints: EndpointInput[], webhooks: Record<string, unknown> = {}): string[] {
  const result = Config.safeParse({ webhooks: { endpoints, ...webhooks } });
  return result.success ? [] : result.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`);
}

describe("webhooks config", () => {
  it("has no endpoints by default, and the documented settings", () => {
    expect(Config.parse({}).webhooks).toEqual({
      endpoints: [],
      timeoutMs: 5_000,
      maxBatchEvents: 500,
      retry: { initialMs: 1_000, maxMs: 300_000 },
    });
  });

  it("takes an endpoint with filters and a secret file", () => {
    const endpoint = {
      name: "ledger-sync",
      url: URL,
      kinds: ["operation.closed" as const],
      strategies: ["mean-revert"],
      instruments: ["ETH-USD"],
      secretFile: "/run/secrets/ledger-sync",
    };
    expect(problems([endpoint])).toEqual([]);
    expect(Config.parse({ webhooks: { endpoints: [endpoint] } }).webhooks.endpoints).toEqual([endpoint]);
  });

  it("requires exactly one of secretFile and secretEnv, naming the key", () => {
    const message = "set exactly one of secretFile and secretEnv: where the signing secret is read from";
    expect(problems([{ name: "a", url: URL }])).toEqual([`webhooks.endpoints.0.secretFile: ${message}`]);
    expect(problems([{ name: "a", url: URL, secretFile: "/s", secretEnv: "HOOK_SECRET" }])).toEqual([
      `webhooks.endpoints.0.secretFile: ${message}`,
    ]);
  });

  it("refuses duplicate names, bad URLs, unknown kinds, undeclared strategies and OPSGUARD_ variables", () => {
    expect(
      problems([
        { name: "dup", url: URL, secretEnv: "A" },
        { name: "dup", url: URL, secretEnv: "B" },
      ]),
    ).toEqual(['webhooks.endpoints.1.name: endpoint names must be unique: "dup" is used twice']);
    expect(problems([{ name: "a", url: "ftp://example.com", secretEnv: "A" }])).toEqual([
      "webhooks.endpoints.0.url: an http:// or https:// URL",
    ]);
    expect(
      problems([{ name: "a", url: URL, secretEnv: "A", kinds: ["operation.deleted" as never] }]),
    ).toEqual([expect.stringMatching(/^webhooks\.endpoints\.0\.kinds\.0: /)]);
    expect(
      problems([{ name: "a", url: URL, secretEnv: "A", strategies: ["nope"], instruments: ["DOGE"] }]),
    ).toEqual([
      "webhooks.endpoints.0.strategies: not declared in strategies: nope",
      "webhooks.endpoints.0.instruments: not declared in instruments: DOGE",
    ]);
    expect(problems([{ name: "a", url: URL, secretEnv: "OPSGUARD_HOOK_SECRET" }])).toEqual([
      "webhooks.endpoints.0.secretEnv: OPSGUARD_* variables are configuration keys; hold the secret in a variable of another name",
    ]);
    expect(problems([], { retry: { initialMs: 5_000, maxMs: 1_000 } })).toEqual([
      "webhooks.retry.maxMs: must be at least retry.initialMs",
    ]);
    expect(problems([], { maxBatchEvents: 0 })).toHaveLength(1);
  });
});

describe("readWebhookSecrets", () => {
  let dir: string;
  beforeEach(() => {
    dir = tempDir("opsguard-webhook-secrets-");
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));
  const endpoints = (...list: Omit<EndpointInput, "url">[]) =>
    Config.parse({ webhooks: { endpoints: list.map((e) => ({ url: URL, ...e })) } }).webhooks.endpoints;

  it("reads a file's content trimmed, or a variable of the environment given", () => {
    const file = join(dir, "a.secret");
    writeFileSync(file, "  whsec_from_file\n");
    const secrets = readWebhookSecrets(
      endpoints({ name: "a", secretFile: file }, { name: "b", secretEnv: "HOOK_B" }),
      { HOOK_B: "whsec_from_env" },
    );
    expect([...secrets]).toEqual([
      ["a", "whsec_from_file"],
      ["b", "whsec_from_env"],
    ]);
  });

  it("refuses to start on an empty or missing file or an unset variable, naming the key", () => {
    const empty = join(dir, "empty.secret");
    writeFileSync(empty, "\n");
    const cases: [ReturnType<typeof endpoints>, string][] = [
      [endpoints({ name: "a", secretFile: empty }), `webhooks.endpoints.0.secretFile: ${empty} is empty`],
      [
        endpoints({ name: "a", secretEnv: "A" }, { name: "b", secretFile: join(dir, "missing") }),
        `webhooks.endpoints.1.secretFile: cannot read ${join(dir, "missing")} (ENOENT)`,
      ],
      [
        endpoints({ name: "a", secretEnv: "UNSET_HOOK" }),
        "webhooks.endpoints.0.secretEnv: the variable UNSET_HOOK",
      ],
    ];
    for (const [list, message] of cases) {
      let thrown: unknown;
      try {
        readWebhookSecrets(list, { A: "whsec_a", UNSET_HOOK: "  " });
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toBeInstanceOf(StartupError);
      expect((thrown as Error).message).toContain(message);
    }
  });
});
