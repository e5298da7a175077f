#!/usr/bin/env bash
# Checks authflow for known vulnerabilities with govulncheck, using only the Go module proxy:
#   1. installs govulncheck (golang.org/x/vuln), built by the same Go toolchain that builds
#      authflow (a govulncheck built by go1.26 cannot load go1.27's sources);
#   2. downloads the Go vulnerability database's source module, golang.org/x/vulndb, whose
#      data/osv/*.json are the published OSV entries;
#   3. lays them out as a v1 database (index/db.json, index/modules.json, index/vulns.json,
#      ID/*.json) with vulndb's own cmd/indexdb, installed from the same module version;
#   4. runs govulncheck -db file://... on the packages given (default ./...).
# Exit status is govulncheck's: 0 no vulnerability reached, 3 some found (text output).
#
# Environment (all optional):
#   GOTOOLCHAIN          the Go to check with; default go1.27.3, as in the Makefile.
#                        GOTOOLCHAIN=local checks the machine's own Go instead.
#   GOVULNCHECK_VERSION  default v1.9.0
#   VULNDB_VERSION       default the pinned snapshot below; "latest" for the newest reports
#   VULNCHECK_DIR        where the tools and the database go; default $TMPDIR/authflow-vulncheck
# Extra arguments go to govulncheck, e.g. `scripts/vulncheck.sh -show verbose ./...`.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/usr/local/go/bin:$PATH"
export GOTOOLCHAIN="${GOTOOLCHAIN:-go1.27.3}"

GOVULNCHECK_VERSION="${GOVULNCHECK_VERSION:-v1.9.0}"
VULNDB_VERSION="${VULNDB_VERSION:-v0.0.0-20261105234957-e22db6528018}"
work="${VULNCHECK_DIR:-${TMPDIR:-/tmp}/authflow-vulncheck}"
root="$PWD"

command -v go >/dev/null || { echo "vulncheck: Go toolchain not found" >&2; exit 1; }
gover="$(go env GOVERSION)"   # downloads GOTOOLCHAIN's Go on first use
echo "vulncheck: $gover (GOTOOLCHAIN=$GOTOOLCHAIN), govulncheck $GOVULNCHECK_VERSION"

bin="$work/bin-$gover"   # govulncheck per Go version
mkdir -p "$bin"
cd "$work"   # outside the module: nothing here touches authflow's go.mod or go.sum
if [ ! -x "$bin/govulncheck" ] || ! "$bin/govulncheck" -version | grep -q "govulncheck@$GOVULNCHECK_VERSION"; then
  GOBIN="$bin" go install "golang.org/x/vuln/cmd/govulncheck@$GOVULNCHECK_VERSION"
fi

# The vulndb module: the reports and their OSV form.
info="$(go mod download -json "golang.org/x/vulndb@$VULNDB_VERSION")"
src="$(printf '%s\n' "$info" | sed -n 's/^[[:space:]]*"Dir": *"\([^"]*\)".*/\1/p')"
ver="$(printf '%s\n' "$info" | sed -n 's/^[[:space:]]*"Version": *"\([^"]*\)".*/\1/p')"
[ -d "$src/data/osv" ] || { echo "vulncheck: no data/osv in golang.org/x/vulndb@$VULNDB_VERSION" >&2; exit 1; }
echo "vulncheck: database from golang.org/x/vulndb@$ver ($(ls "$src/data/osv" | wc -l) entries)"

indexdb="$work/indexdb-$ver"   # any Go version's build will do
if [ ! -x "$indexdb" ]; then
  tmp="$(mktemp -d "$work/indexdb.XXXXXX")"
  GOBIN="$tmp" go install "golang.org/x/vulndb/cmd/indexdb@$ver"
  mv "$tmp/indexdb" "$indexdb"
  rmdir "$tmp"
fi

db="$work/db-$ver"
if [ ! -f "$db/index/modules.json" ]; then
  rm -rf "$db.tmp"
  "$indexdb" -vulns "$src/data/osv" -out "$db.tmp"
  mv "$db.tmp" "$db"
fi

cd "$root"
[ $# -gt 0 ] || set -- ./...
status=0
"$bin/govulncheck" -db "file://$db" "$@" || status=$?
exit "$status"
