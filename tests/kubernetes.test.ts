import { execFileSync } from "node:child_process";
import { accessSync, constants, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { delimiter, join, posix } from "node:path";
import { StatefulSet, type IStatefulSet } from "kubernetes-models/apps/v1";
import { PodDisruptionBudget, type IPodDisruptionBudget } from "kubernetes-models/policy/v1";
import {
  ConfigMap,
  Service,
  type IConfigMap,
  type IContainer,
  type IPodSpec,
  type IService,
} from "kubernetes-models/v1";
import {
  PodMonitor,
  PrometheusRule,
  type IPodMonitor,
  type IPrometheusRule,
} from "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1";
import { beforeEach, describe, expect, it } from "vitest";
import { parse, parseAllDocuments } from "yaml";
import { ConfigError, loadConfig } from "../src/config/load.js";
import { backupSettings } from "../src/maintenance/settings.js";
import { DASHBOARDS_DIR, renderMonitoring, REPO, RULE_FILES } from "../deploy/kubernetes/src/render.js";
import { makeTempDir, runTool } from "./stack/tools.js";

const KUBERNETES_DIR = join(REPO, "deploy/kubernetes");
const OVERLAYS_DIR = join(KUBERNETES_DIR, "overlays");
const OVERLAYS = readdirSync(OVERLAYS_DIR).sort();
const GUIDE = readFileSync(join(REPO, "docs/kubernetes.md"), "utf8");
const VERSION = (JSON.parse(readFileSync(join(REPO, "package.json"), "utf8")) as { version: string }).version;

/** The Secrets the user creates (docs/kubernetes.md#secrets), and the keys each may hold. */
const USER_SECRETS: Record<string, string[]> = {
  "opsguard-backup": ["password", "environment"],
  "opsguard-global-limits": ["url"],
};
/** The init container copies each Secret it mounts at SECRETS_IN/<name>/ to SECRETS_DIR/<name>/. */
const SECRETS_IN = "/secrets-in";
const SECRETS_DIR = "/run/secrets/opsguard";
/** The image's `node` user (Dockerfile). */
const NODE_UID = 1000;

interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
}

/** The schema of each kind the overlays may render. */
const MODELS: Record<string, new (data: never) => { validate(): void }> = {
  "apps/v1 StatefulSet": StatefulSet,
  "v1 Service": Service,
  "v1 ConfigMap": ConfigMap,
  "policy/v1 PodDisruptionBudget": PodDisruptionBudget,
  "monitoring.coreos.com/v1 PodMonitor": PodMonitor,
  "monitoring.coreos.com/v1 PrometheusRule": PrometheusRule,
};

/** kubectl, for its kustomize. The tests fail without it: .ci/run installs a pinned one. */
function kubectl(): string {
  for (const dir of (process.env.PATH ?? "").split(delimiter)) {
    if (!dir) continue;
    try {
      accessSync(join(dir, "kubectl"), constants.X_OK);
      return join(dir, "kubectl");
    } catch {
      // not in this directory
    }
  }
  throw new Error("kubectl is not installed: .ci/run installs a pinned one (see its kubectl block)");
}

/** Every object `kubectl kustomize` renders for an overlay. */
function render(overlay: string): KubeObject[] {
  const output = execFileSync(kubectl(), ["kustomize", join(OVERLAYS_DIR, overlay)], {
    encoding: "utf8",
    maxBuffer: 64 * 1024 * 1024,
  });
  return parseAllDocuments(output).map((doc) => {
    if (doc.errors.length > 0) throw doc.errors[0]!;
    return doc.toJS() as KubeObject;
  });
}

function validateSchema(object: KubeObject): void {
  const Model = MODELS[`${object.apiVersion} ${object.kind}`];
  if (!Model) throw new Error(`${object.kind} ${object.metadata.name}: no schema to check it against`);
  new Model(object as never).validate();
}

function ofKind<T>(objects: KubeObject[], kind: string): (KubeObject & T)[] {
  return objects.filter((object) => object.kind === kind) as (KubeObject & T)[];
}

