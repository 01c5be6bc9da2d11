import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import { loadConfig } from "../../src/config/load.js";
import { isLogqlMetricQuery, parseLogql, syntaxErrors } from "./query-syntax.js";
import { LOKI_RULES_DIR, lokiAlertRules } from "./rule-files.js";
import { readYaml, REPO, requireTool } from "./tools.js";

interface ComposeService {
  image?: string;
  build?: unknown;
  command?: string[];
  environment?: Record<string, string | null>;
  volumes?: (string | { type: string; source: string; target: string })[];
  healthcheck?: { test?: string[] | string };
  profiles?: string[];
}

interface ComposeFile {
  services: Record<string, ComposeService>;
  volumes?: Record<string, unknown>;
}

interface Mount {
  source: string;
  target: string;
}

const SERVICES = [
  "opsguard",
  "opsguard-demo",
  "alert-receiver",
  "prometheus",
  "alertmanager",
  "grafana",
  "loki",
  "tempo",
];

/** `docker-compose … config`, failing loudly if docker-compose is missing or rejects the file. */
function composeConfig(...extra: string[]): ComposeFile {
  const result = spawnSync(requireTool("docker-compose"), ["-f", "docker-compose.yml", ...extra, "config"], {
    cwd: REPO,
    encoding: "utf8",
    // Resolve ${VAR:-default} from the defaults, not from whatever this shell exports.
    env: { PATH: process.env.PATH ?? "" },
  });
  expect(result.stderr, "docker-compose config stderr").not.toMatch(/ERROR|invalid/i);
  expect(result.status, result.stderr).toBe(0);
  return parseYaml(result.stdout) as ComposeFile;
}

/** Bind mounts of a service, with host paths (absolute in `config` output). */
function bindMounts(service: ComposeService): Mount[] {
  return (service.volumes ?? []).flatMap((volume) => {
    if (typeof volume !== "string")
      return volume.type === "bind" ? [{ source: volume.source, target: volume.target }] : [];
    const [source = "", target = ""] = volume.split(":");
    return source.startsWith("/") ? [{ source, target }] : [];
  });
}

/** The host file behind a path inside a container, through the service's bind mounts. */
function hostPath(service: ComposeService, containerPath: string): string | undefined {
  for (const { source, target } of bindMounts(service)) {
    if (containerPath === target) return source;
    if (containerPath.startsWith(`${target}/`)) return join(source, containerPath.slice(target.length + 1));
  }
  return undefined;
}

