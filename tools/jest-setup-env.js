// Every test process: one native (OpenBLAS / oneDNN / OpenMP) thread unless the caller set
// REPRO_BLAS_THREADS, as runChildJobs does for its children. `npm test` runs two test processes at
// once (nx --parallel=2) on the 2-core machines this project targets; with two native threads each,
// the four threads' barriers waited on descheduled threads. Measured on a fresh clone, the whole
// suite (nx run-many -t test --parallel=2): 7 min 37 s with the default threads, 5 min 29 s with one.
// Tests that exercise the multithreaded paths set their threads themselves (addon.setThreads).
if (process.env.REPRO_BLAS_THREADS === undefined) process.env.REPRO_BLAS_THREADS = '1';
