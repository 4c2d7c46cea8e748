/**
 * A small Prometheus registry: counters, gauges and histograms with labels, rendered in the text exposition format.
 * Every series the operator exports carries a `cluster` label, except the process's memory (read at each scrape).
 *
 * @module
 */

type Labels = Record<string, string>;

/**
 * The series' key: `k="v"` pairs sorted by name. Built by appending, with the one array of names sorted in place: it
 * runs on every request and several times per pass, and the mapped array of pairs was garbage each time.
 */
function labelKey(labels: Labels): string {
  const names = Object.keys(labels);
  if (names.length > 1) names.sort();
  let key = "";
  for (let i = 0; i < names.length; i++) {
    key += `${i ? "," : ""}${names[i]}="${escape(labels[names[i]])}"`;
  }
  return key;
}

const NEEDS_ESCAPE = /[\\\n"]/;

function escape(v: string): string {
  // Most values need nothing: no new strings then (this runs for every metric update, several per pass).
  if (!NEEDS_ESCAPE.test(v)) return v;
  return v.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');
}

abstract class Metric {
  constructor(readonly name: string, readonly help: string, readonly type: string) {}
  abstract lines(): string[];
}

/** A monotonically increasing counter. */
export class Counter extends Metric {
  readonly #values = new Map<string, number>();
  /** Creates a counter. */
  constructor(name: string, help: string) {
    super(name, help, "counter");
  }
  /** Adds `n` (default 1). */
  inc(labels: Labels, n = 1): void {
    const k = labelKey(labels);
    this.#values.set(k, (this.#values.get(k) ?? 0) + n);
  }
  /** Current value (tests). */
  get(labels: Labels): number {
    return this.#values.get(labelKey(labels)) ?? 0;
  }
  /** Exposition lines. */
  lines(): string[] {
    return [...this.#values].map(([k, v]) => `${this.name}${k ? `{${k}}` : ""} ${v}`);
  }
}

/** A value that goes up and down. */
export class Gauge extends Metric {
  readonly #values = new Map<string, { labels: Labels; v: number }>();
  /** Owner's labels → the key of its one series ({@linkcode Gauge.setOnly}). */
  readonly #owned = new Map<string, string>();
  /** Creates a gauge. */
  constructor(name: string, help: string) {
    super(name, help, "gauge");
  }
  /** Sets the value. */
  set(labels: Labels, v: number): void {
    this.#values.set(labelKey(labels), { labels, v });
  }
  /** Removes a series. */
  delete(labels: Labels): void {
    this.#values.delete(labelKey(labels));
  }
  /**
   * Sets the one series of `owner` (e.g. an instance), whose other labels (`extra`: e.g. its phase) change over
   * time: the owner's previous series goes. Constant work per call (a pass must not scan every instance's series).
   */
  setOnly(owner: Labels, extra: Labels, v: number): void {
    const ownerKey = labelKey(owner);
    const labels = { ...owner, ...extra };
    const key = labelKey(labels);
    const previous = this.#owned.get(ownerKey);
    if (previous !== undefined && previous !== key) this.#values.delete(previous);
    this.#owned.set(ownerKey, key);
    this.#values.set(key, { labels, v });
  }
  /**
   * Removes the series of `owner`: the one set with exactly its labels and the one of {@linkcode Gauge.setOnly}.
   * Constant work: a deletion of each of 900 instances scanning every series made the deletions quadratic
   * (490 MB allocated while 300 instances were deleted).
   */
  forget(owner: Labels): void {
    const ownerKey = labelKey(owner);
    this.#values.delete(ownerKey);
    const key = this.#owned.get(ownerKey);
    if (key === undefined) return;
    this.#values.delete(key);
    this.#owned.delete(ownerKey);
  }
  /** Removes every series whose labels include all of `labels` (a scan: for a whole cluster, rarely). */
  deleteMatching(labels: Labels): void {
    const names = Object.keys(labels);
    const match = (l: Labels) => {
      for (let i = 0; i < names.length; i++) if (l[names[i]] !== labels[names[i]]) return false;
      return true;
    };
    for (const [k, s] of this.#values) if (match(s.labels)) this.#values.delete(k);
    for (const [owner, key] of this.#owned) if (!this.#values.has(key)) this.#owned.delete(owner);
  }
  /** Current value (tests). */
  get(labels: Labels): number | undefined {
    return this.#values.get(labelKey(labels))?.v;
  }
  /** Exposition lines. */
  lines(): string[] {
    return [...this.#values].map(([k, s]) => `${this.name}${k ? `{${k}}` : ""} ${s.v}`);
  }
}

/** A histogram with fixed buckets. */
export class Histogram extends Metric {
  readonly #series = new Map<string, { counts: number[]; sum: number; count: number }>();
  readonly #buckets: number[];
  /** Creates a histogram with upper bounds `buckets` (seconds). */
  constructor(name: string, help: string, buckets: number[]) {
    super(name, help, "histogram");
    this.#buckets = [...buckets].sort((a, b) => a - b);
  }
  /** Records one observation. */
  observe(labels: Labels, v: number): void {
    const k = labelKey(labels);
    let s = this.#series.get(k);
    if (!s) this.#series.set(k, s = { counts: this.#buckets.map(() => 0), sum: 0, count: 0 });
    this.#buckets.forEach((b, i) => {
      if (v <= b) s!.counts[i]++;
    });
    s.sum += v;
    s.count++;
  }
  /** Exposition lines. */
  lines(): string[] {
    const out: string[] = [];
    for (const [k, s] of this.#series) {
      const sep = k ? "," : "";
      this.#buckets.forEach((b, i) => out.push(`${this.name}_bucket{${k}${sep}le="${b}"} ${s.counts[i]}`));
      out.push(`${this.name}_bucket{${k}${sep}le="+Inf"} ${s.count}`);
      out.push(`${this.name}_sum{${k}} ${s.sum}`);
      out.push(`${this.name}_count{${k}} ${s.count}`);
    }
    return out;
  }
}

/** The operator's metrics. */
export class OperatorMetrics {
  readonly reconciles = new Counter("mysql_operator_reconciles_total", "Reconcile passes by result.");
  readonly reconcileErrors = new Counter(
    "mysql_operator_reconcile_errors_total",
    "Reconcile passes that failed.",
  );
  readonly reconcileDuration = new Histogram(
    "mysql_operator_reconcile_duration_seconds",
    "Duration of reconcile passes.",
    [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  );
  readonly queueDepth = new Gauge("mysql_operator_queue_depth", "Keys waiting to be reconciled.");
  readonly oldestPassDue = new Gauge(
    "mysql_operator_oldest_pass_due_seconds",
    "Age of the oldest object whose state says a pass is due that has not happened (children ready, status not).",
  );
  readonly watchRestarts = new Counter(
    "mysql_operator_watch_restarts_total",
    "Watches restarted, by reason.",
  );
  readonly apiRequests = new Counter(
    "mysql_operator_api_requests_total",
    "API requests by verb, resource and HTTP code.",
  );
  readonly lastBackup = new Gauge(
    "mysql_operator_last_successful_backup_timestamp_seconds",
    "Unix time of the last successful backup per instance.",
  );
  readonly lastBackupSize = new Gauge(
    "mysql_operator_last_successful_backup_size_bytes",
    "Size of the last successful backup per instance; target says where its backups go (volume or store).",
  );
  readonly backupFailures = new Counter("mysql_operator_backup_failures_total", "Backup Jobs that failed.");
  readonly instanceStatus = new Gauge(
    "mysql_operator_instance_status",
    "1 per instance, labelled with its phase and reason (Ready's; Reconciling's while paused).",
  );
  readonly instanceCreated = new Gauge(
    "mysql_operator_instance_created_timestamp_seconds",
    "Unix time the instance was created (the age of one that has no backup yet).",
  );
  readonly backupInterval = new Gauge(
    "mysql_operator_backup_interval_seconds",
    "Longest gap between the slots of the instance's backup schedule (capped at 32 days).",
  );
  readonly retainedVolumes = new Counter(
    "mysql_operator_retained_volumes_total",
    "Instances whose data was kept on its volume without a final backup (their namespace was deleted).",
  );
  readonly leader = new Gauge("mysql_operator_lease_held", "1 when this process holds the cluster's lease.");
  readonly leaseHolder = new Gauge(
    "mysql_operator_lease_holder_info",
    "The cluster's lease holder (value 1).",
  );
  readonly clusterUp = new Gauge("mysql_operator_cluster_up", "1 when the cluster's watches are connected.");
  readonly synced = new Gauge("mysql_operator_cluster_synced", "1 when the cluster's caches have synced.");
  readonly residentMemory = new Gauge("process_resident_memory_bytes", "Resident memory size in bytes.");
  readonly heapUsed = new Gauge(
    "mysql_operator_heap_used_bytes",
    "V8 heap in use (live objects and garbage).",
  );
  readonly heapTotal = new Gauge("mysql_operator_heap_total_bytes", "V8 heap reserved.");
  readonly externalMemory = new Gauge(
    "mysql_operator_external_memory_bytes",
    "Memory outside the V8 heap held for JS objects (ArrayBuffers, external strings).",
  );

  /**
   * Drops every per-instance series of a cluster: a process that stops leading it no longer knows them (and
   * would keep objects deleted meanwhile forever).
   */
  forgetInstances(cluster: string): void {
    for (const g of this.instanceGauges()) g.deleteMatching({ cluster });
  }

  /** The gauges with one series per instance (labels `cluster`, `namespace`, `name`). */
  instanceGauges(): Gauge[] {
    return [
      this.lastBackup,
      this.lastBackupSize,
      this.instanceStatus,
      this.instanceCreated,
      this.backupInterval,
    ];
  }

  /** Drops every gauge series of a cluster no longer served (counters stay: they only ever count up). */
  forgetCluster(cluster: string): void {
    for (const m of Object.values(this)) if (m instanceof Gauge) m.deleteMatching({ cluster });
  }

  /** Prometheus text exposition. */
  render(): string {
    const mem = Deno.memoryUsage();
    this.residentMemory.set({}, mem.rss);
    this.heapUsed.set({}, mem.heapUsed);
    this.heapTotal.set({}, mem.heapTotal);
    this.externalMemory.set({}, mem.external);
    const out: string[] = [];
    for (const m of Object.values(this)) {
      if (!(m instanceof Metric)) continue;
      out.push(`# HELP ${m.name} ${m.help}`, `# TYPE ${m.name} ${m.type}`, ...m.lines());
    }
    return out.join("\n") + "\n";
  }
}
