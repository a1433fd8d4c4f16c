"""Bytes held by tensors: how engines measure the KV cache they really allocated (imports torch when called)."""

from __future__ import annotations


def storage_bytes(obj) -> int:
    """Bytes of the distinct storages behind the tensors in `obj` (tensors nested in lists, tuples, dicts).

    A storage shared by several views (a K/V pair cut from one buffer) is counted once."""
    import torch

    seen: set[int] = set()
    total = 0

    def walk(x):
        nonlocal total
        if isinstance(x, torch.Tensor):
            storage = x.untyped_storage()
            if storage.data_ptr() not in seen:
                seen.add(storage.data_ptr())
                total += storage.nbytes()
        elif isinstance(x, (list, tuple)):
            for y in x:
                walk(y)
        elif isinstance(x, dict):
            for y in x.values():
                walk(y)

    walk(obj)
    return total
