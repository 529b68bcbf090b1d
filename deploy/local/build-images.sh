#!/usr/bin/env bash
# Builds every image the compose file needs from Debian's packages alone, for machines that reach
# a Debian mirror and PyPI but no image registry:
#   localhost/syndication-base:bookworm   debootstrap --variant=minbase, python3, python3-venv,
#                                         this machine's CA certificates (for a TLS-inspecting proxy)
#   localhost/syndication-redis:bookworm  Debian's redis-server       (REDIS_IMAGE)
#   localhost/syndication-nginx:bookworm  Debian's nginx, rendering templates as the official
#                                         image does                  (NGINX_IMAGE)
#   syndication:latest                    the service (Dockerfile, BASE_IMAGE=the base above)
# Run as root (debootstrap). Environment:
#   ENGINE         podman (default) or docker
#   DEBIAN_MIRROR  default: the first Debian mirror in /etc/apt/sources.list*, else deb.debian.org
#   CACHE_DIR      where the base's tarball is kept, one per day and mirror
#                  (default ~/.cache/syndication-deploy)
#   PIP_INDEX_URL, PIP_EXTRA_INDEX_URL, PIP_TRUSTED_HOST: passed to the service's build (and read
#                  from pip's configuration when not set), so that it installs from the same index
set -euo pipefail
cd "$(dirname "$0")"
ROOT=$(cd ../.. && pwd)
ENGINE=${ENGINE:-podman}
SUITE=bookworm
BASE=localhost/syndication-base:$SUITE

mirror() {
  local found
  found=$(grep -h -o -E '(https?://[^ ]+/debian)/?( |$)' /etc/apt/sources.list /etc/apt/sources.list.d/* \
            2>/dev/null | head -n 1 | tr -d ' ' || true)
  echo "${found%/}"
}
MIRROR=${DEBIAN_MIRROR:-$(mirror)}
MIRROR=${MIRROR:-http://deb.debian.org/debian}
CACHE_DIR=${CACHE_DIR:-$HOME/.cache/syndication-deploy}
mkdir -p "$CACHE_DIR"
TARBALL="$CACHE_DIR/base-$SUITE-$(date -u +%Y%m%d)-$(printf %s "$MIRROR" | cksum | cut -d' ' -f1).tar"

if [ ! -s "$TARBALL" ]; then
  rootfs=$(mktemp -d "$CACHE_DIR/rootfs.XXXXXX")
  trap 'rm -rf "$rootfs"' EXIT
  echo "debootstrap $SUITE from $MIRROR"
  debootstrap --variant=minbase --include=python3,python3-venv,ca-certificates \
    "$SUITE" "$rootfs" "$MIRROR" >"$rootfs.log" 2>&1 || { cat "$rootfs.log" >&2; exit 1; }
  rm -f "$rootfs.log"
  # Package downloads may go through a proxy with its own certificate authority: the base
  # trusts what this machine trusts, so that pip and apt inside a build get through.
  if compgen -G "/usr/local/share/ca-certificates/*" >/dev/null; then
    cp -r /usr/local/share/ca-certificates/. "$rootfs/usr/local/share/ca-certificates/"
    chroot "$rootfs" update-ca-certificates >/dev/null
  fi
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
  rm -f "$CACHE_DIR"/base-$SUITE-*.tar  # yesterday's
  tar -C "$rootfs" -cf "$TARBALL.part" . && mv "$TARBALL.part" "$TARBALL"
  rm -rf "$rootfs"
  trap - EXIT
fi
"$ENGINE" import "$TARBALL" "$BASE" >/dev/null

# HEALTHCHECK is part of the Docker image format only; podman builds OCI images unless told.
format=()
[ "$ENGINE" = podman ] && format=(--format docker)

"$ENGINE" build "${format[@]}" -q --build-arg BASE_IMAGE="$BASE" \
  -t localhost/syndication-redis:$SUITE -f redis.Dockerfile . >/dev/null
"$ENGINE" build "${format[@]}" -q --build-arg BASE_IMAGE="$BASE" \
  -t localhost/syndication-nginx:$SUITE -f nginx.Dockerfile . >/dev/null

pip_args=()
for name in index-url extra-index-url trusted-host; do
  var="PIP_$(echo "$name" | tr a-z- A-Z_)"
  value=${!var:-$(python3 -m pip config get "global.$name" 2>/dev/null || true)}
  # Indexes on this machine's disk (file://) mean nothing inside the build.
  value=$(printf '%s\n' $value | grep -v '^file:' | paste -sd' ' || true)
  if [ -n "$value" ]; then pip_args+=(--build-arg "$var=$value"); fi
done
"$ENGINE" build "${format[@]}" -q --build-arg BASE_IMAGE="$BASE" "${pip_args[@]}" \
  -t syndication:latest "$ROOT" >/dev/null
echo "built $BASE, localhost/syndication-redis:$SUITE, localhost/syndication-nginx:$SUITE, syndication:latest"
