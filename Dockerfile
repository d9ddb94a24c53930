# syntax=docker/dockerfile:1
# odoo-sync in a small image: `docker build -t odoo-sync .` (BuildKit, the default builder).
# The build stage keeps the cargo registry and target dir in cache mounts, so a rebuild after a
# source change compiles only the workspace's own crates.

# The toolchain the project is tested with (rust-version in Cargo.toml is the minimum).
ARG RUST_VERSION=1.95
FROM rust:${RUST_VERSION}-slim-bookworm AS build
WORKDIR /src
COPY . .
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/usr/local/cargo/git \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked -p odoo-sync \
    && cp target/release/odoo-sync /usr/local/bin/odoo-sync

FROM debian:bookworm-slim AS runtime
# odoo-sync checks Odoo's certificate against the roots compiled into it (rustls, webpki-roots);
# ca-certificates is for anything else run in the container (a debugging shell's tools).
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates=20230311* \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 odoo-sync \
    && useradd --system --uid 10001 --gid 10001 --home-dir /var/lib/odoo-sync --create-home odoo-sync
COPY --from=build /usr/local/bin/odoo-sync /usr/local/bin/odoo-sync
USER 10001:10001
WORKDIR /var/lib/odoo-sync
# SQLite by default, in the volume; set DATABASE_URL=postgres://… for several instances.
ENV BIND=0.0.0.0:8080 \
    DATABASE_URL=sqlite:///var/lib/odoo-sync/catalog.sqlite \
    LOG_FORMAT=json
VOLUME ["/var/lib/odoo-sync"]
EXPOSE 8080
# No curl in the image: the binary asks its own /healthz.
HEALTHCHECK --interval=30s --timeout=6s --start-period=20s --retries=3 \
    CMD ["odoo-sync", "healthcheck"]
ENTRYPOINT ["odoo-sync"]
CMD ["serve"]
