#!/usr/bin/env bash
# After a deploy, checks the service from outside: health, a signed test webhook per configured provider, the
# Marketplace sign-up, an admin call. One line per check (ok / skipped / problem); exit 1 on any problem.
#
#   scripts/smoke.sh <service URL> [--project P]
#
# Credentials come from SMOKE_* variables, or with --project from the deployed service and Secret Manager:
# see the top of scripts/smoke.mjs.
set -euo pipefail
command -v node >/dev/null 2>&1 || { echo "problem  node is not on PATH" >&2; exit 2; }
exec node "$(dirname "$0")/smoke.mjs" "$@"