/** The one object of a kind and name, failing when there is none or more. */
function one<T>(objects: KubeObject[], kind: string, name: string): KubeObject & T {
  const found = objects.filter((object) => object.kind === kind && object.metadata.name === name);
  expect(
    found.map((object) => object.metadata.name),
    `${kind} ${name}`,
  ).toEqual([name]);
  return found[0] as KubeObject & T;
}

function podSpec(statefulSet: IStatefulSet): IPodSpec {
  return statefulSet.spec!.template.spec!;
}

function mainContainer(statefulSet: IStatefulSet): IContainer {
  return podSpec(statefulSet).containers.find((container) => container.name === "opsguard")!;
}

/** Whether every key of `selector` is in `labels` with the same value. */
function selects(
  selector: Record<string, string> | undefined,
  labels: Record<string, string> | undefined,
): boolean {
  const wanted = Object.entries(selector ?? {});
  return wanted.length > 0 && wanted.every(([key, value]) => labels?.[key] === value);
}

/** The environment the image itself sets (the runtime stage of the Dockerfile). */
function imageEnv(): Record<string, string> {
  const dockerfile = readFileSync(join(REPO, "Dockerfile"), "utf8").replace(/\\\n/g, " ");
  const runtime = dockerfile.slice(dockerfile.lastIndexOf("\nFROM "));
  const env: Record<string, string> = {};
  for (const [, pairs] of runtime.matchAll(/^ENV\s+(.+)$/gm)) {
    for (const pair of pairs!.trim().split(/\s+/)) {
      const at = pair.indexOf("=");
      env[pair.slice(0, at)] = pair.slice(at + 1);
    }
  }
  return env;
}

/**
 * The variables Kubernetes adds for each Service of the namespace unless the pod says
 * `enableServiceLinks: false` (https://kubernetes.io/docs/concepts/services-networking/service/#environment-variables).
 */
function serviceLinks(services: IService[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const service of services) {
    const name = service.metadata!.name!.toUpperCase().replace(/-/g, "_");
    const port = service.spec!.ports![0]!.port;
    env[`${name}_SERVICE_HOST`] = "10.96.0.10";
    env[`${name}_SERVICE_PORT`] = String(port);
    env[`${name}_PORT`] = `tcp://10.96.0.10:${port}`;
    env[`${name}_PORT_${port}_TCP`] = `tcp://10.96.0.10:${port}`;
  }
  return env;
}

/** The environment of a container as the kubelet would build it (ConfigMaps from the render). */
function containerEnv(
  statefulSet: IStatefulSet,
  objects: KubeObject[],
  links: boolean,
): Record<string, string> {
  const container = mainContainer(statefulSet);
  const labels = statefulSet.spec!.template.metadata!.labels!;
  const env: Record<string, string> = { ...imageEnv() };
  if (links) Object.assign(env, serviceLinks(ofKind<IService>(objects, "Service")));
  for (const source of container.envFrom ?? []) {
    expect(source.secretRef, "secrets come in as files, not variables").toBeUndefined();
    const configMap = one<IConfigMap>(objects, "ConfigMap", source.configMapRef!.name!);
    Object.assign(env, configMap.data);
  }
  for (const variable of container.env ?? []) {
    const path = variable.valueFrom?.fieldRef?.fieldPath;
    if (variable.value !== undefined) env[variable.name] = variable.value;
    else if (path) env[variable.name] = labels[/^metadata\.labels\['(.+)'\]$/.exec(path)![1]!]!;
    else throw new Error(`${variable.name}: a source this test does not know`);
  }
  return env;
}

/** Loads the account's config file with the pod's environment, as `serve` would in the pod. */
function loadAccountConfig(statefulSet: IStatefulSet, objects: KubeObject[], links = false) {
  const volume = podSpec(statefulSet).volumes!.find((v) => v.name === "config")!;
  const configMap = one<IConfigMap>(objects, "ConfigMap", volume.configMap!.name!);
  const dir = makeTempDir("opsguard-kubernetes-");
  try {
    const path = join(dir.path, "opsguard.yaml");
    writeFileSync(path, configMap.data!["opsguard.yaml"]!);
    const env = containerEnv(statefulSet, objects, links);
    return { ...loadConfig({ path, env }), env };
  } finally {
    dir.remove();
  }
}

