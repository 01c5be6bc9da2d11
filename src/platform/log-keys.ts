// triple-beam's keys (winston's own dependency), shared by the logger's formats and every transport.

/** The formatted line: set by the logger's last format, written by the transports. */
export const MESSAGE = Symbol.for("message");
/** The level as logged. */
export const LEVEL = Symbol.for("level");
