/**
 * The chaos run's two operator processes with leader election (one Lease per cluster), each serving every cluster
 * through the fault proxies: killed with SIGKILL as a crash or an eviction would, restarted as a new process (a new
 * identity, as a new pod would have). Tracks what the report needs: restarts, lease hand-overs (from the Lease
 * objects, read straight from each API server), watch restarts by reason (each process's /metrics, scraped while it
 * lives: a killed process's last scrape counts), and peak RSS.
 *
 * @module
 */
import { type OperatorProcess, startOperatorProcess } from "../../tests/_operator.ts";
import { ProcSampler } from "../../bench/proc.ts";
import { parseProm } from "../../bench/prom.ts";
import type { KubeClient } from "../../runtime/kube/client.ts";
import { objectPath, RESOURCES } from "../../runtime/kube/resources.ts";

/** Where the operator keeps its Leases when it runs outside a pod (cli/run.ts). */
export const LEASE = { namespace: "kube-system", name: "mysql-operator" };

/** One of the two slots (a, b); each holds at most one live process at a time. */
interface Slot {
  id: "a" | "b";
  generation: number;
  starting?: boolean;
  proc?: OperatorProcess;
  sampler?: ProcSampler;
  /** Watch restarts by reason of this slot's earlier processes, and the current one's last scrape. */
  lastScrape: Record<string, number>;
}

/** The two operators. */
export class Operators {
  readonly #slots: Slot[] = [
    { id: "a", generation: 0, lastScrape: {} },
    { id: "b", generation: 0, lastScrape: {} },
  ];
  readonly #watchRestarts: Record<string, number> = {};
  #peakRss = 0;
  restarts = 0;
  #scraper?: ReturnType<typeof setInterval>;

  constructor(
    readonly args: string[],
    readonly clients: Record<string, KubeClient>,
    readonly run: string,
    readonly log: (m: string) => void,
  ) {}

  /** Starts both. */
  async start(): Promise<void> {
    await Promise.all(this.#slots.map((s) => this.#start(s)));
    this.#scraper = setInterval(() => this.#scrapeAll(), 5_000);
  }

  #identity(s: Slot): string {
    return `chaos-${this.run}-${s.id}${s.generation}`;
  }

  async #start(s: Slot): Promise<void> {
    if (s.proc || s.starting) return;
    s.starting = true;
    s.generation++;
    let proc: OperatorProcess;
    try {
      proc = await startOperatorProcess([...this.args, "--identity", this.#identity(s)], {}, {
        logPrefix: `mysql-operator-chaos-${s.id}${s.generation}-`,
      });
    } finally {
      s.starting = false;
    }
    s.proc = proc;
    s.sampler = new ProcSampler(proc.child.pid, [], 1_000);
    s.lastScrape = {};
  }

  async #scrape(s: Slot): Promise<void> {
    if (!s.proc) return;
    try {
      const { body } = await s.proc.http("/metrics");
      const by: Record<string, number> = {};
      for (const x of parseProm(body)) {
        if (x.name === "mysql_operator_watch_restarts_total") {
          by[x.labels.reason ?? "?"] = (by[x.labels.reason ?? "?"] ?? 0) + x.value;
        }
      }
      s.lastScrape = by;
    } catch { /* it may be dying; the last scrape stands */ }
  }

  #scrapeAll(): void {
    for (const s of this.#slots) this.#scrape(s);
  }

  /** The identities holding each cluster's Lease now (undefined: none or unreadable). */
  async holders(): Promise<Record<string, string | undefined>> {
    const out: Record<string, string | undefined> = {};
    await Promise.all(
      Object.entries(this.clients).map(async ([ctx, c]) => {
        const path = objectPath(RESOURCES.lease, LEASE.namespace, LEASE.name);
        const lease = await c.request("GET", path, { signal: AbortSignal.timeout(5_000) }, "get").catch(() =>
          undefined
        );
        out[ctx] = lease?.spec?.holderIdentity;
      }),
    );
    return out;
  }

  /** Kills the process that leads most clusters (`both`: both processes); restarts after `restartAfterMs`. */
  async kill(target: "leader" | "both", restartAfterMs: number): Promise<string[]> {
    let victims: Slot[];
    if (target === "both") victims = this.#slots.filter((s) => s.proc);
    else {
      const held = Object.values(await this.holders());
      const count = (s: Slot) => held.filter((h) => h === this.#identity(s)).length;
      const live = this.#slots.filter((s) => s.proc).sort((x, y) => count(y) - count(x));
      victims = live.slice(0, 1);
    }
    const names = victims.map((s) => this.#identity(s));
    await Promise.all(victims.map(async (s) => {
      await this.#scrape(s);
      this.#retire(s);
      await s.proc!.kill();
      s.proc = undefined;
    }));
    this.log(`killed ${names.join(", ") || "nothing (none running)"}; restart in ${restartAfterMs} ms`);
    setTimeout(
      () => this.restartMissing().catch((e) => this.log(`restart failed: ${e.message}`)),
      restartAfterMs,
    );
    return names;
  }

  #retire(s: Slot): void {
    for (const [reason, n] of Object.entries(s.lastScrape)) {
      this.#watchRestarts[reason] = (this.#watchRestarts[reason] ?? 0) + n;
    }
    s.lastScrape = {};
    s.sampler?.stop();
    this.#peakRss = Math.max(this.#peakRss, s.sampler?.peakRssBytes ?? 0);
  }

  /** Starts whichever slot has no process. */
  async restartMissing(): Promise<void> {
    for (const s of this.#slots) {
      if (s.proc || s.starting) continue;
      await this.#start(s);
      this.restarts++;
    }
  }

  /** Watch restarts by reason over every process so far (live ones: their latest scrape). */
  async watchRestarts(): Promise<Record<string, number>> {
    await Promise.all(this.#slots.map((s) => this.#scrape(s)));
    const out = { ...this.#watchRestarts };
    for (const s of this.#slots) {
      for (const [reason, n] of Object.entries(s.lastScrape)) out[reason] = (out[reason] ?? 0) + n;
    }
    return out;
  }

  /** Highest RSS any operator process reached (bytes). */
  get peakRssBytes(): number {
    return Math.max(this.#peakRss, ...this.#slots.map((s) => s.sampler?.peakRssBytes ?? 0));
  }

  /** Log files of the live processes (for a failure's story). */
  logFiles(): string[] {
    return this.#slots.flatMap((s) => s.proc ? [s.proc.logFile] : []);
  }

  /** Stops both (SIGTERM, as a rollout would). */
  async stop(): Promise<void> {
    clearInterval(this.#scraper);
    await Promise.all(this.#slots.map(async (s) => {
      if (!s.proc) return;
      await this.#scrape(s);
      this.#retire(s);
      await s.proc.stop();
      s.proc = undefined;
    }));
  }
}
