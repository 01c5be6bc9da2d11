import { accessSync, constants, existsSync } from "node:fs";
import { dirname } from "node:path";

/**
 * A problem with the files opsguard keeps its state in, told in one line: which file, what went
 * wrong, and what to do about it. The CLI prints the message alone, without a stack.
 */
export class StorageError extends Error {
  override name = "StorageError";
}

/** The files SQLite writes for a database at `path`: the database, its WAL and shared memory. */
export function databaseFiles(path: string): string[] {
  return [path, `${path}-wal`, `${path}-shm`];
}

/**
 * Every reason opsguard could not write its database at `path`: the folder and each of the
 * database's files that exist must be writable. An unwritable `-shm` file is found here, before
 * SQLite maps it (writing through that map would end the process with SIGBUS).
 */
export function unwritableDatabaseFiles(path: string): string[] {
  const problems: string[] = [];
  const dir = dirname(path);
  for (const file of [dir, ...databaseFiles(path)]) {
    if (file !== dir && !existsSync(file)) continue;
    try {
      accessSync(file, constants.R_OK | constants.W_OK);
    } catch (error) {
      problems.push(describeStorageError(error, file));
    }
  }
  return problems;
}

/** What to do about `error`, which happened to `file`, in one line. */
export function describeStorageError(error: unknown, file: string): string {
  const code = (error as { code?: string }).code ?? "";
  const message = (error as Error).message;
  const user = typeof process.getuid === "function" ? ` (uid ${process.getuid()})` : "";
  if (code === "EACCES" || code === "EPERM" || code.startsWith("SQLITE_PERM") || code === "SQLITE_AUTH") {
    return `${file}: permission denied; give the user opsguard runs as${user} read and write access to ${dirname(file)} and the files in it, or set dataDir to a folder it owns`;
  }
  if (code === "EROFS" || code.startsWith("SQLITE_READONLY")) {
    return `${file}: the file or its file system is read-only; opsguard must write its database: make it writable, or set dataDir to a writable folder`;
  }
  if (code === "ENOSPC" || code.startsWith("SQLITE_FULL")) {
    return `${file}: the disk is full; free space on the file system that holds ${dirname(file)}, then start opsguard again`;
  }
  if (code.startsWith("SQLITE_CANTOPEN")) {
    return `${file}: cannot be opened (${message}); check that ${dirname(file)} exists and is a folder opsguard may write`;
  }
  if (code.startsWith("SQLITE_CORRUPT") || code === "SQLITE_NOTADB") {
    return `${file}: not a sound SQLite database (${message}); restore it from a backup`;
  }
  return `${file}: ${message}${code ? ` (${code})` : ""}`;
}
