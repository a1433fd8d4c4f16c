"""Terminal output (rich tables) and the one number format every output shares. No numbers are computed here."""
