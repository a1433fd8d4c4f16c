"""Running cases: the worker process, process control and log forensics, local and Ray runners, signals."""
