/**
 * Silences Node's deprecation warnings (client-node's dependencies load the deprecated `punycode` module), which
 * would otherwise print a non-JSON line on stderr in the middle of `--log-format json` output. Imported first by
 * the entry point's static imports, before any npm module is evaluated.
 *
 * @module
 */
import process from "node:process";

process.noDeprecation = true;
