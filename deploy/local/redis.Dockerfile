# Redis from Debian's package, in place of the official image (REDIS_IMAGE), for machines that
# reach Debian's mirror but no image registry. Behaves as the official image does for the compose
# file: `redis-server` on the PATH, data in /data, an unprivileged user, and protected mode off
# (the official image builds it off: the compose network, not Redis, keeps others out).
ARG BASE_IMAGE=localhost/syndication-base:bookworm
FROM ${BASE_IMAGE}
RUN apt-get update -q && apt-get install -y -q --no-install-recommends redis-server \
    && rm -rf /var/lib/apt/lists/* /var/cache/apt/archives/*.deb \
    && mkdir -p /data && chown redis:redis /data
# Options given later on the command line win: a command that sets protected-mode keeps it.
RUN printf '#!/bin/sh\nif [ "$1" = redis-server ]; then shift; set -- redis-server --protected-mode no "$@"; fi\nexec "$@"\n' \
    > /usr/local/bin/redis-entrypoint && chmod +x /usr/local/bin/redis-entrypoint
WORKDIR /data
USER redis
EXPOSE 6379
ENTRYPOINT ["/usr/local/bin/redis-entrypoint"]
CMD ["redis-server"]
