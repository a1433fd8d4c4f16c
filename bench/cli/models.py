"""`bench models`: the model catalog (models.yaml)."""

from __future__ import annotations


def add_models_command(sub) -> None:
    p = sub.add_parser("models", help="list the model catalog (models.yaml)")
    p.add_argument("--all", action="store_true", help="include the tiny test variants")
    p.set_defaults(func=cmd_models)


def cmd_models(args) -> int:
    from bench.config import catalog
    from bench.display.run import print_models

    path = catalog.catalog_path()
    cat = catalog.load(path)
    print_models([catalog.from_entry(name, e, path.resolve().parent) for name, e in cat.models.items()],
                 show_tiny=args.all)
    return 0
