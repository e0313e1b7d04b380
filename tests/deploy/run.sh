#!/bin/sh
# tests/deploy/run.sh: the Heroku deploy path, checked here.
#  1. tools/heroku-build (the exact build Heroku runs) succeeds in a clean
#     clone of the committed tree and leaves a working bin/skykeeper;
#  2. app.json uses only keys Heroku's schema knows, with a worker
#     formation and a Postgres add-on; every buildpack it names is one the
#     build relies on (apt + the Node.js hook);
#  3. Procfile's worker line names a command the build produced.
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/deploy.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
pass=0
fail=0
ok() { pass=$((pass + 1)); echo "PASS $1"; }
ko() { fail=$((fail + 1)); echo "FAIL $1"; }

git clone -q "$root" "$tmp/app" 2>/dev/null || { ko clone; echo "deploy: 0 passed, 1 failed"; exit 1; }
if (cd "$tmp/app" && APT_ROOT=/nonexistent timeout 600 tools/heroku-build) >"$tmp/build.log" 2>&1 &&
    "$tmp/app/bin/skykeeper" version >/dev/null; then
	ok heroku_build_in_clean_clone
else
	ko heroku_build_in_clean_clone
	tail -20 "$tmp/build.log"
fi

if node -e '
const a = require(process.argv[1]);
const top = ["name","description","keywords","repository","website","logo","success_url",
  "env","formation","addons","buildpacks","scripts","stack","environments","image"];
const envk = ["description","value","required","generator"];
for (const k of Object.keys(a)) if (!top.includes(k)) throw new Error("unknown key " + k);
for (const [n, e] of Object.entries(a.env || {}))
  for (const k of Object.keys(e)) if (!envk.includes(k)) throw new Error("env " + n + ": unknown key " + k);
if (!a.formation || !a.formation.worker) throw new Error("no worker formation");
if (a.formation.web) throw new Error("a web formation: skykeeper is a worker");
if (!(a.addons || []).some(x => String(x.plan || x).startsWith("heroku-postgresql")))
  throw new Error("no Postgres add-on");
const bps = (a.buildpacks || []).map(b => b.url);
if (bps.join() !== "heroku-community/apt,heroku/nodejs") throw new Error("buildpacks: " + bps);
' "$root/app.json"; then
	ok app_json_schema
else
	ko app_json_schema
fi

cmd=$(sed -n 's/^worker: *//p' "$root/Procfile")
first=${cmd%% *}
if [ -n "$cmd" ] && [ -x "$tmp/app/$first" ] && ! grep -qv '^worker:' "$root/Procfile"; then
	ok procfile_worker
else
	ko procfile_worker
fi
# every variable the daemon reads is in the README's configuration table
missing=""
for v in $(grep -oE '"(SKYKEEPER_[A-Z_]+|DATABASE_URL|SESSION_SECRET|HEROKU_APP_URL|LOG_LEVEL)"' \
    "$root/src/cli/config.c" | tr -d '"' | sort -u); do
	grep -q "^| \`$v\` |" "$root/README.md" || missing="$missing $v"
done
if [ -z "$missing" ]; then
	ok readme_lists_every_variable
else
	ko "readme_lists_every_variable (missing:$missing)"
fi
# docs/heroku.md covers what a deploy needs: the Procfile's line, the
# scale command, both buildpacks, the stack, the build script, the drain
# budget, and every variable config.c reads that names Heroku.
hmiss=""
hdoc=$root/docs/heroku.md
for w in "heroku ps:scale worker=1" "heroku-community/apt" "heroku/nodejs" \
    "heroku-24" "tools/heroku-build" "SKYKEEPER_DRAIN_BUDGET" "SESSION_SECRET" \
    "DATABASE_URL" "HEROKU_APP_URL" "SKYKEEPER_APP_URL_EVERY" "heroku logs --tail" \
    "skykeeper replay" "SKYKEEPER_WA_VERSION" "$(sed -n 's/^worker: *//p' "$root/Procfile")"; do
	[ -f "$hdoc" ] && grep -qF -- "$w" "$hdoc" || hmiss="$hmiss '$w'"
done
if [ -z "$hmiss" ]; then
	ok heroku_doc_complete
else
	ko "heroku_doc_complete (missing:$hmiss)"
fi
echo "deploy: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