/** The files the init container leaves in SECRETS_DIR: `<folder>/<key>` for each Secret it mounts. */
function copiedSecretFiles(statefulSet: IStatefulSet): string[] {
  const spec = podSpec(statefulSet);
  const init = spec.initContainers!.find((container) => container.name === "secrets")!;
  return init.volumeMounts!.flatMap((mount) => {
    const volume = spec.volumes!.find((v) => v.name === mount.name)!;
    if (!volume.secret) return [];
    expect(posix.dirname(mount.mountPath)).toBe(SECRETS_IN);
    const keys =
      volume.secret.items?.map((item) => item.path) ?? USER_SECRETS[volume.secret.secretName!] ?? [];
    return keys.map((key) => posix.join(SECRETS_DIR, posix.basename(mount.mountPath), key));
  });
}

/** The mount a path is on: the longest mount path that contains it. */
function mountOf(container: IContainer, path: string) {
  return (container.volumeMounts ?? [])
    .filter((mount) => path === mount.mountPath || path.startsWith(`${mount.mountPath}/`))
    .sort((a, b) => b.mountPath.length - a.mountPath.length)[0];
}

function expectWritable(statefulSet: IStatefulSet, path: string, what: string): void {
  const mount = mountOf(mainContainer(statefulSet), path);
  expect(mount, `${what} ${path} is on a volume (the root file system is read-only)`).toBeDefined();
  expect(mount!.readOnly ?? false, `${what} ${path} is writable`).toBe(false);
  expect(mount!.subPath, `${what} ${path} is on a whole volume`).toBeUndefined();
}

