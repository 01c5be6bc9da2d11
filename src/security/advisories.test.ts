import { once } from "node:events";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { tempDir } from "../../tests/harness.js";
import type { ConfigInput } from "../config/schema.js";
import { checkAdvisories, matchOsv, npmAudit, readOsv, type OsvRecord } from "./advisories.js";
import { fixtureContext, writeAt, writeFixtureApp } from "./app-root.fixture.js";
import type { InstalledPackage } from "./lockfile.js";
import { runChecks } from "./run-checks.js";

const LEFT_PAD: InstalledPackage = {
  key: "node_modules/left-pad-fixture",
  name: "left-pad-fixture",
  version: "1.2.0",
};

/** An OSV record of the npm package `name`, as GitHub exports them. */
function advisory(
  id: string,
  name: string,
  affected: { ranges?: { type: string; events: Record<string, string>[] }[]; versions?: string[] },
  severity = "HIGH",
): OsvRecord {
  return {
    id,
    summary: `${name} does something bad`,
    affected: [{ package: { ecosystem: "npm", name }, ...affected }],
    database_specific: { severity },
  };
}

const semverRange = (...events: Record<string, string>[]) => [{ type: "SEMVER", events }];

describe("matchOsv", () => {
  it.each([
    ["introduced 0, fixed later", semverRange({ introduced: "0" }, { fixed: "1.3.0" }), true],
    ["introduced at the version", semverRange({ introduced: "1.2.0" }, { fixed: "1.3.0" }), true],
    ["fixed at the version", semverRange({ introduced: "0" }, { fixed: "1.2.0" }), false],
    ["introduced after the version", semverRange({ introduced: "1.2.1" }), false],
    ["last_affected at the version", semverRange({ introduced: "1.0.0" }, { last_affected: "1.2.0" }), true],
    ["last_affected before the version", semverRange({ introduced: "0" }, { last_affected: "1.1.9" }), false],
    [
      "the second of two ranges in one",
      semverRange({ introduced: "0" }, { fixed: "1.0.0" }, { introduced: "1.1.0" }, { fixed: "1.2.5" }),
      true,
    ],
    [
      "between two ranges in one",
      semverRange({ introduced: "0" }, { fixed: "1.0.0" }, { introduced: "1.3.0" }, { fixed: "1.4.0" }),
      false,
    ],
    ["an ECOSYSTEM range", [{ type: "ECOSYSTEM", events: [{ introduced: "0" }, { fixed: "2.0.0" }] }], true],
    [
      "a GIT range, which versions cannot be compared with",
      [{ type: "GIT", events: [{ introduced: "0" }] }],
      false,
    ],
  ])("%s: %s", (_label, ranges, hit) => {
    const found = matchOsv(
      [advisory("GHSA-test-test-test", "left-pad-fixture", { ranges })],
      [LEFT_PAD],
      "file",
    );
    expect(found.length).toBe(hit ? 1 : 0);
  });

  it("matches an enumerated version, and names the advisory, package, version, severity and source", () => {
    const records = [
      advisory("GHSA-aaaa-bbbb-cccc", "@acme/widget", { versions: ["0.3.0", "0.3.1"] }, "MODERATE"),
      advisory("GHSA-dddd-eeee-ffff", "left-pad-fixture", { versions: ["1.1.0"] }),
    ];
    const widget = { key: "node_modules/@acme/widget", name: "@acme/widget", version: "0.3.1" };
    expect(matchOsv(records, [LEFT_PAD, widget], "osv.json")).toEqual([
      {
        id: "GHSA-aaaa-bbbb-cccc",
        package: "@acme/widget",
        version: "0.3.1",
        severity: "warning",
        summary: "@acme/widget does something bad",
        source: "osv.json",
      },
    ]);
  });

  it("ignores other ecosystems and versions that are not semver", () => {
    const pypi: OsvRecord = {
      id: "PYSEC-1",
      affected: [{ package: { ecosystem: "PyPI", name: "left-pad-fixture" }, versions: ["1.2.0"] }],
    };
    const odd = { ...LEFT_PAD, version: "latest" };
    const any = advisory("GHSA-x", "left-pad-fixture", { ranges: semverRange({ introduced: "0" }) });
    expect(matchOsv([pypi, any], [odd], "file")).toEqual([]);
  });
});

