/**
 * A process that keeps a given share of one core busy, for as long as it runs: `tsx
 * bench/cpu-load.ts 0.3` spins 3 ms of every 10 ms. Phase 11 runs it beside the server without
 * consumers, at the CPU the consumers used, so that both servers share the machine alike.
 *
 * Hand-written: it is a busy loop on a timer, and no package does less.
 */
const share = Math.min(1, Math.max(0, Number(process.argv[2])));
if (!Number.isFinite(share)) throw new Error(`cpu-load: not a share of a core: ${process.argv[2]}`);
const PERIOD_MS = 10;

setInterval(() => {
  const until = performance.now() + share * PERIOD_MS;
  while (performance.now() < until);
}, PERIOD_MS);
