// Launches the system Chromium (Debian package `chromium`) for browser tests through puppeteer-core,
// which drives it over the DevTools protocol and downloads no browser of its own.
import { accessSync, constants } from "node:fs";
import { delimiter, join } from "node:path";
import puppeteer, { type Browser } from "puppeteer-core";

/** Where Debian installs Chromium; looked for first. */
export const CHROMIUM_PATH = "/usr/bin/chromium";

/** Bounds on every step, so a wedged browser fails the test instead of hanging the suite. */
export const CHROMIUM_TIMEOUTS = {
  /** Start-up until the DevTools connection is up. */
  launchMs: 20_000,
  /** Any single DevTools call (evaluate, screenshot, ...). */
  protocolMs: 20_000,
  /** A graceful close, before the process is killed. */
  closeMs: 5_000,
} as const;

/**
 * The path of the Chromium to test with: /usr/bin/chromium, else `chromium` or
 * `chromium-browser` on PATH.
 * @throws Error saying how to install it: the browser tests must fail, not skip, without it.
 */
export function findChromium(): string {
  const onPath = (process.env.PATH ?? "")
    .split(delimiter)
    .filter((dir) => dir !== "")
    .flatMap((dir) => [join(dir, "chromium"), join(dir, "chromium-browser")]);
  for (const candidate of [CHROMIUM_PATH, ...onPath]) {
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // Not this one; try the next.
    }
  }
  throw new Error(
    "Chromium is not installed: the browser tests need it and do not skip without it. " +
      "Install the Debian package with `apt-get install -y chromium` (.ci/run does this) " +
      `so that ${CHROMIUM_PATH} exists.`,
  );
}

/**
 * Launches headless Chromium with the network closed: every request goes to a proxy on a
 * discard port that nothing listens on, background services (updates, sync, safe browsing) are
 * off, and the DevTools connection is a pipe rather than a TCP port. Pages should still count
 * their requests (request interception): the proxy is the backstop, not the assertion.
 */
export async function launchChromium(): Promise<Browser> {
  const executablePath = findChromium();
  const args = [
    "--proxy-server=127.0.0.1:9",
    // Without this, Chromium would still reach loopback addresses directly.
    "--proxy-bypass-list=<-loopback>",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-domain-reliability",
    "--disable-sync",
    "--no-first-run",
    "--no-default-browser-check",
    // /dev/shm is small in containers; Chromium then crashes on big pages.
    "--disable-dev-shm-usage",
    "--disable-gpu",
  ];
  // Chromium refuses to start as root with its sandbox on; CI containers run as root.
  if (process.getuid?.() === 0) args.push("--no-sandbox");
  return puppeteer.launch({
    executablePath,
    headless: true,
    pipe: true,
    args,
    timeout: CHROMIUM_TIMEOUTS.launchMs,
    protocolTimeout: CHROMIUM_TIMEOUTS.protocolMs,
    // The test runner owns signals; leave them alone.
    handleSIGINT: false,
    handleSIGTERM: false,
    handleSIGHUP: false,
  });
}

/** Closes the browser, killing its process if a graceful close does not finish in time. */
export async function closeChromium(browser: Browser | undefined): Promise<void> {
  if (browser === undefined) return;
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<"timeout">((resolve) => {
    timer = setTimeout(() => resolve("timeout"), CHROMIUM_TIMEOUTS.closeMs);
  });
  try {
    const outcome = await Promise.race([browser.close().then(() => "closed" as const), timedOut]);
    if (outcome === "timeout") browser.process()?.kill("SIGKILL");
  } catch {
    browser.process()?.kill("SIGKILL");
  } finally {
    clearTimeout(timer);
  }
}
