import { mkdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { tempDir } from "../../tests/harness.js";
import { Config } from "../config/schema.js";
import { backupSettings, ensurePasswordFile, readEnvironmentFile } from "./settings.js";

let dir: string;
beforeEach(() => (dir = tempDir("opsguard-settings-")));
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const config = (backup: object = {}) => Config.parse({ dataDir: join(dir, "data"), backup });

describe("backupSettings", () => {
  it("keeps a local repository beside the data folder and the password in it by default", () => {
    const settings = backupSettings(config({ instance: "node-1" }));
    expect(settings).toMatchObject({
      repository: join(dir, "data-backups"),
      local: true,
      passwordFile: join(dir, "data", "backup-password"),
      instance: "node-1",
      env: {},
    });
  });

  it("reads relative folders from the data folder's parent, and knows remote backends", () => {
    expect(backupSettings(config({ repository: "elsewhere/repo" })).repository).toBe(
      join(dir, "elsewhere/repo"),
    );
    expect(backupSettings(config({ repository: "local:/srv/repo" }))).toMatchObject({
      repository: "/srv/repo",
      local: true,
    });
    for (const remote of [
      "s3:s3.amazonaws.com/bucket",
      "sftp:user@host:/srv",
      "rest:https://host/",
      "b2:bucket:path",
    ]) {
      expect(backupSettings(config({ repository: remote }))).toMatchObject({
        repository: remote,
        local: false,
      });
    }
  });

  it("hands restic the backend credentials of the environment and the environment file, nothing else", () => {
    const file = join(dir, "restic.env");
    writeFileSync(file, "# credentials\nexport AWS_SECRET_ACCESS_KEY='from-file'\n\nB2_ACCOUNT_ID=\"b2\"\n");
    const settings = backupSettings(config({ environmentFile: file }), {
      AWS_ACCESS_KEY_ID: "key",
      AWS_SECRET_ACCESS_KEY: "from-env",
      HOME: "/root",
      OPSGUARD_TOKEN: "og_secret",
    });
    expect(settings.env).toEqual({
      AWS_ACCESS_KEY_ID: "key",
      AWS_SECRET_ACCESS_KEY: "from-file",
      B2_ACCOUNT_ID: "b2",
    });
  });

  it("names the line of an environment file that is not KEY=value", () => {
    const file = join(dir, "bad.env");
    writeFileSync(file, "A=1\nnot a line\n");
    expect(() => readEnvironmentFile(file)).toThrow(`${file}:2: not a KEY=value line`);
  });
});

describe("ensurePasswordFile", () => {
  it("creates a random password, mode 0600, for a repository that does not exist yet", () => {
    const settings = backupSettings(config());
    expect(ensurePasswordFile(settings)).toBe(true);
    expect(statSync(settings.passwordFile).mode & 0o777).toBe(0o600);
    expect(ensurePasswordFile(settings)).toBe(false);
  });

  it("never makes a new password for a repository that exists", () => {
    const settings = backupSettings(config());
    mkdirSync(settings.repository, { recursive: true });
    writeFileSync(join(settings.repository, "config"), "restic");
    expect(() => ensurePasswordFile(settings)).toThrow(
      /is missing, but the repository .* exists: put back the copy/,
    );
  });

  it("leaves the password of a remote repository to the user", () => {
    expect(ensurePasswordFile(backupSettings(config({ repository: "s3:host/bucket" })))).toBe(false);
  });
});