describe("docker-compose.yml", () => {
  let compose: ComposeFile;
  let demo: ComposeFile;
  beforeAll(() => {
    compose = composeConfig();
    demo = composeConfig("--profile", "demo");
  });

  it("is valid for docker-compose, with and without the demo profile", () => {
    expect(Object.keys(compose.services).sort()).toEqual([...SERVICES].sort());
    expect(Object.keys(demo.services).sort()).toEqual([...SERVICES].sort());
    const demoService = demo.services["opsguard-demo"]!;
    expect(demoService.profiles).toEqual(["demo"]);
    expect(demoService.command).toEqual(["demo"]);
    expect(compose.services.opsguard?.profiles).toBeUndefined();
  });

  it("mounts only files and folders that exist in the repository", () => {
    let mounts = 0;
    for (const [name, service] of Object.entries(compose.services)) {
      for (const { source } of bindMounts(service)) {
        mounts++;
        const path = relative(REPO, source);
        expect(path.startsWith(".."), `${name} mounts ${source}, outside the repository`).toBe(false);
        expect(existsSync(source), `${name} mounts ${path}, which does not exist`).toBe(true);
      }
    }
    expect(mounts).toBeGreaterThanOrEqual(7);
  });

  it("points every config flag at a file a bind mount provides", () => {
    const flags: [service: string, path: string][] = [];
    for (const [name, service] of Object.entries(compose.services)) {
      for (const arg of service.command ?? []) {
        const file = /^--?config\.file=(.+)$/.exec(arg)?.[1];
        if (file) flags.push([name, file]);
      }
    }
    expect(flags.map(([name]) => name).sort()).toEqual(["alertmanager", "loki", "prometheus", "tempo"]);
    for (const [name, file] of flags) {
      const host = hostPath(compose.services[name]!, file);
      expect(host, `${name}: ${file} is not on a bind mount`).toBeTruthy();
      expect(
        existsSync(host!) && statSync(host!).isFile(),
        `${name}: ${relative(REPO, host!)} is missing`,
      ).toBe(true);
    }
    const grafana = compose.services.grafana!;
    const home = grafana.environment?.GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH ?? "";
    expect(existsSync(hostPath(grafana, home) ?? ""), `Grafana home dashboard ${home}`).toBe(true);
  });

  it("mounts the dashboards where the Grafana provider loads them, and the provisioning where Grafana reads it", () => {
    const grafana = compose.services.grafana!;
    const provider = readYaml<{ providers: { folder: string; options: { path: string } }[] }>(
      "grafana/provisioning/dashboards/dashboards.yml",
    ).providers;
    expect(provider).toHaveLength(1);
    expect(provider[0]?.folder).toBe("opsguard");
    expect(hostPath(grafana, provider[0]!.options.path)).toBe(join(REPO, "grafana/dashboards"));
    expect(hostPath(grafana, "/etc/grafana/provisioning/datasources/datasources.yml")).toBe(
      join(REPO, "grafana/provisioning/datasources/datasources.yml"),
    );
  });

  it("pins every image, builds opsguard from the Dockerfile, and gives every service a health check", () => {
    for (const [name, service] of Object.entries(compose.services)) {
      expect(service.healthcheck?.test, `${name} health check`).toBeTruthy();
      if (name.startsWith("opsguard") || name === "alert-receiver") {
        expect(service.build, name).toBeTruthy();
        continue;
      }
      expect(service.image, name).toMatch(/^[\w./-]+:v?\d+\.\d+\.\d+$/);
    }
    const declared = Object.keys(compose.volumes ?? {});
    for (const service of Object.values(compose.services)) {
      for (const volume of service.volumes ?? []) {
        const source = typeof volume === "string" ? volume.split(":")[0]! : volume.source;
        if (!source.startsWith("/")) expect(declared, `named volume ${source}`).toContain(source);
      }
    }
  });

  it("keeps exemplars and accepts Tempo's remote writes in Prometheus", () => {
    const command = compose.services.prometheus!.command ?? [];
    expect(command).toContain("--enable-feature=exemplar-storage");
    expect(command).toContain("--web.enable-remote-write-receiver");
  });

  it("configures opsguard with environment variables that are all real config keys", () => {
    for (const name of ["opsguard", "opsguard-demo"]) {
      const environment = Object.fromEntries(
        Object.entries(demo.services[name]!.environment ?? {}).map(([k, v]) => [k, v ?? ""]),
      );
      // loadConfig rejects an OPSGUARD_* variable that is not a key, listing every problem.
      const { config } = loadConfig({ env: environment });
      expect(config.server.host, name).toBe("0.0.0.0");
      expect(config.dataDir, name).toBe("/data");
      expect(config.logging.loki.url, name).toBe("http://loki:3100");
      expect(config.telemetry.traces.endpoint, name).toBe("http://tempo:4318/v1/traces");
    }
    expect(demo.services["opsguard-demo"]!.environment?.OPSGUARD_ENV).toBe("demo");
  });
});

describe("alert delivery out of the box", () => {
  it("points every Alertmanager webhook at the stack's receiver, which logs to Loki", () => {
    const compose = composeConfig();
    const receiver = compose.services["alert-receiver"]!;
    const command = receiver.command ?? [];
    expect(command.slice(0, 1)).toEqual(["alert-receiver"]);
    const port = command[command.indexOf("--port") + 1];
    expect(port).toMatch(/^\d+$/);
    const alertmanager = readYaml<{ receivers: { name: string; webhook_configs?: { url: string }[] }[] }>(
      join(REPO, "alertmanager", "alertmanager.yml"),
    );
    for (const { name, webhook_configs: webhooks = [] } of alertmanager.receivers) {
      expect(
        webhooks.map((w) => w.url),
        name,
      ).toEqual([`http://alert-receiver:${port}/${name}`]);
    }
    const environment = Object.fromEntries(
      Object.entries(receiver.environment ?? {}).map(([k, v]) => [k, v ?? ""]),
    );
    expect(loadConfig({ env: environment }).config.logging.loki.url).toBe("http://loki:3100");
  });
});

