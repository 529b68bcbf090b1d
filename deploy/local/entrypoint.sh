#!/bin/sh
# What the official nginx image's entrypoint does, for the parts the compose file relies on:
# when the command is nginx, source each executable /docker-entrypoint.d/*.envsh and run each
# executable *.sh, in order, then render /etc/nginx/templates/*.template with envsubst
# (the official 20-envsubst-on-templates.sh), same variables:
#   NGINX_ENVSUBST_FILTER      a regular expression: which variables envsubst replaces
#   NGINX_ENVSUBST_OUTPUT_DIR  where the rendered files go (default /etc/nginx/conf.d)
set -eu
if [ "${1:-}" = nginx ]; then
    for script in /docker-entrypoint.d/*; do
        [ -f "$script" ] && [ -x "$script" ] || continue
        case "$script" in
            *.envsh) . "$script" ;;
            *.sh) "$script" ;;
        esac
    done
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
