{
  "targets": [
    {
      "target_name": "repro_native",
      "sources": ["src/repro_native.c", "src/repro_dnnl.c"],
      "cflags": ["-O3", "-march=native", "-std=c11", "-Wall", "-fopenmp", "-ffp-contract=off"],
      "ldflags": ["-fopenmp"],
      "libraries": ["-ldl", "-lm", "-lpthread", "-lgomp"]
    }
  ]
}
