"""Turning timings into metrics (pure), telemetry sampled beside the timed work, the environment."""
