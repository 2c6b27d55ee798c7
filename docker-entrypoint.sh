#!/bin/sh
# A Fly volume is mounted owned by root: give the data directory to the non-root `bun` user,
# then run the command as that user (never as root).
set -e
if [ "$(id -u)" = "0" ]; then
  mkdir -p /data
  chown -R bun:bun /data
  exec setpriv --reuid=bun --regid=bun --init-groups "$@"
fi
exec "$@"
