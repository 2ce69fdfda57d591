#!/usr/bin/env bash
# Regenerate the dialect and pass reference (mlir-tblgen) into docs/generated/.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
ninja -C "$BUILD_DIR" mlir-doc
cp "$BUILD_DIR"/docs/DS/DSDialect.md "$BUILD_DIR"/docs/DS/DSPasses.md \
  "$BUILD_DIR"/docs/DS/DSCUDAPasses.md docs/generated/
