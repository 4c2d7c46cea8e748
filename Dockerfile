# syntax=docker/dockerfile:1
# mysql-operator: main.ts compiled by the pinned Deno into one executable with the operator's permissions and V8 flags baked in
# (tools/compile.ts with cli/permissions.ts: network, environment, read; no write, no subprocess, no FFI), run as
# a non-root user from a distroless base. The Deployment in deploy/ runs it with a read-only root filesystem.
#
#   docker build -t REGISTRY/mysql-operator:0.1.0 .
#
# Base images are pinned by tag and digest; the Deno version must equal package.json's `deno` (the one the tests
# run), which tests/deploy_test.ts checks.

ARG DENO_VERSION=2.9.6

# ---- build: compile in the Deno image ----
FROM denoland/deno:debian-2.9.6@sha256:2014dc167ece617ef7e7ba40631ac2234c59e75ce693e7cc2dc2602b3c87859d AS build
ARG DENO_VERSION
ARG TARGETARCH=amd64
WORKDIR /src
# denort, the runtime of compiled executables, fetched here and given with DENORT_BIN (so the build stage
# pins the exact file it compiles with; `deno task compile` alone would fetch the same one).
RUN apt-get update \
  && apt-get install -y --no-install-recommends ca-certificates curl unzip libjemalloc2 \
  && rm -rf /var/lib/apt/lists/* \
  && case "$TARGETARCH" in \
       amd64) target=x86_64-unknown-linux-gnu ;; \
       arm64) target=aarch64-unknown-linux-gnu ;; \
       *) echo "unsupported TARGETARCH $TARGETARCH" >&2; exit 1 ;; \
     esac \
  && curl -fsSL -o /tmp/denort.zip "https://dl.deno.land/release/v${DENO_VERSION}/denort-${target}.zip" \
  && unzip -q /tmp/denort.zip -d /opt/denort \
  && rm /tmp/denort.zip \
  && cp /usr/lib/*-linux-gnu/libjemalloc.so.2 /opt/libjemalloc.so.2
# npm dependencies exactly as locked (nodeModulesDir: manual), in their own layer.
COPY deno.json deno.lock package.json package-lock.json ./
RUN deno install --frozen
COPY . .
RUN DENORT_BIN=/opt/denort/denort deno task compile

# ---- runtime: distroless (glibc, CA certificates, no shell), non-root ----
FROM gcr.io/distroless/cc-debian12:nonroot@sha256:9dac0a79194e45a7da0158a9c6da57b217585af0786db3845d1f0ec1a0dd182f
COPY --from=build /src/dist/mysql-operator /usr/local/bin/mysql-operator
# jemalloc, preloaded by its soname from /usr/lib (it needs only libc, libm, libstdc++ and libgcc_s: all in this base).
COPY --from=build /opt/libjemalloc.so.2 /usr/lib/libjemalloc.so.2
USER 65532:65532
# The allocator: jemalloc with its settings; glibc's settings where it could not be loaded; and no release check
# (the compiled binary makes none; the variable is there to keep this environment OPERATOR_ENV's, which says why).
ENV GLIBC_TUNABLES=glibc.malloc.arena_max=2:glibc.malloc.mmap_threshold=131072:glibc.malloc.trim_threshold=131072
ENV LD_PRELOAD=libjemalloc.so.2
ENV MALLOC_CONF=narenas:1,tcache:false,dirty_decay_ms:0,muzzy_decay_ms:0
ENV DENO_NO_UPDATE_CHECK=1
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/mysql-operator"]
CMD ["run", "--in-cluster", "--log-format", "json", "--http-addr", ":8080"]
