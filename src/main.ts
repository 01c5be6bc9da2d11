#!/usr/bin/env node
import { parseArgs } from "node:util";
import { databasePath } from "./app.js";
import { checkEnvironment } from "./cli/check.js";
import { BACKUP_USAGE, runBackupCommand } from "./cli/backup.js";
import { runDemo } from "./cli/demo.js";
import { UsageError } from "./cli/usage-error.js";
import { startServer, stopOnSignals } from "./cli/serve.js";
import { ConfigError, loadConfig } from "./config/load.js";
import { ROLES, TokenStore, type Role } from "./http/tokens.js";
import { SYSTEM_CLOCK } from "./platform/clock.js";
import { openDatabase } from "./platform/db.js";
import { DomainError, StartupError } from "./platform/errors.js";
import { StorageError } from "./platform/storage.js";
import { ResticError } from "./maintenance/restic-errors.js";
import { VERSION } from "./platform/version.js";

const USAGE = `opsguard ${VERSION}: operations under risk control, measured end to end

Usage: opsguard <command> [--config FILE]

Commands:
  serve                       run the service (default)
  demo                        run the service with a built-in strategy, in <dataDir>/demo
  check                       validate the config and environment; exit 1 listing every problem
  token create --role ROLE    print a new API token (ROLE: viewer, operator, admin) [--name NAME]
  backup run|list|drill|check|restore
                              backups with restic: see below

Options:
  --config FILE   YAML config (default: opsguard.yaml if present, or OPSGUARD_CONFIG)
  --help          show this help

Every config key can be set by an OPSGUARD_* variable, e.g. OPSGUARD_SERVER_PORT=9090.

${BACKUP_USAGE}`;

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      config: { type: "string" },
      role: { type: "string" },
      name: { type: "string" },
      to: { type: "string" },
      all: { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
  });
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
    case "token": {
      if (sub !== "create") throw new UsageError("usage: opsguard token create --role viewer|operator|admin");
      const role = values.role as Role | undefined;
      if (!role || !ROLES.includes(role)) throw new UsageError(`--role must be one of ${ROLES.join(", ")}`);
      const config = load();
      const db = openDatabase({ path: databasePath(config) });
      try {
        const { id, token } = new TokenStore(db, SYSTEM_CLOCK).create(role, values.name ?? `${role}-token`);
        console.error(`created ${role} token ${id}; it is shown once:`);
        console.log(token);
      } finally {
        db.close();
      }
      return 0;
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