describe("readOsv", () => {
  let dir: string;
  beforeAll(() => {
    dir = tempDir("opsguard-osv-");
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("reads one record, an array of them, an osv.dev answer, or a folder of those", () => {
    const one = advisory("GHSA-1", "a", { versions: ["1.0.0"] });
    const two = advisory("GHSA-2", "b", { versions: ["1.0.0"] });
    const three = advisory("GHSA-3", "c", { versions: ["1.0.0"] });
    writeAt(dir, "db/1.json", one);
    writeAt(dir, "db/2.json", [two]);
    writeAt(dir, "db/3.json", { vulns: [three] });
    writeAt(dir, "db/README.md", "not read");
    expect(readOsv(join(dir, "db/1.json")).map((r) => r.id)).toEqual(["GHSA-1"]);
    expect(readOsv(join(dir, "db")).map((r) => r.id)).toEqual(["GHSA-1", "GHSA-2", "GHSA-3"]);
  });

  it("refuses a file that is not JSON, or a record without an id, naming the file", () => {
    const bad = writeAt(dir, "bad.json", "{");
    expect(() => readOsv(bad)).toThrow(`${bad}: not JSON`);
    const anonymous = writeAt(dir, "anonymous.json", [{ summary: "no id" }]);
    expect(() => readOsv(anonymous)).toThrow(`${anonymous}: an OSV record without an "id"`);
  });
});

/** A registry on loopback that answers npm's bulk advisory endpoint, and records what npm asked. */
async function startFakeRegistry(answer: Record<string, unknown[]>): Promise<{
  server: Server;
  url: string;
  requests: { method: string; url: string; body: unknown }[];
}> {
  const requests: { method: string; url: string; body: unknown }[] = [];
  const readBody = async (req: IncomingMessage): Promise<unknown> => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    if (chunks.length === 0) return undefined;
    const raw = Buffer.concat(chunks);
    // npm gzips the body of its bulk request.
    const text = (req.headers["content-encoding"] === "gzip" ? gunzipSync(raw) : raw).toString();
    return JSON.parse(text) as unknown;
  };
  const server = createServer((req, res) => {
    void readBody(req).then((body) => {
      requests.push({ method: req.method!, url: req.url!, body });
      if (req.method === "POST" && req.url === "/-/npm/v1/security/advisories/bulk") {
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify(answer));
      } else {
        // Packuments (which npm reads to say whether a fix is available): not known here.
        res.writeHead(404, { "content-type": "application/json" });
        res.end('{"error":"Not found"}');
      }
    });
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as AddressInfo;
  return { server, url: `http://127.0.0.1:${port}/`, requests };
}

/** A loopback port that nothing listens on: bound, then closed. */
async function closedPort(): Promise<number> {
  const server = createServer();
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as AddressInfo;
  server.close();
  await once(server, "close");
  return port;
}

describe("OG-DEP-002 on a fixture application", () => {
  let dir: string;
  let appRoot: string;
  let server: Server | undefined;
  beforeAll(() => {
    dir = tempDir("opsguard-advisories-");
    appRoot = writeFixtureApp(join(dir, "app"));
  });
  afterEach(() => {
    server?.close();
    server = undefined;
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const check = async (config: ConfigInput) => {
    const context = fixtureContext({ dataDir: join(dir, "data"), appRoot, config });
    const [result] = await runChecks(context, ["OG-DEP-002"]);
    return result!;
  };

  it("finds an installed version that an OSV advisory in the advisories file names", async () => {
    const file = writeAt(dir, "osv-hit.json", [
      advisory("GHSA-vvvv-wwww-xxxx", "left-pad-fixture", {
        ranges: semverRange({ introduced: "0" }, { fixed: "1.2.1" }),
      }),
    ]);
    const result = await check({ security: { advisoriesFile: file } });
    expect(result).toMatchObject({
      status: "critical",
      evidence: [
        `GHSA-vvvv-wwww-xxxx: left-pad-fixture@1.2.0 (critical, ${file}) left-pad-fixture does something bad`,
        `checked: 2 installed packages against 1 OSV advisories in ${file}`,
      ],
    });
    expect(result.recommendation).toMatch(/npm audit fix/);
  });

  it("passes when no advisory's range holds the installed version", async () => {
    const file = writeAt(dir, "osv-miss.json", {
      vulns: [
        advisory("GHSA-miss-miss-miss", "left-pad-fixture", {
          ranges: semverRange({ introduced: "0" }, { fixed: "1.1.0" }),
        }),
      ],
    });
    expect(await check({ security: { advisoriesFile: file } })).toMatchObject({
      status: "ok",
      evidence: [`checked: 2 installed packages against 1 OSV advisories in ${file}`],
    });
  });

  it("is unavailable, never ok, when no source is configured", async () => {
    expect(await check({})).toMatchObject({
      status: "unavailable",
      reason: "no advisory source is configured (security.advisoriesFile, security.npmAudit.enabled)",
    });
  });

  it("is unavailable when the advisories file is missing or broken", async () => {
    const missing = join(dir, "nowhere.json");
    expect(await check({ security: { advisoriesFile: missing } })).toMatchObject({
      status: "unavailable",
      reason: `no advisory source answered: OSV advisories: ${missing} does not exist`,
    });
    const broken = writeAt(dir, "broken.json", "[");
    expect((await check({ security: { advisoriesFile: broken } })).reason).toContain(`${broken}: not JSON`);
  });

  it("is unavailable, not ok, when npm audit cannot reach its registry and there is no file", async () => {
    const port = await closedPort();
    const result = await check({
      security: { npmAudit: { enabled: true, registry: `http://127.0.0.1:${port}/`, timeoutMs: 20_000 } },
    });
    expect(result.status).toBe("unavailable");
    expect(result.reason).toMatch(/^no advisory source answered: npm audit: .*ECONNREFUSED 127\.0\.0\.1/);
  });

  it("says which source could not be consulted when another one answered", async () => {
    const port = await closedPort();
    const file = writeAt(dir, "osv-empty.json", []);
    const result = await check({
      security: {
        advisoriesFile: file,
        npmAudit: { enabled: true, registry: `http://127.0.0.1:${port}/`, timeoutMs: 20_000 },
      },
    });
    expect(result.status).toBe("ok");
    expect(result.evidence).toEqual([
      `checked: 2 installed packages against 0 OSV advisories in ${file}`,
      expect.stringMatching(/^not checked: npm audit: .*ECONNREFUSED/),
    ]);
  });

  it("finds what npm audit finds, asking a registry on loopback for the production packages", async () => {
    const registry = await startFakeRegistry({
      "left-pad-fixture": [
        {
          id: 1234,
          url: "https://github.com/advisories/GHSA-xxxx-yyyy-zzzz",
          title: "Prototype pollution in left-pad-fixture",
          severity: "high",
          vulnerable_versions: "<2.0.0",
          cwe: [],
          cvss: { score: 0, vectorString: null },
        },
      ],
    });
    server = registry.server;
    const result = await check({
      security: { npmAudit: { enabled: true, registry: registry.url, timeoutMs: 20_000 } },
    });
    expect(result.status).toBe("critical");
    expect(result.evidence[0]).toMatch(
      /^GHSA-xxxx-yyyy-zzzz: left-pad-fixture@\S* \(critical, npm audit\) Prototype pollution in left-pad-fixture$/,
    );
    expect(result.evidence.at(-1)).toBe("checked: npm audit of the production dependencies");
    // npm sent the installed production versions, and nothing of the development package.
    const bulk = registry.requests.find((r) => r.url === "/-/npm/v1/security/advisories/bulk");
    expect(bulk?.body).toEqual({ "left-pad-fixture": ["1.2.0"], "@acme/widget": ["0.3.1"] });
  });

  it("passes when npm audit's registry knows no advisory", async () => {
    const registry = await startFakeRegistry({});
    server = registry.server;
    expect(
      await check({ security: { npmAudit: { enabled: true, registry: registry.url, timeoutMs: 20_000 } } }),
    ).toMatchObject({ status: "ok", evidence: ["checked: npm audit of the production dependencies"] });
  });
});

describe("npmAudit", () => {
  it("is unavailable when npm cannot be run", async () => {
    const audit = await npmAudit(process.cwd(), { timeoutMs: 5_000, npm: "/nonexistent/npm" });
    expect(audit).toEqual({ unavailable: expect.stringMatching(/^npm audit could not run: /) });
  });

  it("is unavailable when npm answers something other than JSON", async () => {
    const audit = await npmAudit(process.cwd(), { timeoutMs: 5_000, npm: "echo" });
    expect(audit).toEqual({
      unavailable: expect.stringMatching(/^npm audit did not answer with JSON: audit --json/),
    });
  });
});

describe("checkAdvisories", () => {
  it("is warning, not critical, when every advisory found is moderate or low", async () => {
    const dir = tempDir("opsguard-advisories-");
    try {
      const file = writeAt(dir, "osv.json", [
        advisory("GHSA-low", "left-pad-fixture", { versions: ["1.2.0"] }, "LOW"),
      ]);
      expect(await checkAdvisories(dir, [LEFT_PAD], { osvPath: file })).toMatchObject({
        status: "warning",
        evidence: [
          `GHSA-low: left-pad-fixture@1.2.0 (warning, ${file}) left-pad-fixture does something bad`,
          expect.any(String),
        ],
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
