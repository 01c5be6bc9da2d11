import { Gauge } from "prom-client";
import type { Clock } from "../platform/clock.js";
import type { AuditCheckpoint } from "../platform/audit.js";
import type { Logger } from "../platform/logger.js";
import type { MetricsRegistry } from "../platform/metrics.js";
import { runOffThread } from "../maintenance/off-thread.js";

/** A verification walks the whole chain when the last such walk is older than this: daily. */
export const FULL_WALK_INTERVAL_MS = 86_400_000;

/** What the last verification of the audit hash chain found. */
export interface ChainStatus {
  ok: boolean;
  /** Entries found sound, from the first on (0 when broken at the first). */
  verifiedEntries: number;
  /** The first entry that breaks the chain, and why. */
  brokenAt?: number;
  reason?: string;
  /** When it was verified, ms since the epoch. */
  verifiedAt: number;
  /** When the whole chain was last walked from its first entry, ms since the epoch. */
  fullWalkAt?: number;
}

/** What the watch works with. */
export interface AuditChainWatchOptions {
  /** The database file: read in a worker thread, on a connection of its own. */
  databasePath: string;
  clock: Clock;
  logger: Logger;
  registry: MetricsRegistry;
}

/**
 * Verifies the audit log's hash chain when asked (by the security checker's quick schedule, and
 * by `GET /v1/audit`). Each verification goes on
 * from the last entry found sound (the first one, and one a day — {@link FULL_WALK_INTERVAL_MS} — walks the whole
 * chain), in a worker thread, so it stays quick at millions of entries and never blocks the event
 * loop. A break is logged once
 * (`security.audit_chain_broken`) and kept until a verification finds the chain sound again; the
 * metrics `opsguard_audit_chain_*` carry it to the alert OpsguardAuditChainBroken.
 */
export class AuditChainWatch {
  private checkpoint: AuditCheckpoint | undefined;
  /** When the last verification that walked the whole chain ran. */
  private fullWalkAt: number | undefined;
  private last: ChainStatus | undefined;
  private running: Promise<ChainStatus> | undefined;

  constructor(private readonly options: AuditChainWatchOptions) {
    const registers = [options.registry];
    const read = () => this.last;
    new Gauge({
      name: "opsguard_audit_chain_ok",
      help: "1 when the last verification found the audit log's hash chain sound, 0 when broken; absent before the first.",
      registers,
      collect() {
        this.reset();
        const last = read();
        if (last) this.set(last.ok ? 1 : 0);
      },
    });
    new Gauge({
      name: "opsguard_audit_chain_verified_entries",
      help: "Audit log entries found sound, from the first on, by the last verification.",
      registers,
      collect() {
        const last = read();
        if (last) this.set(last.verifiedEntries);
      },
    });
    new Gauge({
      name: "opsguard_audit_chain_last_verified_timestamp_seconds",
      help: "When the audit hash chain was last verified, in seconds since the epoch; 0 before the first time.",
      registers,
      collect() {
        this.set((read()?.verifiedAt ?? 0) / 1000);
      },
    });
  }

  /**
   * Verifies now, going on from the last sound entry (or from the first with `full`); joins a
   * verification under way.
   */
  verify(full = false): Promise<ChainStatus> {
    if (full && !this.running) this.checkpoint = undefined;
    this.running ??= this.verifyOnce().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  /** The last verification's result, if there has been one. */
  status(): ChainStatus | undefined {
    return this.last;
  }

  /** Waits for a verification under way. */
  async stop(): Promise<void> {
    await this.running?.catch(() => undefined);
  }

  private async verifyOnce(): Promise<ChainStatus> {
    const { databasePath, clock, logger } = this.options;
    // Going on from the checkpoint trusts what was verified before it; now and then the whole
    // chain is walked again, so an entry changed behind the checkpoint is found too.
    const startedAt = clock.now();
    if (this.fullWalkAt === undefined || startedAt - this.fullWalkAt >= FULL_WALK_INTERVAL_MS)
      this.checkpoint = undefined;
    const fullWalk = this.checkpoint === undefined;
    const result = await runOffThread("verifyAuditChain", databasePath, this.checkpoint);
    const verifiedAt = clock.now();
    if (result.ok) {
      this.checkpoint = result.checkpoint;
      if (fullWalk) this.fullWalkAt = startedAt;
      if (this.last && !this.last.ok)
        logger.info("the audit hash chain verifies again", { event: "security.audit_chain_restored" });
      this.last = {
        ok: true,
        verifiedEntries: result.checkpoint.seq,
        verifiedAt,
        fullWalkAt: this.fullWalkAt,
      };
      return this.last;
    }
    const wasBroken = this.last?.ok === false && this.last.brokenAt === result.brokenAt;
    // Sound up to the entry before the break; a later verification starts over from the first.
    this.last = {
      ok: false,
      verifiedEntries: result.brokenAt - 1,
      brokenAt: result.brokenAt,
      reason: result.reason,
      verifiedAt,
    };
    this.checkpoint = undefined;
    if (!wasBroken) {
      logger.error(`the audit hash chain is broken at entry ${result.brokenAt}: ${result.reason}`, {
        event: "security.audit_chain_broken",
        brokenAt: result.brokenAt,
        reason: result.reason,
      });
    }
    return this.last;
  }
}
