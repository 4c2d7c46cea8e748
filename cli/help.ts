/**
 * `--help` texts: what each subcommand does, every flag, and examples.
 *
 * @module
 */

const SELECTION = `Cluster selection:
  --kubeconfig PATH        kubeconfig to read (default: $KUBECONFIG, then ~/.kube/config)
  --context NAME           serve this kubeconfig context; repeat for several (default: the current context)
  --all-contexts           serve every context of the kubeconfig
  --in-cluster             also serve the cluster this pod runs in (service-account token); alone, only that one
  --namespace NS           only these namespaces; repeat for several (default: all)
  -h, --help               this help`;

/** Help texts by subcommand. */
export const HELP: Record<string, string> = {
  main:
    `mysql-operator — runs MySQL instances declared as MySQL objects (mysqls.otus.homework/v1, short name ms)
in one or many Kubernetes clusters from one process.

Usage:
  mysql-operator run [flags]       run the operator (one watcher per selected context)
  mysql-operator status [flags]    one table of every MySQL object across the selected contexts
  mysql-operator crd [--install]   print the CRD, or install it into the selected contexts
  mysql-operator diff [-f FILE|DIR] what applying MySQL manifests would make the operator do, per cluster
  mysql-operator backups [flags]   every backup of every instance across the contexts and object stores
  mysql-operator migrate --from CTX/NS/NAME --to CTX/NS [--delete-source]
                                   move an instance to another cluster through its object store
  mysql-operator --version         print the version
  mysql-operator COMMAND --help    help of a command

Examples:
  mysql-operator run --all-contexts
  mysql-operator run --context minikube --context staging --log-format pretty
  mysql-operator status --all-contexts -o json
  mysql-operator crd --install --context minikube`,
  run: `mysql-operator run — reconcile MySQL objects in the selected clusters until SIGINT/SIGTERM.

Each context gets its own client, caches, work queue and lease: a slow or dead cluster does not slow the others.
On SIGINT/SIGTERM it stops taking work, lets running reconciles finish and releases its leases.

${SELECTION}
  --kubeconfig-dir DIR     also serve every context of the kubeconfig files in DIR, followed while running: a file
                           added adds its contexts, a changed one reconnects them, a removed one stops them
                           (watches end, leases released); a bad file is reported in /readyz, the rest served.
                           Alone, only DIR's contexts are served.
  --cluster-secrets-selector LABEL  also serve the clusters of the Secrets matching LABEL (e.g.
                           mysql-operator/cluster=true), each holding a kubeconfig under the key "kubeconfig"; followed
                           like --kubeconfig-dir (every 2 s). Read through --in-cluster, else the first --context.
                           A Secret annotated otus.homework/reconcile=paused pauses its cluster.
  --cluster-secrets-namespace NS  where those Secrets are (default: $POD_NAMESPACE, else the pod's namespace)
  --paused-context NAME    keep watching this context but reconcile nothing there (maintenance); repeatable

Operation:
  --concurrency N          objects reconciled at once per cluster (default 32)
  --total-concurrency N    objects reconciled at once in the whole process, split evenly between the clusters
                           (default 64: 32 each up to 2 clusters, 21 each at 3, 6 each at 10; never below 2)
  --hostpath-root DIR      node directory of operator-made hostPath volumes (default /tmp/hostpath_pv)
  --image-pull-policy P    Always | IfNotPresent | Never for every pod (default: the cluster's)
  --resync-seconds N       re-check every object at least this often (default 600)

Leader election (one Lease per cluster; two processes never reconcile one cluster at once):
  --leader-elect           elect one leader per cluster through a Lease (the default)
  --no-leader-elect        reconcile without a Lease (one process only!)
  --no-shard               lead every cluster whose Lease is free; by default replicas over the same clusters
                           share them: each leads at most ceil(clusters / live replicas), seen through member
                           Leases (<lease name>-member-N) in every cluster, and hands over the rest
  --lease-namespace NS     namespace of the Lease (default: $POD_NAMESPACE, else kube-system)
  --lease-name NAME        Lease name (default mysql-operator)
  --lease-duration-seconds N  failover time after a holder dies (default 15)
  --identity ID            lease holder identity, also sent in the User-Agent (default: hostname-pid-random)

Output:
  --log-format FMT         json (default: JSON lines) | pretty (one readable line per record)
  --log-level LEVEL        debug | info (default) | warning | error
  --http-addr HOST:PORT    /healthz, /readyz, /metrics (default 127.0.0.1:8080; :0 picks a free port; "off" disables)`,
  diff:
    `mysql-operator diff — before a sync: what applying MySQL manifests (-f), or the operator's next pass over
the live objects (no -f), would do in each selected cluster, without changing anything.

Per object: the MySQL object itself (server-side dry-run apply: the API server's defaults and validation), then
each child from the operator's own rendering and decisions: create, update, unchanged, blocked (the name is held
by another app's object), and destructive steps flagged (mysqld restarted by a Recreate rollout, data deleted;
a storage increase is said not to be done: an existing volume is never resized). An object being deleted (or,
with --prune, one the manifests no longer have) shows its final backup and what happens to its data.

Exit status: 0 no change, 1 changes, 2 an error (a manifest the API server rejects, a cluster not reached).

${SELECTION}
  -f, --filename PATH      a YAML/JSON file or a directory of them (repeat for several); objects of other kinds
                           are skipped
  --prune                  also show the deletion of live MySQL objects in the manifests' namespaces that the
                           manifests do not have (what a GitOps prune would do)
  --hostpath-root DIR      the operator's --hostpath-root (default /tmp/hostpath_pv)
  --image-pull-policy P    the operator's --image-pull-policy

Examples:
  mysql-operator diff -f deploy/mysql-instance.yaml --all-contexts
  mysql-operator diff -f manifests/ --context east --prune
  mysql-operator diff --namespace prod --all-contexts`,
  status: `mysql-operator status — one table of every MySQL object across the selected contexts.

Columns: CLUSTER NAMESPACE NAME READY PHASE STORAGE LAST-BACKUP AGE. A context that cannot be reached is listed
with its error; the others are still shown. Then one line per cluster: CLUSTER REACHABLE LEADER LAST-RENEW (the
holder of the operator's Lease there and when it last renewed it: its last contact); -o json adds "clusters".

${SELECTION}

Output:
  -o, --output FMT         table (default) | json`,
  backups:
    `mysql-operator backups — every backup of every instance, newest first, across the selected contexts
and the object stores their MySQL objects name.

A store is listed whole (under its prefix): instances of other clusters, and of deleted ones, are shown too — their
backups outlive them. A backup is listed only when complete (a manifest naming a dump of its size, what a restore
may pick). For an instance on the backup volume the newest backup its status records is shown (the volume is not
readable from here). The stores' keys are read from the Secrets the objects name, with your own access.

Columns: TIME CLUSTER INSTANCE TARGET SIZE VERIFIED FILE. A context or store that cannot be read is reported with
its error (exit status 1); the others are still shown.

${SELECTION}

Output:
  -o, --output FMT         table (default) | json

Examples:
  mysql-operator backups --all-contexts
  mysql-operator backups --context east --namespace prod -o json`,
  migrate:
    `mysql-operator migrate — move a MySQL instance to another cluster (or namespace) through its object store.

Steps, each read back from the objects, so that a run killed anywhere continues when run again:
  1. backup   the source takes a read-only backup: writes stop for good first (a write acknowledged after the
              copy would be lost), and each table's row count and sum go into the backup's manifest
              (annotation otus.homework/migrate-backup, answered in status.migrateBackup)
  2. target   a MySQL with the source's spec is created in the target with spec.restoreFrom naming that backup
              (annotation otus.homework/migrated-from); the Secrets it names are copied when missing there
  3. restore  its restore Job loads the backup and compares every table's row count and sum with the
              manifest (a mismatch undoes the load and fails); the target is then Ready
  4. delete   with --delete-source only, and only when the target compared every table the backup summed and
              the source's mysqld has not started again since its freeze: the source is deleted through its
              guarded deletion (final backup first)
Without --delete-source the source stays, read-only. The source must keep its backups in an object store
(spec.backup.objectStore) that the target's cluster reaches; the operator must serve both clusters.
A target of that name not made by this migration is never touched (exit status 1).

  --from CTX/NS/NAME       the source: kubeconfig context, namespace, name
  --to CTX/NS              the target: kubeconfig context and namespace (the name stays)
  --delete-source          delete the source once the target has restored and verified the data
  --kubeconfig PATH        kubeconfig to read (default: $KUBECONFIG, then ~/.kube/config)
  --timeout-seconds N      give up after N seconds (default 1800; run again to continue)
  -h, --help               this help

Exit status: 0 done, 1 a step failed or the time ran out (the message says which), 2 usage.

Examples:
  mysql-operator migrate --from east/shop/db --to west/shop
  mysql-operator migrate --from east/shop/db --to west/shop --delete-source`,
  crd:
    `mysql-operator crd — print the CustomResourceDefinition of mysqls.otus.homework as YAML, or install it.

  --install                apply it (server-side) to the selected contexts instead of printing
  --kubeconfig PATH        kubeconfig to read (default: $KUBECONFIG, then ~/.kube/config)
  --context NAME           target context; repeat for several (default: the current context)
  --all-contexts           every context of the kubeconfig
  -h, --help               this help`,
};
