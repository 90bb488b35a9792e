#!/bin/sh
# `cai verify quote|gpu` on the real samples: exit status and the line that decides it.
# usage: cai_verify_samples_test.sh CAI_BINARY REPO_ROOT   (exit 77 = skipped: samples absent)
set -u
CAI=$1
DIR=${CAI_ATTESTATION_TESTDATA:-$2/../shared/testdata/attestation}
if [ ! -f "$DIR/tdx_quote" ] || [ ! -f "$DIR/nvidia/hopper_evidence.json" ]; then
  echo "SKIP: attestation samples not found in $DIR (set CAI_ATTESTATION_TESTDATA to shared/testdata/attestation:"
  echo "      dcap-qvl sample/tdx_quote*, nvtrust and attestation-sdk Hopper evidence)"
  exit 77
fi
HOPPER_NONCE=e97b23a1718095a0e9e35edca810768c70a6a5a389b705e753b197912bc11576
ZERO_NONCE=0000000000000000000000000000000000000000000000000000000000000000
failed=0

expect() {  # expect RC TEXT ARGS...: cai ARGS exits with RC and prints TEXT
  want_rc=$1 text=$2
  shift 2
  out=$("$CAI" "$@" 2>&1)
  rc=$?
  if [ "$rc" -ne "$want_rc" ] || ! printf '%s\n' "$out" | grep -qF -- "$text"; then
    echo "FAILED: cai $* (exit $rc, wanted $want_rc and '$text')"
    printf '%s\n' "$out"
    failed=1
  else
    echo "ok: cai $*"
  fi
}

expect 0 "TCB status: UpToDate" verify quote "$DIR/tdx_quote" --collateral "$DIR/tdx_quote_collateral.json" --now 1752919234
expect 0 "TCB status: UpToDate" verify quote "$DIR/tdx_quote" --collateral "$DIR/tdx_quote_collateral.json" --now 1750329147
expect 1 "CRL has expired" verify quote "$DIR/tdx_quote" --collateral "$DIR/tdx_quote_collateral.json" --now 1752919236
expect 1 "[fail] QE identity validity" verify quote "$DIR/tdx_quote" --collateral "$DIR/tdx_quote_collateral.json" --now 1750329146
expect 1 "unknown (no matching TCB level)" verify quote "$DIR/tdx_quote_outdated" \
  --collateral "$DIR/tdx_quote_outdated_collateral.json" --now 1771415931
# Pinned inside the real quotes' PCK certificate validity (they end in 2031 and 2032).
expect 0 "TCB status: unknown (no collateral)" verify quote "$DIR/tdx-quote.hex" --now 1763769600
expect 0 "[pass] event log replays RTMR0..3" verify quote "$DIR/dstack_quote-report.json" --now 1763769600
expect 1 "[fail] quote parses: unsupported quote version 3" verify quote "$DIR/sgx_quote"
expect 0 '"tcb_status": "UpToDate"' verify quote "$DIR/tdx_quote" --collateral "$DIR/tdx_quote_collateral.json" \
  --now 1752919234 --json
expect 0 "result: PASS" verify gpu "$DIR/nvidia/hopper_evidence.json" --nonce $HOPPER_NONCE
expect 0 "[pass] GPU 3: nonce" verify gpu "$DIR/nvidia/multi_gpu_hopper.json" --nonce $HOPPER_NONCE
expect 1 "not ours" verify gpu "$DIR/nvidia/multi_gpu_hopper.json" --nonce $ZERO_NONCE
expect 0 '"passed": true' verify gpu "$DIR/nvidia/evidence_hopper_590_12.json" --nonce $HOPPER_NONCE --json
expect 2 "usage" verify quote
exit $failed
