"""The ``Lake`` facade: one object per workspace that every front end calls."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from oaklake.config import Settings, init_workspace, load_settings

if TYPE_CHECKING:
    from oaklake.catalog.store import Catalog
    from oaklake.engine.result import Result
    from oaklake.engine.session import Engine
    from oaklake.engine.tables import TableHandle


class Lake:
    """A workspace: its settings, catalog and SQL engine."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._engine: Engine | None = None

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            from oaklake.engine.session import Engine

            self._engine = Engine(self.settings)
        return self._engine

    @property
    def catalog(self) -> Catalog:
        return self.engine.catalog

    def sql(self, text: str) -> Result:
        """Run one or more Athena-dialect statements; return the last one's result."""
        return self.engine.execute(text)

    def table(self, name: str) -> TableHandle:
        """One table's Python API: ``append``, ``overwrite``, ``delete``, ``merge``, ``to_arrow``."""
        from oaklake.engine.tables import TableHandle

        return TableHandle(self.engine, name)

    def sql_script(self, text: str) -> list[Result]:
        """Run several statements; return every result (stops at the first error)."""
        return self.engine.execute_script(text)

    def close(self) -> None:
        if self._engine is not None:
            self._engine.close()
            self._engine.catalog.close()

    def __enter__(self) -> Lake:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Lake({str(self.settings.root)!r})"


def connect(path: str | os.PathLike[str] | None = None, **overrides: Any) -> Lake:
    """Open a workspace (found like the CLI finds it) and make sure its default schema exists."""
    settings = load_settings(path, **overrides)
    return Lake(settings)


def init(path: str | os.PathLike[str] = ".", **options: Any) -> Lake:
    """Create a workspace: oaklake.toml, the warehouse folder and the catalog with its schema."""
    from pathlib import Path

    from oaklake.config import CONFIG_FILE

    target = Path(path).expanduser().resolve()
    wh = str(options.get("warehouse") or "warehouse")
    fresh = [p for p in (target, target / wh) if "://" not in wh and not p.exists()]
    folder = init_workspace(path, **options)
    try:
        lake = connect(folder)
        lake.catalog.create_schema(lake.settings.default_schema, if_not_exists=True)
    except BaseException:
        # Undo what init wrote, so that `oaklake init` with a corrected catalog URI works.
        (folder / CONFIG_FILE).unlink(missing_ok=True)
        for made in reversed(fresh):
            if made.is_dir() and not any(made.iterdir()):
                made.rmdir()
        raise
    return lake
