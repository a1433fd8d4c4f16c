"""One exception type for bad input: the CLI prints its message as one line and exits 2."""


class BenchError(Exception):
    """Bad input or an unusable environment. The message names the problem and the fix."""

    exit_code = 2
