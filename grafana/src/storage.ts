import type { Row } from "./frame.js";
import { UNITS, statPanel, thresholds, timeSeries } from "./panels.js";
import { quantile, rate, series, sumBy } from "./promql.js";
import { prom } from "./queries.js";

const FREE = series("opsguard_data_volume_free_bytes");
const SIZE = series("opsguard_data_volume_size_bytes");
/** The window the forecast fits a line over, as the alert OpsguardDataVolumeFillingUp does. */
const FIT = "6h";
const MIB = 1024 * 1024;

/**
 * The Storage row of opsguard-runtime: the database and its WAL, and the volume that holds them
 * with a forecast of when it fills. The system report (docs/reports-system.md) has the same
 * figures over days, with recommendations.
 */
export function storageRow(): Row {
  return {
    title: "Storage",
    panels: [
      statPanel(
        {
          title: "Database",
          description: "Size of the SQLite database file, without its WAL.",
          unit: UNITS.bytes,
          width: 6,
        },
        [prom(`max(${series("opsguard_database_bytes")})`)],
        { thresholds: thresholds(["blue", null]) },
      ),
      statPanel(
        {
          title: "WAL",
          description:
            "Size of the write-ahead log. SQLite reuses it after each checkpoint and never shrinks it: a large value is the high-water mark of a checkpoint that could not run (OpsguardDatabaseWalLarge above 256 MiB).",
          unit: UNITS.bytes,
          width: 6,
        },
        [prom(`max(${series("opsguard_database_wal_bytes")})`)],
        { thresholds: thresholds(["green", null], ["orange", 64 * MIB], ["red", 256 * MIB]) },
      ),
      statPanel(
        {
          title: "Free on data volume",
          description: "Share of the data folder's file system that opsguard may still write.",
          unit: UNITS.ratio,
          width: 6,
        },
        [prom(`min(${FREE} / ${SIZE})`)],
        { thresholds: thresholds(["red", null], ["orange", 0.1], ["green", 0.2]) },
      ),
      statPanel(
        {
          title: "Volume full in",
          description: `When the data volume fills at the rate of the last ${FIT} (least squares): free bytes ÷ how fast they fall. Empty when free space does not fall.`,
          unit: UNITS.seconds,
          width: 6,
        },
        [prom(`min(${FREE} / -(deriv(${FREE}[${FIT}]) < 0))`)],
        { thresholds: thresholds(["red", null], ["orange", 2 * 86400], ["green", 7 * 86400]) },
      ).noValue("not filling"),
      timeSeries(
        {
          title: "Database and WAL size",
          description:
            "Size of the database file and of its WAL. The database grows with operations and audit entries; a WAL that climbs means checkpoints do not complete (a reader holds a snapshot).",
          unit: UNITS.bytes,
        },
        [
          prom(`max(${series("opsguard_database_bytes")})`, "database"),
          prom(`max(${series("opsguard_database_wal_bytes")})`, "wal"),
        ],
      ),
      timeSeries(
        {
          title: "WAL checkpoints",
          description:
            "Checkpoints per second on the checkpoint thread (one per database.checkpointIntervalMs), by outcome: complete, partial while a reader (a backup's copy) holds an older snapshot, failed (logged once as db.checkpoint_failed).",
          unit: UNITS.countsPerSecond,
        },
        [prom(sumBy(["outcome"], rate("opsguard_wal_checkpoints_total")), "{{outcome}}")],
      ),
      timeSeries(
        {
          title: "WAL checkpoint duration",
          description:
            "p99 of how long a checkpoint took on its thread, the disk's sync included; it runs beside the requests, not in their way.",
          unit: UNITS.seconds,
        },
        [prom(quantile(0.99, "opsguard_wal_checkpoint_duration_seconds", []), "p99")],
      ),
      timeSeries(
        {
          title: "Data volume free space",
          description: `Free bytes on the data folder's file system, and what a line fitted over the last ${FIT} predicts 4 hours later: OpsguardDataVolumeFillingUp fires when that forecast is below 0.`,
          unit: UNITS.bytes,
        },
        [
          prom(`min(${FREE})`, "free"),
          prom(`min(predict_linear(${FREE}[${FIT}], 4 * 3600))`, "forecast in 4 h"),
          prom(`max(${SIZE})`, "volume size"),
        ],
        { thresholds: thresholds(["red", null], ["transparent", 0]) },
      ),
    ],
  };
}
