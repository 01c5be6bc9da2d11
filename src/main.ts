#!/usr/bin/env node
/**
 * The `opsguard` command. The Node.js version is checked before anything else is loaded: on an
 * older one, opsguard's dependencies fail while loading, with an error that says nothing about
 * the version.
 */
const MIN_NODE_MAJOR = 22;

if (Number(process.versions.node.split(".")[0]) < MIN_NODE_MAJOR) {
  process.stderr.write(
    `opsguard needs Node.js ${MIN_NODE_MAJOR} or later (24 recommended); this is ${process.versions.node}\n`,
  );
  process.exit(1);
}
await import("./cli/main.js");
