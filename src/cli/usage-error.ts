/** A command line opsguard does not understand: the CLI prints the message and exits 2. */
export class UsageError extends Error {}
