#!/bin/sh
# Remakes this fixture with Parley 0.1.0 (commit 8f7a942). Run from the repository root:
#   git worktree add /tmp/v010 8f7a942 && sh tests/testdata/v010/make.sh /tmp/v010
set -eu
OLD=${1:?path to a checkout of 8f7a942}
OUT=$(pwd)/tests/testdata/v010
PORT=39797
WORK=$(mktemp -d)
P="--allow-net --allow-read --allow-write --allow-env --allow-run --allow-sys"
cd "$OLD"
deno run $P server.ts --port $PORT --data "$WORK/server" >"$WORK/server.out" 2>&1 &
SRV=$!
sleep 4
c() { # c HOME USER ARGS…
  h=$1; u=$2; shift 2
  PARLEY_PASSWORD="pw-$u-secret" deno run $P client.ts "$@" --server 127.0.0.1:$PORT --user "$u" \
    --home "$WORK/$h" --trust-on-first-use
}
c alice alice register
c bob bob register
c alice alice send bob "hello bob, from 0.1.0"
c bob bob read
c bob bob send alice "hi alice, bob here"
c alice alice room create dev bob
c alice alice send '#dev' "room news from 0.1.0"
c alice alice send bob "unread dm for bob"
kill -INT $SRV
wait $SRV || true
rm -rf "$OUT/server" "$OUT/alice" "$OUT/bob"
cp -r "$WORK/server" "$WORK/alice" "$WORK/bob" "$OUT/"
rm -rf "$OUT/server/parley.log" "$OUT/server/renditions"
rm -rf "$WORK"
