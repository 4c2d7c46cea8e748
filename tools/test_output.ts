/**
 * What `deno task test` shows of deno test's output, and what it only writes to the run's log file.
 *
 * A whole run prints over 1,000 lines, 600 of them one `… ok` line per test. CI reads the run's closing line
 * (`tests: N passed, N failed, N skipped`) from that output; it judged stops 23–30 "ran no test" although the line
 * was there, and the one run it passed (stop 21) printed a fraction of this. So the terminal (and CI) gets what
 * a reader needs: failures and their errors, skipped tests, tests still running after a minute, a progress line
 * every 100 results, deno test's own closing line, and, when the run failed, the tests' own output. Everything,
 * unchanged, goes to the log file. `--verbose` shows everything as before.
 *
 * @module
 */

/** Removes ANSI colour codes. */
export function plain(line: string): string {
  // deno-lint-ignore no-control-regex
  return line.replace(/\x1b\[[0-9;]*m/g, "");
}

/** deno test's own closing line, e.g. `ok | 509 passed (8 steps) | 0 failed (11m36s)`, colours removed. */
export const DENO_CLOSING = /^(?:ok|FAILED) \| (\d+) passed(?: \(\d+ steps?\))? \| (\d+) failed(.*)$/;

/**
 * One output line as the run shows it (pure). deno test's closing line is passed on as `deno test: ok | …`:
 * CI reads a run's closing line in the formats of the runners it knows, deno's is not one of them, and a line
 * opening with `ok` can pass for another runner's (go test's `ok  <package>`) that ran no test. The run's own
 * closing line (`tests: N passed, N failed, N skipped`, the plain format) is the one to read.
 */
export function shownLine(raw: string): string {
  const line = plain(raw).trim();
  return DENO_CLOSING.test(line) ? `deno test: ${line}` : raw;
}

const BLOCK_START = /^-{7} (?:post-test )?output -{7}$/;
const BLOCK_END = /-{5} (?:post-test )?output end -{5}$/;
const PASSED = / \.\.\. ok(?: \([^)]*\))?$/;
const FAILED = / \.\.\. FAILED(?: \([^)]*\))?$/;
const SLOW = /' has been running for over \(\S+\)$/;
const ERROR_HEADERS = new Set(["ERRORS", "FAILURES"]);

/** How often a progress line is shown, in finished tests and steps. */
export const PROGRESS_EVERY = 100;

/**
 * Decides, line by line, what the terminal shows of deno test's output (a pure state machine: no I/O). The tests'
 * own output (deno's `output` blocks) is held, at most `holdLimit` lines (the newest), to be shown only when the
 * run fails.
 */
export class TerminalView {
  #verbose: boolean;
  #holdLimit: number;
  #inBlock = false;
  #inErrors = false;
  #held: string[] = [];
  #dropped = 0;
  #finished = 0;
  #failed = 0;
  #started: number;
  #now: () => number;

  constructor(opts: { verbose?: boolean; holdLimit?: number; now?: () => number } = {}) {
    this.#verbose = opts.verbose ?? false;
    this.#holdLimit = opts.holdLimit ?? 400;
    this.#now = opts.now ?? Date.now;
    this.#started = this.#now();
  }

  /** The lines to show now for one raw line of deno test's output (none, the line, or the line and progress). */
  take(raw: string): string[] {
    if (this.#verbose) return [shownLine(raw)];
    const line = plain(raw).trim();
    if (this.#inErrors) return [shownLine(raw)];
    if (ERROR_HEADERS.has(line)) {
      this.#inErrors = true;
      return [raw];
    }
    // A test's start line can share its line with the end of another test's output block.
    if (BLOCK_END.test(line)) {
      this.#inBlock = false;
      return [];
    }
    if (BLOCK_START.test(line)) {
      this.#inBlock = true;
      return [];
    }
    if (SLOW.test(line)) return [raw]; // deno prints these inside other tests' output blocks too
    if (this.#inBlock) {
      this.#hold(raw);
      return [];
    }
    if (PASSED.test(line)) return this.#count(false, []);
    if (FAILED.test(line)) return this.#count(true, [raw]);
    if (line === "" || /^Check \S+$/.test(line) || /^running \d+ tests? from /.test(line)) return [];
    return [shownLine(raw)];
  }

  /** The lines to show once deno test has ended: when it failed, the tests' own output that was held. */
  finish(failed: boolean, logPath: string): string[] {
    if (this.#verbose || !failed || this.#held.length === 0) return [];
    const left = this.#dropped ? `; the ${this.#dropped} before them are in ${logPath}` : "";
    return [`test: the tests' own output, the last ${this.#held.length} lines${left}:`, ...this.#held];
  }

  #hold(raw: string) {
    this.#held.push(raw);
    if (this.#held.length > this.#holdLimit) {
      this.#held.shift();
      this.#dropped++;
    }
  }

  #count(failed: boolean, shown: string[]): string[] {
    this.#finished++;
    if (failed) this.#failed++;
    if (this.#finished % PROGRESS_EVERY !== 0) return shown;
    const minutes = ((this.#now() - this.#started) / 60_000).toFixed(1);
    const failures = this.#failed ? `${this.#failed} of them FAILED` : "none failed";
    return [...shown, `test: ${this.#finished} tests and steps done after ${minutes} min, ${failures}`];
  }
}
