#!/usr/bin/env bash
# Generates the TypeScript types and grpc-js service definition from proto/ with ts-proto.
# `--check` regenerates into a scratch directory and fails when the committed code differs.
set -euo pipefail
cd "$(dirname "$0")/.."

# Generator options, pinned here and nowhere else.
TS_PROTO_OPTS="outputServices=grpc-js,esModuleInterop=true,importSuffix=.js,forceLong=number,env=node,removeEnumPrefix=true,useOptionals=none,useExactTypes=false"
OUT=packages/shared/src/gen

if ! command -v protoc >/dev/null; then
  echo "codegen: protoc not found; install Debian's protobuf-compiler (scripts/bootstrap.sh does)" >&2
  exit 1
fi

generate() {
  local dest="$1"
  mkdir -p "$dest"
  protoc \
    --plugin=protoc-gen-ts_proto=node_modules/.bin/protoc-gen-ts_proto \
    --ts_proto_out="$dest" \
    --ts_proto_opt="$TS_PROTO_OPTS" \
    -I proto \
    $(find proto -name '*.proto' | sort)
}

if [[ "${1:-}" == "--check" ]]; then
  scratch=$(mktemp -d)
  trap 'rm -rf "$scratch"' EXIT
  generate "$scratch"
  if ! diff -ru "$OUT" "$scratch" >"$scratch.diff"; then
    cat "$scratch.diff" >&2
    echo "codegen: $OUT does not match proto/: run scripts/codegen.sh and commit the result" >&2
    exit 1
  fi
  echo "codegen: generated code matches proto/"
else
  rm -rf "$OUT"
  generate "$OUT"
  echo "codegen: wrote $OUT"
fi
