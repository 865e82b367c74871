#!/usr/bin/env Rscript
# Peer timings for workload W3 (tools/bench/WORKLOADS.md) with R's energy package (Debian r-cran-energy).
# Prints one JSON object per line, like peer_torch.py.
suppressMessages(library(energy))
set.seed(0)
for (n in c(1000, 2000, 4000)) {
  x <- matrix(rnorm(n * 512), n); y <- matrix(rnorm(n * 10), n)
  invisible(dcor(x, y))
  reps <- if (n > 2000) 1 else 3
  s <- system.time(for (i in seq_len(reps)) dcor(x, y))[["elapsed"]] / reps
  cat(sprintf('{"workload": "W3 dcor2 n=%d 512x10", "impl": "R-energy-dcor", "seconds": %.5f, "per_second": %.3f, "unit": "calls/s"}\n', n, s, 1 / s))
}
