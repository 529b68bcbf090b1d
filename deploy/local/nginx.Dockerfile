# nginx from Debian's package, in place of the official image (NGINX_IMAGE), for machines that
# reach Debian's mirror but no image registry. entrypoint.sh does what the official image's
# entrypoint does for the compose file: render /etc/nginx/templates/*.template with envsubst.
ARG BASE_IMAGE=localhost/syndication-base:bookworm
FROM ${BASE_IMAGE}
RUN apt-get update -q && apt-get install -y -q --no-install-recommends nginx-light gettext-base \
    && rm -rf /var/lib/apt/lists/* /var/cache/apt/archives/*.deb /etc/nginx/sites-enabled/* \
    && mkdir -p /etc/nginx/templates /docker-entrypoint.d /var/cache/nginx \
    && ln -sf /dev/stdout /var/log/nginx/access.log && ln -sf /dev/stderr /var/log/nginx/error.log
COPY entrypoint.sh /docker-entrypoint.sh
ENTRYPOINT ["/docker-entrypoint.sh"]
EXPOSE 80
STOPSIGNAL SIGQUIT
CMD ["nginx", "-g", "daemon off;"]
