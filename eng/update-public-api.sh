#!/usr/bin/env bash
# Records every package's current public API in its PublicAPI.Unshipped.txt (what PublicApiAnalyzers' code fix does,
# from the command line): symbols the build reports as undeclared (RS0016) are added, symbols declared but gone
# (RS0017) are removed. Review the diff; it is the change to the public surface.
set -euo pipefail
cd "$(dirname "$0")/.."
# Two passes: a package's symbols are only reported once the packages it references build cleanly.
for project in src/*/*.csproj src/*/*.csproj; do
  dir=$(dirname "$project")
  unshipped="$dir/PublicAPI.Unshipped.txt"
  [ -f "$unshipped" ] || printf '#nullable enable\n' > "$unshipped"
  [ -f "$dir/PublicAPI.Shipped.txt" ] || printf '#nullable enable\n' > "$dir/PublicAPI.Shipped.txt"
  log=$(mktemp)
  dotnet build "$project" --no-incremental -p:TreatWarningsAsErrors=false >"$log" 2>&1 || true
  python3 - "$unshipped" "$dir" "$log" <<'PY'
import re, sys
path, directory, log = sys.argv[1], sys.argv[2], sys.argv[3]
added, removed = set(), set()
for line in open(log):
    if f"/{directory}/" not in line.replace("\\", "/"):
        continue
    m = re.search(r"(RS0016|RS0017): Symbol '(.*)' is (?:not part of the declared public API|part of the declared API, but is either not public or could not be found)", line)
    if m:
        (added if m.group(1) == "RS0016" else removed).add(m.group(2))
lines = [l.rstrip("\n") for l in open(path)]
header = [l for l in lines if l.startswith("#")] or ["#nullable enable"]
body = {l for l in lines if l and not l.startswith("#")}
body = (body | added) - removed
open(path, "w").write("\n".join(header + sorted(body, key=lambda s: (s.lstrip("~*"), s))) + "\n")
print(f"{path}: +{len(added)} -{len(removed)}")
PY
  rm -f "$log"
done
