# Builds every binary of the workspace; one image serves eppd, the zone publisher, the admin
# tool and epp-cli (choose with the container's command).
FROM rust:1-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked -p eppd -p registry-admin -p zonegen -p epp-cli

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates knot knot-dnsutils \
    && rm -rf /var/lib/apt/lists/*
COPY --from=build /src/target/release/eppd /src/target/release/registry-admin \
     /src/target/release/zonegen /src/target/release/epp-cli /usr/local/bin/
USER 65534:65534
ENTRYPOINT []
