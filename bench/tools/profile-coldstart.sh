#!/bin/sh
# Where does the device cold start spend its time? Builds the minified bundle,
# runs the coldstart child under --cpu-prof (100 µs sampling) and summarises.
#   sh bench/tools/profile-coldstart.sh [OUTDIR=/tmp/coldprof]
set -e
OUT=${1:-/tmp/coldprof}
rm -rf "$OUT" && mkdir -p "$OUT"
node --import tsx -e "import('./bench/figures/device.ts').then(async (m) => { const { code } = await m.deviceBundle(); (await import('node:fs')).writeFileSync('$OUT/device.min.mjs', code); })"
CHARGE='{"type":"Connections.SendRequest","name":"Charge","payload":{"chargeInfo":{"name":"x","items":[{"itemId":"ep2","itemName":"e","price":200,"count":1,"totalFee":200}]}}}'
node --cpu-prof --cpu-prof-dir="$OUT" --cpu-prof-interval 100 bench/children/coldstart.mjs "$OUT/device.min.mjs" "$CHARGE"
node --import tsx bench/tools/profile-summary.ts "$(ls "$OUT"/*.cpuprofile | head -1)" 25