describe.each(OVERLAYS)("the overlay %s", (overlay) => {
  let rendered: KubeObject[] | undefined;
  let objects: KubeObject[];
  let statefulSets: (KubeObject & IStatefulSet)[];
  const accounts = readdirSync(join(OVERLAYS_DIR, overlay, "accounts")).sort();

  // Rendered once, but before each test: without kubectl every test fails with its message.
  beforeEach(() => {
    rendered ??= render(overlay);
    objects = rendered;
    statefulSets = ofKind<IStatefulSet>(objects, "StatefulSet");
  });

  it("renders objects that each pass their Kubernetes or prometheus-operator schema", () => {
    expect(objects.length).toBeGreaterThan(0);
    for (const object of objects) {
      expect(() => validateSchema(object), `${object.kind} ${object.metadata.name}`).not.toThrow();
      expect(object.metadata.namespace, `${object.kind} ${object.metadata.name}`).toBe("opsguard");
    }
    // The schemas catch a wrong type (though not an unknown field: hence the tests below).
    const broken = { ...statefulSets[0]!, spec: { ...statefulSets[0]!.spec!, replicas: "one" } };
    expect(() => validateSchema(broken as unknown as KubeObject)).toThrow();
  });

  it("renders one StatefulSet per folder of accounts/, each with its Service, PodDisruptionBudget and config", () => {
    expect(accounts.length).toBeGreaterThan(0);
    expect(statefulSets.map((s) => s.metadata.labels?.["opsguard.io/account"]).sort()).toEqual(accounts);
    for (const account of accounts) {
      const name = `opsguard-${account}`;
      const statefulSet = one<IStatefulSet>(objects, "StatefulSet", name);
      const labels = statefulSet.spec!.template.metadata!.labels!;
      expect(labels).toMatchObject({
        "app.kubernetes.io/name": "opsguard",
        "app.kubernetes.io/instance": account,
        "opsguard.io/account": account,
      });
      // One writer per SQLite file.
      expect(statefulSet.spec!.replicas).toBe(1);
      const selector = statefulSet.spec!.selector.matchLabels!;
      expect(selects(selector, labels)).toBe(true);
      expect(selector["opsguard.io/account"], "selects this account's pods only").toBe(account);

      const service = one<IService>(objects, "Service", statefulSet.spec!.serviceName!);
      expect(service.spec!.selector).toEqual(selector);
      expect(service.spec!.ports).toEqual([{ name: "http", port: 8080, targetPort: "http" }]);
      expect(mainContainer(statefulSet).ports).toEqual([{ name: "http", containerPort: 8080 }]);

      const budget = one<IPodDisruptionBudget>(objects, "PodDisruptionBudget", name);
      expect(budget.spec!.selector!.matchLabels).toEqual(selector);
      // minAvailable: 1 on one replica would block every drain of its node.
      expect(budget.spec!.maxUnavailable).toBe(1);
      expect(budget.spec!.minAvailable).toBeUndefined();
    }
    expect(ofKind(objects, "Secret"), "Secrets are created by the user, never rendered").toEqual([]);
  });

  it("probes /healthz (startup, liveness) and /readyz (readiness) on the http port", () => {
    for (const statefulSet of statefulSets) {
      const container = mainContainer(statefulSet);
      expect(container.args ?? ["serve"]).toEqual(["serve"]);
      expect(container.startupProbe?.httpGet).toEqual({ path: "/healthz", port: "http" });
      expect(container.livenessProbe?.httpGet).toEqual({ path: "/healthz", port: "http" });
      expect(container.readinessProbe?.httpGet).toEqual({ path: "/readyz", port: "http" });
      // The startup probe covers the slow part (opening and migrating the database) for minutes.
      const startup = container.startupProbe!;
      expect((startup.periodSeconds ?? 10) * (startup.failureThreshold ?? 3)).toBeGreaterThanOrEqual(120);
    }
  });

  it("runs every container unprivileged, as the image's node user, on a read-only root", () => {
    for (const statefulSet of statefulSets) {
      const spec = podSpec(statefulSet);
      expect(spec.securityContext).toMatchObject({
        runAsNonRoot: true,
        runAsUser: NODE_UID,
        runAsGroup: NODE_UID,
        fsGroup: NODE_UID,
        seccompProfile: { type: "RuntimeDefault" },
      });
      expect(spec.enableServiceLinks).toBe(false);
      expect(spec.automountServiceAccountToken).toBe(false);
      for (const container of [...(spec.initContainers ?? []), ...spec.containers]) {
        const context = container.securityContext ?? {};
        expect(context.runAsNonRoot ?? spec.securityContext!.runAsNonRoot, container.name).toBe(true);
        expect(context.runAsUser ?? spec.securityContext!.runAsUser, container.name).toBe(NODE_UID);
        expect(context.allowPrivilegeEscalation, container.name).toBe(false);
        expect(context.readOnlyRootFilesystem, container.name).toBe(true);
        expect(context.capabilities?.drop, container.name).toEqual(["ALL"]);
        expect(context.privileged ?? false, container.name).toBe(false);
        for (const kind of ["requests", "limits"] as const) {
          expect(container.resources?.[kind], `${container.name} ${kind}`).toMatchObject({
            cpu: expect.any(String),
            memory: expect.any(String),
          });
        }
        expect(container.image, container.name).toMatch(
          new RegExp(`^[\\w.-]+(/[\\w.-]+)*/opsguard:${VERSION}$`),
        );
      }
    }
  });

  it("mounts every volume it declares, declares every volume it mounts, and keeps the data on claims", () => {
    for (const statefulSet of statefulSets) {
      const spec = podSpec(statefulSet);
      const claims = statefulSet.spec!.volumeClaimTemplates!.map((claim) => claim.metadata!.name!);
      const declared = [...spec.volumes!.map((volume) => volume.name), ...claims];
      const containers = [...(spec.initContainers ?? []), ...spec.containers];
      const mounted = containers.flatMap((container) => (container.volumeMounts ?? []).map((m) => m.name));
      expect(new Set(declared).size, "volume names are unique").toBe(declared.length);
      expect([...new Set(mounted)].sort()).toEqual([...declared].sort());
      const main = mainContainer(statefulSet);
      expect(mountOf(main, "/data")?.name).toBe("data");
      expect(mountOf(main, "/backups")?.name).toBe("backups");
      for (const claim of statefulSet.spec!.volumeClaimTemplates!) {
        expect(claim.spec!.resources!.requests!.storage, claim.metadata!.name).toBeDefined();
      }
      const tmp = spec.volumes!.find((volume) => volume.name === mountOf(main, "/tmp")?.name);
      expect(tmp?.emptyDir, "/tmp is an emptyDir").toBeDefined();
      const secrets = spec.volumes!.find((volume) => volume.name === mountOf(main, SECRETS_DIR)?.name);
      expect(secrets?.emptyDir?.medium, "secrets stay in memory").toBe("Memory");
      expect(mountOf(main, SECRETS_DIR)?.readOnly).toBe(true);
    }
  });

  it("references only ConfigMaps it renders and Secrets the guide tells the user to create", () => {
    for (const statefulSet of statefulSets) {
      const spec = podSpec(statefulSet);
      for (const volume of spec.volumes!) {
        if (volume.configMap) one<IConfigMap>(objects, "ConfigMap", volume.configMap.name!);
        if (volume.secret) {
          const name = volume.secret.secretName!;
          expect(Object.keys(USER_SECRETS), name).toContain(name);
          expect(GUIDE, `docs/kubernetes.md creates ${name}`).toContain(
            `kubectl create secret generic ${name}`,
          );
          for (const item of volume.secret.items ?? []) expect(USER_SECRETS[name]).toContain(item.key);
        }
        expect(volume.projected, "every Secret is copied by the init container").toBeUndefined();
      }
      for (const source of mainContainer(statefulSet).envFrom ?? []) {
        one<IConfigMap>(objects, "ConfigMap", source.configMapRef!.name!);
      }
    }
  });

  it("gives each account a config that loads, with its files where the pod has them", () => {
    for (const statefulSet of statefulSets) {
      const account = statefulSet.spec!.template.metadata!.labels!["opsguard.io/account"]!;
      const { config, env } = loadAccountConfig(statefulSet, objects);
      const main = mainContainer(statefulSet);
      const configMount = main.volumeMounts!.find((mount) => mount.name === "config")!;
      expect(env.OPSGUARD_CONFIG).toBe(configMount.mountPath);
      expect(config.server.host).toBe("0.0.0.0");
      expect(config.server.port).toBe(8080);
      expectWritable(statefulSet, config.dataDir, "dataDir");
      expect(config.dataDir, "the data folder is not the volume's root").not.toBe(
        mountOf(main, config.dataDir)!.mountPath,
      );
      expectWritable(statefulSet, env.npm_config_cache!, "npm's cache");

      const backup = backupSettings(config, env);
      expect(backup.local).toBe(true);
      expectWritable(statefulSet, backup.repository, "backup.repository");
      expect(mountOf(main, backup.repository)!.name, "not on the data volume").not.toBe(
        mountOf(main, config.dataDir)!.name,
      );
      expect(backup.instance).toBe(account);
      const secretFiles = copiedSecretFiles(statefulSet);
      expect(secretFiles).toContain(backup.passwordFile);

      if (overlay === "several-accounts") {
        expect(secretFiles).toContain(config.globalLimits.urlFile);
        expect(config.globalLimits.account).toBe(account);
      } else {
        expect(config.globalLimits.urlFile, "no global limits on one account").toBeUndefined();
      }
    }
  });

  it("needs enableServiceLinks: false, or its own Services' variables would stop the start", () => {
    const statefulSet = statefulSets[0]!;
    let problems: string[] = [];
    try {
      loadAccountConfig(statefulSet, objects, true);
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      problems = error.problems;
    }
    expect(problems.some((problem) => problem.includes("not a configuration key"))).toBe(true);
  });

  it("scrapes every account's pod on http /metrics every 15s, as job opsguard with an account label", () => {
    const [monitor, ...others] = ofKind<IPodMonitor>(objects, "PodMonitor");
    expect(others).toEqual([]);
    const spec = monitor!.spec;
    for (const statefulSet of statefulSets) {
      const labels = statefulSet.spec!.template.metadata!.labels!;
      expect(selects(spec.selector.matchLabels, labels), statefulSet.metadata.name).toBe(true);
      // Every rule and dashboard selects job="opsguard".
      expect(labels[spec.jobLabel!]).toBe("opsguard");
    }
    expect(spec.podMetricsEndpoints).toHaveLength(1);
    const endpoint = spec.podMetricsEndpoints![0]!;
    expect(endpoint).toMatchObject({ port: "http", path: "/metrics", interval: "15s" });
    // Prometheus sees a pod label as __meta_kubernetes_pod_label_<name, other characters as _>.
    const accountLabel =
      "__meta_kubernetes_pod_label_" + "opsguard.io/account".replace(/[^a-zA-Z0-9_]/g, "_");
    expect(endpoint.relabelings).toContainEqual({ sourceLabels: [accountLabel], targetLabel: "account" });
  });

  it("carries the rule files' groups as they are, one PrometheusRule per file", () => {
    const rules = ofKind<IPrometheusRule>(objects, "PrometheusRule");
    expect(rules.map((rule) => rule.metadata.name).sort()).toEqual(["opsguard-alerts", "opsguard-recording"]);
    for (const file of RULE_FILES) {
      const name = `opsguard-${posix.basename(file, ".yml")}`;
      const rule = rules.find((r) => r.metadata.name === name)!;
      expect(rule.spec.groups, name).toEqual(
        (parse(readFileSync(file, "utf8")) as { groups: unknown }).groups,
      );
      const names = rule.spec.groups!.map((group) => group.name);
      expect(new Set(names).size, `${name}: group names are unique`).toBe(names.length);
    }
  });

  it("carries every dashboard as is, each in a ConfigMap small enough for kubectl apply", () => {
    const files = readdirSync(DASHBOARDS_DIR).filter((name) => name.endsWith(".json"));
    const dashboards = ofKind<IConfigMap>(objects, "ConfigMap").filter(
      (configMap) => configMap.metadata.labels?.grafana_dashboard === "1",
    );
    expect(dashboards).toHaveLength(files.length);
    for (const file of files) {
      const configMap = dashboards.find((c) => c.data?.[file] !== undefined);
      expect(configMap?.data?.[file], file).toBe(readFileSync(join(DASHBOARDS_DIR, file), "utf8"));
      // Client-side apply copies the object into an annotation of at most 256 KiB; a ConfigMap
      // holds 1 MiB.
      expect(JSON.stringify(configMap).length, file).toBeLessThan(200 * 1024);
    }
  });
});

