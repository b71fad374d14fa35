#!/usr/bin/env bash
# Cold-cache check of the one-read mirror (needs root for drop_caches):
# backup + mirror, against a backup alone and `rsync -a --delete`, each run
# starting from an empty page cache.
#   bash bench/cold_mirror.sh [SOURCE]   (default: the 6.1.170 corpus tree)
set -euo pipefail
cd "$(dirname "$0")/.."
export CAIRN_PASSWORD=bench-password
src=${1:-$HOME/.cache/cairn-corpus/linux-6.1.170}
work=$(mktemp -d "${TMPDIR:-/tmp}/cairn-cold.XXXX")
# Mirrors go to a fresh ext4 (as a mirror disk would be): file creation on
# a long-used filesystem here varied up to 9x between runs.
truncate -s 8G "$work/fs.img"
mkfs.ext4 -q -F "$work/fs.img"
mkdir "$work/fs"
mount -o loop "$work/fs.img" "$work/fs"
trap 'umount "$work/fs"; rm -rf "$work"' EXIT
# The pinned Deno's own binary (npx would add its start-up to every timing).
deno=$(command -v deno || npx -y deno@2.9.6 eval 'console.log(Deno.execPath())')
cairn=("$deno" run -A --quiet --v8-flags=--max-semi-space-size=2,--expose-gc main.ts)
timed() {
  sync
  echo 3 > /proc/sys/vm/drop_caches
  /usr/bin/time -f "$1 %e s" "${@:2}" > /dev/null
}
"${cairn[@]}" init -r "$work/r1" > /dev/null
"${cairn[@]}" init -r "$work/r2" > /dev/null
timed "backup + mirror:" "${cairn[@]}" backup -r "$work/r1" "$src" --mirror "$work/fs/m1" --json
timed "backup alone:" "${cairn[@]}" backup -r "$work/r2" "$src" --json
timed "rsync -a --delete:" rsync -a --delete "$src/" "$work/fs/m2/"
