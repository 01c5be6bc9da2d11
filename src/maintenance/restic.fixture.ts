import { createCipheriv, createDecipheriv, createHash, randomBytes, scryptSync } from "node:crypto";
import { chmod, cp, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { execa } from "execa";
import { DEFAULT_PATH, Restic, type ResticOptions } from "./restic.js";

// Shared by the restic test files; not a test file itself. Everything runs the real restic found
// on DEFAULT_PATH (CI installs Debian's 0.14): without it these tests fail, they do not skip.

/** A scratch folder with a password file (mode 0600), a HOME and a cache folder. */
export interface Sandbox {
  dir: string;
  password: string;
  passwordFile: string;
  home: string;
  /** Options for a repository at `repository` (default: `<dir>/repo`). */
  options(overrides?: Partial<ResticOptions>): ResticOptions;
  restic(overrides?: Partial<ResticOptions>): Restic;
  /** restic's environment for `repository`, to run restic straight (for what the adapter must not do). */
  env(repository: string): Record<string, string>;
  /** restic itself, straight; fails unless it succeeds. */
  raw(args: string[], repository: string): Promise<string>;
  /** A copy of a repository made once by `restic init` (init takes seconds: it calibrates its KDF). */
  freshRepository(): Promise<string>;
  cleanup(): Promise<void>;
}

export async function createSandbox(): Promise<Sandbox> {
  const dir = await mkdtemp(join(tmpdir(), "opsguard-restic-"));
  const password = randomBytes(24).toString("base64url");
  const passwordFile = join(dir, "password");
  await writeFile(passwordFile, `${password}\n`, { mode: 0o600 });
  const home = join(dir, "home");
  const scratch = join(dir, "tmp"); // restic's temporary packs and caches
  await mkdir(home);
  await mkdir(scratch);
  const env = { PATH: DEFAULT_PATH, HOME: home, TMPDIR: scratch, RESTIC_PASSWORD_FILE: passwordFile };
  let template: Promise<string> | undefined;
  let copies = 0;
  const options = (overrides: Partial<ResticOptions> = {}): ResticOptions => {
    const repository = overrides.repository ?? join(dir, "repo");
    return {
      repository,
      passwordFile,
      // One cache per repository: copies of the template share its id, and so would a cache.
      cacheDir: join(dir, "caches", createHash("sha256").update(repository).digest("hex").slice(0, 16)),
      timeoutMs: 20_000,
      killGraceMs: 2_000,
      env: { HOME: home, TMPDIR: scratch },
      ...overrides,
    };
  };
  const resticEnv = (repository: string) => ({ ...env, RESTIC_REPOSITORY: repository });
  const raw = async (args: string[], repository: string) =>
    (await execa("restic", args, { extendEnv: false, env: resticEnv(repository), timeout: 20_000 })).stdout;
  const sandbox: Sandbox = {
    dir,
    password,
    passwordFile,
    home,
    options,
    restic: (overrides) => new Restic(options(overrides)),
    env: resticEnv,
    raw,
    async freshRepository() {
      template ??= (async () => {
        const path = join(dir, "template");
        await raw(["init"], path);
        await cheapenKey(path, password);
        return path;
      })();
      const copy = join(dir, `repo-${++copies}`);
      await cp(await template, copy, { recursive: true });
      return copy;
    },
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
  return sandbox;
}

// restic calibrates its key's scrypt to cost ~0.5 s of CPU, and pays it on every command: most of
// these tests' time on a 2-core machine. cheapenKey re-wraps the repository's master key with
// N=1024 (restic's own format: internal/crypto and repository/key.go), so that each command opens
// in milliseconds. The repository stays restic's; only the password's KDF is cheaper.
const POLY1305_R_MASK = Buffer.from("ffffff0ffcffff0ffcffff0ffcffff0f", "hex");
const littleEndian = (bytes: Uint8Array): bigint =>
  bytes.reduceRight((n, byte) => (n << 8n) | BigInt(byte), 0n);

function poly1305(message: Buffer, r: bigint, s: bigint): Buffer {
  const p = (1n << 130n) - 5n;
  let acc = 0n;
  for (let i = 0; i < message.length; i += 16) {
    const block = message.subarray(i, i + 16);
    acc = ((acc + littleEndian(block) + (1n << BigInt(8 * block.length))) * r) % p;
  }
  const tag = (acc + s) & ((1n << 128n) - 1n);
  return Buffer.from(Array.from({ length: 16 }, (_, i) => Number((tag >> BigInt(8 * i)) & 0xffn)));
}

/** restic's user key: scrypt's 64 bytes as AES-256 key, then Poly1305-AES k and (masked) r. */
function userKey(password: string, salt: Buffer, N: number, r: number, p: number) {
  const bytes = scryptSync(password, salt, 64, { N, r, p, maxmem: 256 * N * r * p + 2 ** 20 });
  const macR = Buffer.from(bytes.subarray(48, 64).map((b, i) => b & POLY1305_R_MASK[i]!));
  const mac = (nonce: Buffer, ciphertext: Buffer): Buffer => {
    const aes = createCipheriv("aes-128-ecb", bytes.subarray(32, 48), null).setAutoPadding(false);
    const s = Buffer.concat([aes.update(nonce), aes.final()]);
    return poly1305(ciphertext, littleEndian(macR), littleEndian(s));
  };
  return { encryption: bytes.subarray(0, 32), mac };
}

/** Replaces the only key of a local repository by one that opens fast (see above). */
export async function cheapenKey(repository: string, password: string): Promise<void> {
  const dir = join(repository, "keys");
  const [name] = await readdir(dir);
  const key = JSON.parse(await readFile(join(dir, name!), "utf8")) as Record<string, unknown> & {
    N: number;
    r: number;
    p: number;
    salt: string;
    data: string;
  };
  const old = userKey(password, Buffer.from(key.salt, "base64"), key.N, key.r, key.p);
  const data = Buffer.from(key.data, "base64");
  const [nonce, sealed] = [data.subarray(0, 16), data.subarray(16, -16)];
  if (!old.mac(nonce, sealed).equals(data.subarray(-16))) throw new Error("cheapenKey: wrong password");
  const decipher = createDecipheriv("aes-256-ctr", old.encryption, nonce);
  const master = Buffer.concat([decipher.update(sealed), decipher.final()]);

  const salt = randomBytes(64);
  const cheap = userKey(password, salt, 1024, 8, 1);
  const iv = randomBytes(16);
  const cipher = createCipheriv("aes-256-ctr", cheap.encryption, iv);
  const encrypted = Buffer.concat([cipher.update(master), cipher.final()]);
  const sealedKey = Buffer.concat([iv, encrypted, cheap.mac(iv, encrypted)]).toString("base64");
  const text = JSON.stringify({
    ...key,
    N: 1024,
    r: 8,
    p: 1,
    salt: salt.toString("base64"),
    data: sealedKey,
  });
  await writeFile(join(dir, createHash("sha256").update(text).digest("hex")), text); // named by its hash
  await rm(join(dir, name!));
}

/** Writes files (path relative to `root` → content) and returns `root`. */
export async function writeTree(root: string, files: Record<string, string | Buffer>): Promise<string> {
  for (const [path, content] of Object.entries(files)) {
    await mkdir(dirname(join(root, path)), { recursive: true });
    await writeFile(join(root, path), content);
  }
  return root;
}

/** The lock files of a local repository (not those still being written, named `<id>-tmp-<n>`). */
export async function lockFiles(repository: string): Promise<string[]> {
  const names = await readdir(join(repository, "locks")).catch(() => []);
  return names.filter((name) => /^[0-9a-f]{64}$/.test(name));
}

/**
 * A real restic holding a live lock on `repository`: a `backup --stdin` waiting for its input.
 * `release` gives it some and waits for the snapshot.
 */
export async function holdLock(sandbox: Sandbox, repository: string): Promise<{ release(): Promise<void> }> {
  const before = (await lockFiles(repository)).length;
  const holder = execa("restic", ["backup", "--stdin", "--stdin-filename=held"], {
    stdin: "pipe",
    extendEnv: false,
    env: sandbox.env(repository),
  });
  await until(async () => (await lockFiles(repository)).length > before, "restic to take its lock");
  return {
    async release() {
      holder.stdin.end("held\n");
      await holder;
    },
  };
}

/** Polls `condition` every 20 ms until it holds; fails after `timeoutMs`. */
export async function until(
  condition: () => Promise<boolean>,
  what: string,
  timeoutMs = 10_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** A pack file of `repository` holding only file data (no tree), found through restic's index. */
export async function dataPack(sandbox: Sandbox, repository: string): Promise<string> {
  const index = await sandbox.raw(["list", "index"], repository);
  for (const id of index.split("\n").filter(Boolean)) {
    const { packs } = JSON.parse(await sandbox.raw(["cat", "index", id], repository)) as {
      packs: { id: string; blobs: { type: string }[] }[];
    };
    const pack = packs.find((p) => p.blobs.every((b) => b.type === "data"));
    if (pack) return join(repository, "data", pack.id.slice(0, 2), pack.id);
  }
  throw new Error("no data-only pack in the repository");
}

/**
 * A fake `restic` (a shell script) for what the real 0.14 cannot show: newer versions' output,
 * hangs, signals. It answers `version` with `version`, then runs `body` with the arguments in
 * "$@" (the command in $1). Each call is appended to `<dir>/calls` as one line of arguments.
 */
export async function fakeRestic(dir: string, body: string, version = "0.14.0"): Promise<string> {
  const path = join(dir, `fake-restic-${randomBytes(4).toString("hex")}`);
  const script = [
    "#!/bin/sh",
    `if [ "$1" = version ]; then echo "restic ${version} compiled with go1.24.4 on linux/amd64"; exit 0; fi`,
    `echo "$*" >> '${dir}/calls'`,
    body,
  ].join("\n");
  await writeFile(path, `${script}\n`);
  await chmod(path, 0o755);
  return path;
}

/** The argument lines a fake restic in `dir` was called with (without `version`). */
export async function fakeCalls(dir: string): Promise<string[]> {
  const text = await readFile(join(dir, "calls"), "utf8").catch(() => "");
  return text.split("\n").filter(Boolean);
}

/**
 * A `restic` that records its arguments (one per line, after a `--- argv` line) and environment
 * (after `--- env`) in `log`, then runs the real restic.
 */
export async function spyRestic(dir: string, log: string): Promise<string> {
  const path = join(dir, "spy-restic");
  const script = `#!/bin/sh\n{ echo '--- argv'; printf '%s\\n' "$@"; echo '--- env'; env; } >> '${log}'\nexec restic "$@"\n`;
  await writeFile(path, script);
  await chmod(path, 0o755);
  return path;
}
