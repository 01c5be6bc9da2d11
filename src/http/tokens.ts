import { hash, randomBytes, randomInt, timingSafeEqual } from "node:crypto";
import {
  closeSync,
  existsSync,
  fchmodSync,
  fsyncSync,
  mkdirSync,
  openSync,
  rmSync,
  writeSync,
} from "node:fs";
import { dirname, join } from "node:path";
import type { Clock } from "../platform/clock.js";
import type { Db } from "../platform/db.js";
import type { Logger } from "../platform/logger.js";
import type { Principal } from "./env.js";

/** API roles, weakest first: each role may do everything the ones before it may. */
export const ROLES = ["viewer", "operator", "admin"] as const;
export type Role = (typeof ROLES)[number];

/** True when a principal holding `have` may act where `need` is required. */
export function roleAtLeast(have: Role, need: Role): boolean {
  return ROLES.indexOf(have) >= ROLES.indexOf(need);
}

/** Every token starts with this, so secret scanners and humans can recognise one. */
const TOKEN_PREFIX = "og_";
const ID_LENGTH = 12;
const SECRET_BYTES = 32;
// Alphanumeric ids (a url-safe subset) keep ids readable in logs and never start with "-", which a
// CLI would take for a flag. The secret is base64url; the fixed lengths make parsing unambiguous
// even though base64url itself may contain "_".
const ID_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const TOKEN_PATTERN = /^og_([A-Za-z0-9]{12})_([A-Za-z0-9_-]{43})$/;

interface StoredToken {
  name: string;
  role: Role;
  secretHash: Buffer;
}

interface TokenRow {
  name: string;
  role: string;
  secret_hash: string;
}

/** A token as handed to its owner once: `og_<id>_<secret>`. The id is public, the secret is not. */
export interface CreatedToken {
  id: string;
  token: string;
}

/**
 * API bearer tokens, stored as sha256 of the secret only, checked in constant time.
 *
 * Every token is held in memory, loaded at start. A lookup costs no table read: SQLite's
 * `data_version` (a pragma) says whether another connection (such as `opsguard token create` or
 * `token revoke` in another process) has committed since the tokens were loaded, and only then
 * are they loaded again. So random ids cannot be used to load the database, a new token works as
 * soon as it is committed, and a revoked one is refused from its next request.
 */
export class TokenStore {
  private readonly cache = new Map<string, StoredToken>();
  private readonly insert;
  private readonly all;
  private readonly countAll;
  private readonly listAll;
  private readonly remove;
  private readonly version;
  /** `data_version` when the tokens were last loaded. */
  private loadedAt = -1;

  constructor(
    db: Db,
    private readonly clock: Clock,
  ) {
    this.insert = db.prepare<[string, string, string, string, number]>(
      "INSERT INTO api_tokens (id, name, role, secret_hash, created_at) VALUES (?, ?, ?, ?, ?)",
    );
    this.all = db.prepare<[], TokenRow & { id: string }>(
      "SELECT id, name, role, secret_hash FROM api_tokens",
    );
    this.countAll = db.prepare<[], bigint>("SELECT COUNT(*) FROM api_tokens").pluck();
    this.listAll = db.prepare<[], { id: string; name: string; role: string; created_at: bigint | number }>(
      "SELECT id, name, role, created_at FROM api_tokens ORDER BY created_at, id",
    );
    this.version = db.prepare<[], bigint>("PRAGMA data_version").pluck();
    this.remove = db.prepare<[string]>("DELETE FROM api_tokens WHERE id = ?");
    this.load();
  }

  /** Makes a new token; the returned `token` is the only time the secret exists outside its hash. */
  create(role: Role, name: string): CreatedToken {
    if (!ROLES.includes(role)) throw new Error(`unknown role: ${String(role)}`);
    const id = randomId();
    const secret = randomBytes(SECRET_BYTES).toString("base64url");
    const secretHash = hashSecret(secret);
    this.insert.run(id, name, role, secretHash.toString("hex"), this.clock.now());
    this.cache.set(id, { name, role, secretHash });
    return { id, token: `${TOKEN_PREFIX}${id}_${secret}` };
  }

