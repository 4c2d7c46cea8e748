/**
 * Silences Node's deprecation warnings (client-node's dependencies load the deprecated `punycode` module), which
 * would otherwise print a non-JSON line on stderr in the middle of `--log-format json` output. Imported by
 * config.ts just before it loads client-node, not at start: loading `node:process` costs 0.5–1 MB of resident
 * memory (README, "Node compatibility at start"), which an operator that never loads client-node does not
 * need.
 *
 * @module
 */
import process from "node:process";

process.noDeprecation = true;
