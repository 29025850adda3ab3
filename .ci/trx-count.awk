# Fallback TRX counter for machines without python3: sums the <Counters> attributes.
/<Counters / {
  for (i = 1; i <= NF; i++) {
    split($i, kv, "=")
    gsub(/"|\/?>/, "", kv[2])
    if (kv[1] == "passed") p += kv[2]
    if (kv[1] == "failed" || kv[1] == "error" || kv[1] == "timeout" || kv[1] == "aborted") f += kv[2]
    if (kv[1] == "notExecuted" || kv[1] == "inconclusive") s += kv[2]
  }
}
END { printf "%d passed, %d failed%s\n", p, f, (s > 0 ? sprintf(", %d skipped", s) : "") }
