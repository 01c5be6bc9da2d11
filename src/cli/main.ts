import { parseArgs } from "node:util";
import { checkEnvironment } from "./check.js";
import { ALERT_RECEIVER_USAGE, startAlertReceiver } from "./alert-receiver.js";
import { BACKUP_USAGE, runBackupCommand } from "./backup.js";
import { runDemo } from "./demo.js";
import { REPORT_USAGE, runReportCommand } from "./report.js";
import { runSecurityCommand, SECURITY_USAGE } from "./security.js";
import { runTokenCommand, TOKEN_USAGE } from "./token.js";
import { UsageError } from "./usage-error.js";
import { startServer, stopOnSignals } from "./serve.js";
import { ConfigError, loadConfig } from "../config/load.js";
import { DomainError, StartupError } from "../platform/errors.js";
import { StorageError } from "../platform/storage.js";
import { ResticError } from "../maintenance/restic-errors.js";
import { VERSION } from "../platform/version.js";

const USAGE = `opsguard ${VERSION}: operations under risk control, measured end to end

Usage: opsguard <command> [--config FILE]

Commands:
  serve                       run the service (default)
  demo                        run the service with a built-in strategy, in <dataDir>/demo
  check                       validate the config and environment; exit 1 listing every problem
  token create|list|revoke    API tokens: see below
  backup run|list|drill|check|restore
                              backups with restic: see below
  security check|baseline     security checks and the integrity baseline: see below
  report performance|system|logs
                              reports with recommendations: see below
  alert-receiver              the stack's webhook for Alertmanager: see below

Options:
  --config FILE   YAML config (default: opsguard.yaml if present, or OPSGUARD_CONFIG)
  --help          show this help

Every config key can be set by an OPSGUARD_* variable, e.g. OPSGUARD_SERVER_PORT=9090.

${TOKEN_USAGE}

${BACKUP_USAGE}

${SECURITY_USAGE}

${REPORT_USAGE}

${ALERT_RECEIVER_USAGE}`;

/** The command line's options and words; an option it does not know is a usage error (exit 2). */
function parseCommandLine(argv: string[]) {
  try {
    return parseOptions(argv);
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (!code?.startsWith("ERR_PARSE_ARGS_")) throw error;
    throw new UsageError(`${(error as Error).message}\n\nopsguard --help lists every command and option`);
  }
}

function parseOptions(argv: string[]) {
  return parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      config: { type: "string" },
      role: { type: "string" },
      name: { type: "string" },
      to: { type: "string" },
      all: { type: "boolean" },
      json: { type: "boolean" },
      "fail-on": { type: "string" },
      timeframe: { type: "string" },
      window: { type: "string" },
      from: { type: "string" },
      format: { type: "string" },
      out: { type: "string" },
      host: { type: "string" },
      port: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
}

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandLine(argv);
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const [command = "serve", sub] = positionals;
  const load = () => loadConfig({ path: values.config, env: process.env }).config;

  switch (command) {
    case "serve": {
      const { config, source } = loadConfig({ path: values.config, env: process.env });
      await startServer(config, { configPath: source }, (running) => stopOnSignals(running));
      return -1;
    }
    case "demo": {
      await runDemo(load());
      return -1;
    }
    case "check": {
      const { problems, warnings, config } = checkEnvironment({ path: values.config, env: process.env });
      for (const warning of warnings) console.error(`warning: ${warning}`);
      if (problems.length > 0) {
        console.error(`opsguard check: ${problems.length} problem(s)`);
        for (const problem of problems) console.error(`  - ${problem}`);
        return 1;
      }
      console.log(`opsguard check: ok (data in ${config!.dataDir}, executor ${config!.executor.type})`);
      return 0;
    }
    case "backup": {
      const { config, source } = loadConfig({ path: values.config, env: process.env });
      return runBackupCommand(
        sub,
        { snapshot: positionals[2], to: values.to, all: values.all },
        config,
        source,
        {
          out: (line) => console.log(line),
          err: process.stderr,
        },
      );
    }
    case "token":
      return runTokenCommand(sub, { role: values.role, name: values.name, id: positionals[2] }, load(), {
        out: (line) => console.log(line),
        err: process.stderr,
      });
    case "security": {
      const { config, source } = loadConfig({ path: values.config, env: process.env });
      return runSecurityCommand(
        sub,
        config,
        { configPath: source, json: values.json, failOn: values["fail-on"] },
        { out: (line) => console.log(line), err: process.stderr },
      );
    }
    case "report":
      return runReportCommand(
        sub,
        load(),
        {
          timeframe: values.timeframe,
          window: values.window,
          from: values.from,
          to: values.to,
          format: values.format,
          json: values.json,
          out: values.out,
          columns: process.stdout.columns,
        },
        { out: (line) => console.log(line), err: process.stderr },
      );
    case "alert-receiver": {
      const receiver = await startAlertReceiver(load(), { host: values.host, port: values.port });
      const stop = (): void => void receiver.close().then(() => process.exit(0));
      process.once("SIGTERM", stop);
      process.once("SIGINT", stop);
      return -1;
    }
    default:
      throw new UsageError(`unknown command: ${command}\n\n${USAGE}`);
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exit(code);
  },
  (error: unknown) => {
    if (error instanceof ConfigError || error instanceof UsageError) {
      console.error(error.message);
      process.exit(2);
    }
    if (
      error instanceof StartupError ||
      error instanceof StorageError ||
      error instanceof ResticError ||
      error instanceof DomainError
    ) {
      console.error(`opsguard: ${error.message}`);
      process.exit(1);
    }
    console.error(error);
    process.exit(1);
  },
);
