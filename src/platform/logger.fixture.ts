import { Writable } from "node:stream";
import winston from "winston";
import { createLogger, type Logger } from "./logger.js";

// Shared by tests that read what was logged; not a test file itself.

/** A real logger whose lines are kept, as written (`raw`) and parsed (`lines`). */
export function capturingLogger(level = "info"): {
  logger: Logger;
  lines: Record<string, unknown>[];
  raw: string[];
} {
  const lines: Record<string, unknown>[] = [];
  const raw: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      raw.push(chunk.toString());
      lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      done();
    },
  });
  const logger = createLogger({
    level,
    env: "test",
    transports: [new winston.transports.Stream({ stream })],
  });
  return { logger, lines, raw };
}
