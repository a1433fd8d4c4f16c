"""Other benchmark tools' results files read into bench's rows, and bench's rows written as theirs (docs/interop.md).

source: a file as read (its format, tool, sha256, benchmarks); one module per format (vllm_bench, aiperf, guidellm,
br); rows: a benchmark as a bench row, figures recomputed from per-request records where the file keeps them;
read: any results file told by its content, for every command that reads results; br_export: rows as Benchmark
Report v0.2 documents.
"""