  /** The principal a token stands for, or null for anything malformed, unknown or wrong. Never throws on input. */
  verify(token: string): Principal | null {
    const match = TOKEN_PATTERN.exec(token);
    if (!match) return null;
    const [, id, secret] = match as unknown as [string, string, string];
    const stored = this.lookup(id);
    if (!stored) return null;
    const presented = hashSecret(secret);
    // Both are sha256 digests, so the lengths match unless a stored row is corrupt.
    if (stored.secretHash.length !== presented.length || !timingSafeEqual(stored.secretHash, presented))
      return null;
    return { id, name: stored.name, role: stored.role };
  }

  /** Every token's id, name, role and creation time (never its hash), oldest first. */
  list(): { id: string; name: string; role: string; createdAt: number }[] {
    return this.listAll
      .all()
      .map((row) => ({ id: row.id, name: row.name, role: row.role, createdAt: Number(row.created_at) }));
  }

  /** How many tokens exist, in the database (not only in this process). */
  count(): number {
    return Number(this.countAll.get() ?? 0n);
  }

  /**
   * Deletes a token: from then on it is refused, here at once and in another process (serve, when
   * the CLI revokes) at its next request. Returns whether the token existed.
   */
  revoke(id: string): boolean {
    this.cache.delete(id);
    return this.remove.run(id).changes > 0;
  }

  private lookup(id: string): StoredToken | undefined {
    // Another process's commit may have revoked a token held here, or created one: reload then.
    if (this.dataVersion() !== this.loadedAt) this.load();
    return this.cache.get(id);
  }

  private load(): void {
    this.loadedAt = this.dataVersion();
    this.cache.clear();
    for (const row of this.all.all()) {
      if (!isRole(row.role)) continue;
      this.cache.set(row.id, {
        name: row.name,
        role: row.role,
        secretHash: Buffer.from(row.secret_hash, "hex"),
      });
    }
  }

  /** Changes when another connection commits to the database; a pragma, not a table read. */
  private dataVersion(): number {
    return Number(this.version.get());
  }
}

function isRole(value: string): value is Role {
  return (ROLES as readonly string[]).includes(value);
}

function hashSecret(secret: string): Buffer {
  return hash("sha256", secret, "buffer");
}

function randomId(): string {
  let id = "";
  // randomInt is uniform (rejection sampling), unlike `byte % 62`.
  for (let i = 0; i < ID_LENGTH; i++) id += ID_ALPHABET[randomInt(ID_ALPHABET.length)];
  return id;
}

/**
 * Writes a secret to a new file readable only by its owner (0600), creating missing folders
 * with 0700. Refuses to overwrite an existing file, so a secret is never silently replaced.
 */
export function writeSecretFile(path: string, contents: string): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  // "wx" fails if the file exists (O_EXCL), which also closes the race with another writer.
  const fd = openSync(path, "wx", 0o600);
  try {
    // The mode given to open is reduced by the umask; set it explicitly.
    fchmodSync(fd, 0o600);
    writeSync(fd, contents);
    fsyncSync(fd);
  } catch (error) {
    closeSync(fd);
    rmSync(path, { force: true });
    throw error;
  }
  closeSync(fd);
}

/** The file a bootstrap admin token is written to, under the data folder. */
export const ADMIN_TOKEN_FILE = "admin-token";

/**
 * On a database with no token at all, creates an admin token named `bootstrap-admin` and writes
 * it to `<dataDir>/admin-token` (mode 0600). Logs the file path, never the token.
 */
export function ensureAdminToken(
  store: TokenStore,
  dataDir: string,
  logger: Logger,
): { path: string; created: boolean } {
  const path = join(dataDir, ADMIN_TOKEN_FILE);
  if (store.count() > 0) return { path, created: false };
  // Checked before creating the token: otherwise a leftover file (from a deleted database) would
  // make the write fail after the token exists, and nobody would ever learn the new secret.
  if (existsSync(path)) {
    throw new Error(`${path} exists but the database has no token: move it away and start again`);
  }
  const { id, token } = store.create("admin", "bootstrap-admin");
  writeSecretFile(path, `${token}\n`);
  // Key names matter: the logger redacts any key that looks like "token".
  logger.info(`created a bootstrap admin token in ${path}`, {
    event: "auth.bootstrap_token_created",
    path,
    id,
  });
  return { path, created: true };
}
