#!/bin/sh
# The parts of the official nginx image's entrypoint that the compose file relies on
# (docker-entrypoint.d/15-local-resolvers.envsh and 20-envsubst-on-templates.sh), same variables:
#   NGINX_ENTRYPOINT_LOCAL_RESOLVERS  set: export NGINX_LOCAL_RESOLVERS, /etc/resolv.conf's servers
#   NGINX_ENVSUBST_FILTER             a regular expression: which variables envsubst replaces
#   NGINX_ENVSUBST_OUTPUT_DIR         where the rendered files go (default /etc/nginx/conf.d)
set -eu
if [ "${1:-}" = nginx ]; then
    if [ -n "${NGINX_ENTRYPOINT_LOCAL_RESOLVERS:-}" ]; then
        NGINX_LOCAL_RESOLVERS=$(awk 'BEGIN{ORS=" "} $1=="nameserver" {if ($2 ~ ":") {print "["$2"]"} else {print $2}}' /etc/resolv.conf)
        NGINX_LOCAL_RESOLVERS="${NGINX_LOCAL_RESOLVERS% }"
        export NGINX_LOCAL_RESOLVERS
    fi
    filter="${NGINX_ENVSUBST_FILTER:-}"
    # shellcheck disable=SC2046
    defined=$(printf '${%s} ' $(awk "END { for (name in ENVIRON) { print ( name ~ /${filter}/ ) ? name : \"\" } }" </dev/null))
    output="${NGINX_ENVSUBST_OUTPUT_DIR:-/etc/nginx/conf.d}"
    for template in /etc/nginx/templates/*.template; do
        [ -f "$template" ] || continue
        envsubst "$defined" < "$template" > "$output/$(basename "$template" .template)"
    done
fi
exec "$@"
