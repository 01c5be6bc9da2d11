import { databasePath } from "../app.js";
import type { Config } from "../config/schema.js";
import { ROLES, TokenStore, type Role } from "../http/tokens.js";
import { AuditLog } from "../platform/audit.js";
import { SYSTEM_CLOCK } from "../platform/clock.js";
import { openDatabase } from "../platform/db.js";
import type { CommandOutput } from "./backup.js";
import { UsageError } from "./usage-error.js";

/** `opsguard token …` usage, for the CLI's help. */
export const TOKEN_USAGE = `opsguard token create --role ROLE [--name NAME]
                                         print a new API token (ROLE: viewer, operator, admin)
opsguard token list                      every token's id, name, role and age (never the secret)
opsguard token revoke ID                 delete a token: refused from its next request on`;

/**
 * Runs `opsguard token <sub>` on the database, beside a running service: a token created or
 * revoked here is taken up by the service at its next request. Creations and revocations are
 * recorded in the audit log (actor `cli`). Returns the exit status.
 */
export function runTokenCommand(
  sub: string | undefined,
  args: { role?: string; name?: string; id?: string },
  config: Config,
  output: CommandOutput,
): number {
  if (!["create", "list", "revoke"].includes(sub ?? "")) throw new UsageError(`usage:\n${TOKEN_USAGE}`);
  if (sub === "create" && !ROLES.includes(args.role as Role))
    throw new UsageError(`--role must be one of ${ROLES.join(", ")}`);
  if (sub === "revoke" && !args.id) throw new UsageError("usage: opsguard token revoke ID");
  const db = openDatabase({ path: databasePath(config) });
  try {
    const store = new TokenStore(db, SYSTEM_CLOCK);
    const audit = new AuditLog(db, SYSTEM_CLOCK);
    if (sub === "create") {
      const role = args.role as Role;
      const name = args.name ?? `${role}-token`;
      const { id, token } = db.transaction(() => {
        const created = store.create(role, name);
        audit.append({ actor: "cli", action: "token.create", target: created.id, details: { role, name } });
        return created;
      })();
      output.err.write(`created ${role} token ${id}; it is shown once:\n`);
      output.out(token);
      return 0;
    }
    if (sub === "revoke") {
      const id = args.id!;
      const revoked = db.transaction(() => {
        const existed = store.revoke(id);
        if (existed) audit.append({ actor: "cli", action: "token.revoke", target: id });
        return existed;
      })();
      if (!revoked) {
        output.err.write(`no token has the id ${id}\n`);
        return 1;
      }
      output.out(`revoked token ${id}`);
      return 0;
    }
    const now = SYSTEM_CLOCK.now();
    for (const token of store.list()) {
      const days = Math.floor((now - token.createdAt) / 86_400_000);
      output.out(
        `${token.id}  ${token.role.padEnd(8)}  ${token.name}  created ${new Date(token.createdAt).toISOString()} (${days} days ago)`,
      );
    }
    return 0;
  } finally {
    db.close();
  }
}
