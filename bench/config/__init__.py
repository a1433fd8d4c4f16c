"""What the user gives, validated and resolved: the catalog, hardware, prices, one case (run), serve and sweep files."""
