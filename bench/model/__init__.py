"""What a model's config.json says: parameter counts, bytes, FLOPs and KV per token, and its checks. Pure."""
