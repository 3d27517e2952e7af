"""``oaklake rec …``: recommenders (Amazon Personalize's solutions and campaigns), over
``Lake.rec_*``."""

from __future__ import annotations

import click


@click.group("rec")
def rec() -> None:
    """Recommendations: create, train, evaluate and query recommenders."""
