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
    from oaklake.ingest.load import IngestResult
    from oaklake.quality.ast import Ruleset
    from oaklake.quality.results import DqResult


class Lake:
    """A workspace: its settings, catalog and SQL engine."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._engine: Engine | None = None
        self._rec_service: Any = None

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
        """One table's Python API: append, overwrite, delete, merge, to_arrow."""
        from oaklake.engine.tables import TableHandle

        return TableHandle(self.engine, name)

    def sql_script(self, text: str) -> list[Result]:
        """Run several statements; return every result (stops at the first error)."""
        return self.engine.execute_script(text)

    # -- data quality (oaklake dq …) -----------------------------------------------------
    def dq_run(
        self,
        rules: str | os.PathLike[str] | None = None,
        *,
        table: str | None = None,
        version: int | str | None = None,
        sql: str | None = None,
        file: str | os.PathLike[str] | None = None,
        refs: Any = None,
        context: str = "default",
        composite: str = "dataset",
        row_level: str | os.PathLike[str] | None = None,
        notify: bool = True,
        now: Any = None,
    ) -> DqResult:
        """Check a table, query or file against DQDL ``rules`` (text or a path; a table's
        attached ruleset when omitted); the run is recorded in ``oaklake_system``."""
        from oaklake.quality.run import dq_run

        return dq_run(
            self,
            rules,
            table=table,
            version=version,
            sql=sql,
            file=file,
            refs=refs,
            context=context,
            composite=composite,
            row_level=row_level,
            notify=notify,
            now=now,
        )

    def dq_recommend(
        self,
        *,
        table: str | None = None,
        version: int | str | None = None,
        sql: str | None = None,
        file: str | os.PathLike[str] | None = None,
        output: str | os.PathLike[str] | None = None,
    ) -> str:
        """A DQDL ruleset recommended from the data's profile (written to ``output`` if given)."""
        from oaklake.quality.run import dq_recommend

        return dq_recommend(self, table=table, version=version, sql=sql, file=file, output=output)

    def dq_history(self, table: str, *, limit: int | None = None) -> Result:
        """The recorded quality runs of a table (or another dataset name), newest first."""
        from oaklake.quality.run import dq_history

        result: Result = dq_history(self, table, limit=limit)
        return result

    def dq_attach(self, table: str, ruleset: str | os.PathLike[str]) -> Ruleset:
        """Validate a ruleset (text or path) and make it the table's default."""
        from oaklake.quality.run import dq_attach

        return dq_attach(self, table, ruleset)

    def dq_ruleset(self, table: str) -> str | None:
        """The ruleset text attached to a table, or None."""
        from oaklake.quality.run import dq_ruleset

        return dq_ruleset(self, table)

    def dq_annotate(
        self,
        dataset: str,
        metric: str,
        *,
        include: bool,
        run_id: str | None = None,
        at: Any = None,
        context: str = "default",
    ) -> int:
        """Include or exclude a recorded metric value from history (dynamic rules, anomalies)."""
        from oaklake.quality.run import dq_annotate

        return dq_annotate(
            self, dataset, metric, include=include, run_id=run_id, at=at, context=context
        )

    # -- ingest (oaklake ingest …) -------------------------------------------------------
    def ingest(
        self,
        paths: str | os.PathLike[str] | list[str | os.PathLike[str]],
        table: str,
        *,
        mode: str = "append",
        key: str | list[str] | None = None,
        delete_when: str | None = None,
        partitions: bool = False,
        evolve: bool = False,
        rules: str | os.PathLike[str] | None = None,
        on_fail: str = "quarantine",
        force: bool = False,
        schema: str | os.PathLike[str] | None = None,
        partition_by: str | None = None,
        context: str = "ingest",
        notify: bool = True,
        progress: Any = None,
        now: Any = None,
        **read_options: Any,
    ) -> IngestResult:
        """Load files (paths, globs, folders) into ``table`` through its quality gate, as one
        commit; see ``oaklake ingest --help``. ``read_options`` are the CSV/JSON options
        (``delimiter``, ``header``, ``quote``, ``escape``, ``encoding``, ``null``,
        ``max_line_size``, ``sample_rows``, ``date_format``, ``timestamp_format``, ``format``).
        A failed gate returns a result with ``status == "quarantined"``; call
        ``.raise_for_status()`` to turn that into an exception."""
        from oaklake.ingest.load import ingest, ingest_options

        listed = [paths] if isinstance(paths, str | os.PathLike) else list(paths)
        options = ingest_options(
            mode=mode, key=key, delete_when=delete_when, partitions=partitions, evolve=evolve,
            rules=rules, on_fail=on_fail, force=force, schema=schema, partition_by=partition_by,
            context=context, notify=notify, **read_options,
        )  # fmt: skip
        return ingest(self, listed, table, options, progress=progress, now=now)

    def ingest_watch(
        self,
        folder: str | os.PathLike[str],
        table: str,
        *,
        interval: float = 2.0,
        settle: float | None = None,
        recursive: bool = False,
        max_batches: int | None = None,
        stop: Any = None,
        on_event: Any = None,
        **options: Any,
    ) -> Any:
        """A landing zone: ingest each completed file arriving in ``folder`` (the options of
        ``ingest``) until ``stop`` is set, ``max_batches`` files were handled, or Ctrl-C."""
        from oaklake.ingest.load import ingest_options
        from oaklake.ingest.watch import watch

        return watch(
            self, folder, table, ingest_options(**options), interval=interval, settle=settle,
            recursive=recursive, stop=stop, max_batches=max_batches, on_event=on_event,
        )  # fmt: skip

    # -- recommendations (oaklake rec …) ----------------------------------------------------
    def rec_create(
        self,
        name: str,
        *,
        recipe: str,
        interactions: str,
        users: str | None = None,
        items: str | None = None,
        event_types: list[str] | None = None,
        params: dict[str, Any] | None = None,
    ) -> Any:
        """Register a recommender (Personalize's solution): a recipe over datasets given as
        tables or SELECT queries; the datasets are validated now."""
        from oaklake.recommend.train import create

        return create(
            self,
            name,
            recipe=recipe,
            interactions=interactions,
            users=users,
            items=items,
            event_types=event_types,
            params=params,
        )

    def rec_train(
        self,
        name: str,
        *,
        params: dict[str, Any] | None = None,
        evaluate: bool = True,
        search: bool = False,
    ) -> Any:
        """Train a new version (model + offline metrics with the popularity baseline);
        ``search`` first picks hyper-parameters on validation users."""
        from oaklake.recommend.train import train

        return train(self, name, params=params, evaluate=evaluate, search=search)

    def rec_list(self) -> list[Any]:
        from oaklake.recommend.store import Store

        return Store(self).list()

    def rec_describe(self, name: str) -> dict[str, Any]:
        from oaklake.recommend.store import Store

        store = Store(self)
        rec = store.get(name)
        return {**rec.to_dict(), "versions": [v.to_dict() for v in store.versions(name)]}

    def rec_delete(self, name: str) -> None:
        from oaklake.recommend.store import Store

        Store(self).delete(name)

    def rec_evaluate(
        self, name: str, *, protocol: str = "personalize", folds: int = 5, seed: int | None = None
    ) -> dict[str, Any]:
        """Offline evaluation: Personalize's protocol, or strong generalisation (the
        literature's Recall@20/50, NDCG@100 over user folds)."""
        from oaklake.recommend.train import evaluate

        return evaluate(self, name, protocol=protocol, folds=folds, seed=seed)

    def rec_recommend(
        self,
        name: str,
        *,
        user_id: str | None = None,
        item_id: str | None = None,
        num_results: int = 25,
        filter: str | None = None,
        filter_values: dict[str, Any] | str | None = None,
        promotions: list[dict[str, Any]] | str | None = None,
    ) -> dict[str, Any]:
        """GetRecommendations: for a user, or related items for an item; ``promotions`` is
        Personalize's list of one promotion {name, percentPromotedItems, filter,
        filterValues}."""
        from oaklake.errors import InvalidInput
        from oaklake.recommend.promotions import parse_promotions

        rt = self.rec_service().runtime(name)
        if (user_id is None) == (item_id is None):
            raise InvalidInput("give a user id or an item id", code="REC_INVALID_ARGUMENT")
        promotion = parse_promotions(promotions)
        if item_id is not None:
            return rt.related(
                item_id,
                num_results,
                filter=filter,
                filter_values=filter_values,
                promotion=promotion,
            )
        return rt.recommend(
            user_id, num_results, filter=filter, filter_values=filter_values, promotion=promotion
        )

    def rec_batch(
        self,
        name: str,
        *,
        output: str,
        input: str | os.PathLike[str] | None = None,
        all_users: bool = False,
        num_results: int = 25,
        filter: str | None = None,
    ) -> Any:
        """A batch inference job: JSON Lines in, JSON Lines or a table out."""
        from oaklake.recommend.batch import run_batch

        return run_batch(
            self,
            name,
            input=input,
            all_users=all_users,
            output=output,
            n=num_results,
            filter=filter,
        )

    def rec_segment(
        self,
        name: str,
        *,
        input: str | os.PathLike[str],
        output: str,
        num_users: int = 25,
    ) -> Any:
        """A batch segment job (Item-Affinity / Item-Attribute-Affinity): for each input line's
        item or item attributes, the users most likely to interact; JSON Lines or a table out."""
        from oaklake.recommend.segment import run_segment

        return run_segment(self, name, input=input, output=output, n=num_users)

    def rec_service(self) -> Any:
        """The serving side (one per Lake): runtimes loaded on first use, event writers."""
        if self._rec_service is None:
            from oaklake.recommend.service import Service

            self._rec_service = Service(self)
        return self._rec_service

    def close(self) -> None:
        service = self._rec_service
        if service is not None:
            service.close()
            self._rec_service = None
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
