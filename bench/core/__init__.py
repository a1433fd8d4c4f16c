"""The ground floor: what every other folder may use (errors, names, money, number and table formats)."""
