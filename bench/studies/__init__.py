"""Studies kept apart from core code: the seed articles' claims checked against the harness."""