describe("Dockerfile", () => {
  const dockerfile = readFileSync(join(REPO, "Dockerfile"), "utf8");

  it("builds in one node:24-bookworm-slim stage and runs in another, as a non-root user", () => {
    const stages = [...dockerfile.matchAll(/^FROM (\S+)/gm)].map((m) => m[1]);
    expect(stages).toEqual(["node:24-bookworm-slim", "node:24-bookworm-slim"]);
    expect(dockerfile).toMatch(/^RUN npm ci\b/m);
    expect(dockerfile).toMatch(/^USER node$/m);
    expect(dockerfile).toMatch(/OPSGUARD_SERVER_HOST=0\.0\.0\.0/);
    expect(dockerfile).toMatch(/^HEALTHCHECK .*\n?.*\/readyz/m);
    // COPY sources must exist (the build context is the repository, minus .dockerignore).
    for (const [, sources] of dockerfile.matchAll(/^COPY (?!--from)(.+) \S+$/gm)) {
      for (const source of sources!.split(" ")) expect(existsSync(join(REPO, source)), source).toBe(true);
    }
    const ignored = readFileSync(join(REPO, ".dockerignore"), "utf8").split("\n");
    for (const needed of ["src", "package.json", "package-lock.json", "tsconfig.json"]) {
      expect(ignored, needed).not.toContain(needed);
    }
  });
});

describe("Loki", () => {
  interface LokiConfig {
    auth_enabled: boolean;
    schema_config: { configs: { store: string; schema: string; object_store: string }[] };
    ruler: {
      alertmanager_url: string;
      enable_alertmanager_v2: boolean;
      storage: { type: string; local: { directory: string } };
    };
  }
  const config = readYaml<LokiConfig>("loki/loki.yml");

  it("runs as one tenant on filesystem storage with a TSDB v13 schema, and notifies Alertmanager", () => {
    expect(config.auth_enabled).toBe(false);
    expect(config.schema_config.configs.at(-1)).toMatchObject({
      store: "tsdb",
      schema: "v13",
      object_store: "filesystem",
    });
    expect(config.ruler).toMatchObject({
      alertmanager_url: "http://alertmanager:9093",
      enable_alertmanager_v2: true,
      storage: { type: "local" },
    });
  });

  it("loads alert rules from the tenant folder the compose file mounts", () => {
    const loki = readYaml<ComposeFile>("docker-compose.yml");
    const mounted = (loki.services.loki?.volumes ?? []).find(
      (v) => typeof v === "string" && v.split(":")[1] === config.ruler.storage.local.directory,
    );
    expect(mounted, "the ruler's rule directory is a bind mount").toBeTruthy();
    // Without auth, Loki's only tenant is "fake"; rules elsewhere are silently ignored.
    expect(readdirSync(LOKI_RULES_DIR)).toEqual(["fake"]);
    expect(existsSync(join(LOKI_RULES_DIR, "fake", "opsguard.yml"))).toBe(true);
  });

  it("has log alert rules that parse as LogQL metric queries", () => {
    // Their labels, annotations and runbook sections are checked with the Prometheus alerts
    // (rules.test.ts): both go to the same Alertmanager.
    const rules = lokiAlertRules();
    expect(rules.length).toBeGreaterThanOrEqual(2);
    for (const rule of rules) {
      const expr = rule.expr.trim();
      expect(syntaxErrors(parseLogql(expr), expr), rule.alert).toEqual([]);
      expect(isLogqlMetricQuery(expr), `${rule.alert} must be a metric query`).toBe(true);
    }
  });
});

describe("Tempo", () => {
  interface TempoConfig {
    distributor: {
      receivers: { otlp: { protocols: { http: { endpoint: string }; grpc: { endpoint: string } } } };
    };
    metrics_generator: { storage: { remote_write: { url: string }[] } };
    storage: { trace: { backend: string } };
    overrides: { defaults: { metrics_generator: { processors: string[] } } };
  }
  const config = readYaml<TempoConfig>("tempo/tempo.yml");

  it("receives OTLP on 4318 (HTTP) and 4317 (gRPC) from other containers", () => {
    const { http, grpc } = config.distributor.receivers.otlp.protocols;
    expect(http.endpoint).toBe("0.0.0.0:4318");
    expect(grpc.endpoint).toBe("0.0.0.0:4317");
    expect(config.storage.trace.backend).toBe("local");
  });

  it("writes span metrics and the service graph to Prometheus", () => {
    expect(config.metrics_generator.storage.remote_write).toEqual([
      expect.objectContaining({ url: "http://prometheus:9090/api/v1/write" }),
    ]);
    expect(config.overrides.defaults.metrics_generator.processors).toEqual(
      expect.arrayContaining(["service-graphs", "span-metrics"]),
    );
  });
});
