import { createHash } from "node:crypto";
import { closeSync, lstatSync, openSync, readdirSync, readlinkSync, readSync } from "node:fs";
import { join, relative } from "node:path";

/** A file or folder to fingerprint, and the prefix its entries get: `app:dist/main.js`. */
export interface FingerprintRoot {
  label: string;
  path: string;
  /** Names entries relative to this folder instead of by their absolute path. */
  relativeTo?: string;
}

/**
 * The sha256 of every regular file under each root, keyed `<label>:<path>`; a symbolic link is
 * recorded as `symlink:<target>` and never followed (so a link cannot lead the walk out of the
 * tree, or round in a loop). A root that does not exist contributes nothing: its files then show
 * as removed. Blocks for as long as the files take to read: run it in a worker thread.
 */
export function fingerprintFiles(roots: FingerprintRoot[]): Record<string, string> {
  const files: Record<string, string> = {};
  const buffer = Buffer.allocUnsafe(1 << 20);
  const walk = (root: FingerprintRoot, path: string): void => {
    let info;
    try {
      info = lstatSync(path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return;
      throw error;
    }
    const key = `${root.label}:${root.relativeTo ? relative(root.relativeTo, path) : path}`;
    if (info.isSymbolicLink()) files[key] = `symlink:${readlinkSync(path)}`;
    else if (info.isDirectory()) for (const name of readdirSync(path).sort()) walk(root, join(path, name));
    else if (info.isFile()) files[key] = sha256File(path, buffer);
  };
  for (const root of roots) walk(root, root.path);
  return files;
}

/** The sha256 of a file, read in chunks through `buffer` (1 MiB by default). */
export function sha256File(path: string, buffer: Buffer = Buffer.allocUnsafe(1 << 20)): string {
  const hash = createHash("sha256");
  const fd = openSync(path, "r");
  try {
    for (let read = readSync(fd, buffer); read > 0; read = readSync(fd, buffer))
      hash.update(buffer.subarray(0, read));
  } finally {
    closeSync(fd);
  }
  return hash.digest("hex");
}

/**
 * Every path under `roots` (symbolic links not followed) that others may write to, with its mode.
 * A root that does not exist is skipped. Run it in a worker thread: node_modules alone holds tens
 * of thousands of entries.
 */
export function findWorldWritable(roots: string[]): string[] {
  const found: string[] = [];
  const walk = (path: string): void => {
    let info;
    try {
      info = lstatSync(path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return;
      throw error;
    }
    if (info.isSymbolicLink()) return;
    // A sticky world-writable folder (like /tmp) still lets others add files to it.
    if (info.mode & 0o002) found.push(`${path} (mode ${(info.mode & 0o7777).toString(8)})`);
    if (info.isDirectory()) for (const name of readdirSync(path).sort()) walk(join(path, name));
  };
  for (const root of roots) walk(root);
  return found;
}
