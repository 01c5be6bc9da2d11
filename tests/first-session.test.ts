import { execFile } from "node:child_process";
import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { tempDir } from "./harness.js";
import { MAIN, startChild, type Child } from "./process.js";

const REPO = fileURLToPath(new URL("../", import.meta.url));

/** The first ```sh block after the heading `heading` of a Markdown file of the repository. */
function shellBlock(file: string, heading: string): string {
  const markdown = readFileSync(join(REPO, file), "utf8");
  const start = markdown.indexOf(`\n${heading}\n`);
  if (start < 0) throw new Error(`${file} has no heading "${heading}"`);
  const match = /\n```sh\n([\s\S]*?)\n```/.exec(markdown.slice(start));
  if (!match) throw new Error(`${file} has no sh block after "${heading}"`);
  return match[1]!;
}

/**
 * Runs a session of the docs in bash as a newcomer pastes it, from the folder the service was
 * started in, with three changes only: the service's port for 8080; for the line that asks to
 * paste an operation's id, the id of the newest operation; and `npx opsguard` run from this
 * build. Every `curl` fails the session on an HTTP error (as `--fail-with-body`), and a live
 * stream (`curl -sN`) is read for two seconds.
 */
async function runSession(script: string, cwd: string, port: number): Promise<string> {
  const pastedId = /^ID=\S+(\s+#.*)?$/m;
  expect(script, "the session asks to paste an operation's id").toMatch(pastedId);
  const prelude = `
set -euo pipefail
curl() {
  local stream=()
  for arg in "$@"; do [[ $arg == -sN ]] && stream=(--max-time 2); done
  command curl --fail-with-body "\${stream[@]}" "$@" || {
    local rc=$?
    [[ \${#stream[@]} -gt 0 && $rc == 28 ]] || { echo "curl $* failed: $rc" >&2; return $rc; }
  }
  echo
}
npx() {
  if [[ $1 == opsguard ]]; then shift; "${process.execPath}" "${MAIN}" "$@"; else command npx "$@"; fi
}
`;
  const session = script
    .replaceAll("localhost:8080", `localhost:${port}`)
    .replace(
      pastedId,
      `ID=$(command curl -s localhost:${port}/v1/operations -H "$H" | "${process.execPath}" -pe 'JSON.parse(require("fs").readFileSync(0, "utf8")).items[0].id')`,
    );
  const { stdout } = await promisify(execFile)("bash", ["-c", prelude + session], {
    cwd,
    // A newcomer's shell: no OPSGUARD_* of the test run's own.
    env: { PATH: process.env.PATH, HOME: process.env.HOME },
    timeout: 60_000,
  });
  return stdout;
}

describe("the first session of the README and docs/api.md, as written", () => {
  let cwd: string;
  let child: Child;
  beforeAll(async () => {
    cwd = tempDir();
    child = await startChild(join(cwd, "data"), ["serve"], {
      OPSGUARD_SUPERVISOR_MONITOR_INTERVAL_MS: "200",
    });
  }, 30_000);
  afterAll(async () => {
    child.process.kill("SIGTERM");
    await child.exited;
    rmSync(cwd, { recursive: true, force: true });
  });

  it("README.md: open, list, close, risk, events, metrics and the report", async () => {
    const out = await runSession(shellBlock("README.md", "## A first session"), cwd, child.port);
    expect(out).toMatch(/"clientId":"sig-0001".*"status":"open"/);
    expect(out).toMatch(/"clientId":"sig-0001".*"status":"closed"/);
    expect(out).toMatch(/^: connected, events after \d+$/m);
    expect(out).toMatch(/^opsguard_operations_submitted_total\{/m);
    expect(out).toMatch(/Time active .*halts\./);
  }, 60_000);

  it("docs/api.md: the same and more, in the same data folder after it", async () => {
    const out = await runSession(shellBlock("docs/api.md", "## A session with curl"), cwd, child.port);
    expect(out).toMatch(/"clientId":"sig-0101".*"status":"open"/);
    expect(out).toMatch(/"clientId":"sig-0102".*"size":"/);
    expect(out).toContain('"state":"halted"');
    expect(out).toContain('"state":"active"');
    expect(out).toContain('"openapi":"3.1');
  }, 60_000);
});