describe("the generated monitoring objects", () => {
  it("match what `npm run kubernetes` generates now, byte for byte", async () => {
    for (const { path, text } of await renderMonitoring()) {
      expect(readFileSync(path, "utf8"), `${path}: run npm run kubernetes`).toBe(text);
    }
  });

  it("hold rules that promtool accepts, one rule file per PrometheusRule", () => {
    const objects = render(OVERLAYS[0]!);
    const dir = makeTempDir("opsguard-kubernetes-rules-");
    try {
      const rules = ofKind<IPrometheusRule>(objects, "PrometheusRule");
      expect(rules.length).toBeGreaterThan(0);
      for (const rule of rules) {
        const file = join(dir.path, `${rule.metadata.name}.json`);
        writeFileSync(file, JSON.stringify({ groups: rule.spec.groups }));
        const result = runTool("promtool", ["check", "rules", file]);
        expect(result.status, result.output).toBe(0);
      }
    } finally {
      dir.remove();
    }
  });
});

describe("the secrets", () => {
  it("are shown in secrets.example.yaml with every key, and no value", () => {
    const examples = parseAllDocuments(
      readFileSync(join(KUBERNETES_DIR, "secrets.example.yaml"), "utf8"),
    ).map((doc) => doc.toJS() as KubeObject & { stringData?: Record<string, string> });
    expect(examples.map((secret) => secret.metadata.name).sort()).toEqual(Object.keys(USER_SECRETS).sort());
    for (const secret of examples) {
      expect(Object.keys(secret.stringData ?? {}).sort()).toEqual(
        [...USER_SECRETS[secret.metadata.name]!].sort(),
      );
      expect(Object.values(secret.stringData ?? {}).every((value) => value === "")).toBe(true);
    }
  });
});
