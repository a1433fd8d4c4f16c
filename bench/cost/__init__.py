"""CNY per million tokens: pure formulas (formulas.py) and pricing a results row with them (pricing.py)."""
