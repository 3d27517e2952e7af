"""A running server picks up a newly trained version (and a deletion) without a restart."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import httpx
import pytest

import oaklake
from oaklake.server.settings import server_settings

from .conftest import HEADERS, KEY, make_workspace
from .test_api import OAKLAKE, _free_port, events, wait_until_up


@pytest.fixture
def fresh(tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    make_workspace(root)
    return root


def test_reload_swaps_in_the_new_version_and_keeps_live_events(fresh: Path) -> None:
    from oaklake.recommend.train import train

    lake = oaklake.connect(fresh)
    try:
        svc = lake.rec_service()
        old = svc.runtime("shop")
        assert old.version.version == 1
        assert svc.reload() == {}  # nothing new: no catalog read, nothing changes
        assert old.record("u1", "i77", "view")
        old.merge_session("anon-1", "u1")
        train(lake, "shop", evaluate=False)
        assert svc.reload() == {"shop": 2}
        new = svc.runtime("shop")
        assert new is not old and new.version.version == 2
        # Events received before the swap carry over; later ones sent to the old object too.
        assert (new.item_index["i77"], "view") in new.history_of("u1")
        assert new.sessions["anon-1"] == "u1"
        assert old.record("u1", "i78", "click")
        assert (new.item_index["i78"], "click") in new.history_of("u1")
        assert "i78" not in [i["itemId"] for i in new.recommend("u1", 50)["itemList"]]
        assert svc.reload() == {}
        lake.rec_delete("shop")
        assert svc.reload() == {"shop": None}
        assert "shop" not in svc.runtimes
        with pytest.raises(oaklake.errors.NotFound):
            svc.runtime("shop")
        svc.close()
    finally:
        lake.close()


def test_a_training_under_way_is_looked_up_once(
    fresh: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A version folder without its catalog row (training, or a failed one) is read from the
    catalog once, not at every check."""
    from oaklake.recommend import service
    from oaklake.recommend.store import Store

    looked: list[str] = []
    find = Store.find

    def counted(self: Store, name: str) -> object:
        looked.append(name)
        return find(self, name)

    lake = oaklake.connect(fresh)
    try:
        svc = lake.rec_service()
        svc.runtime("shop")
        monkeypatch.setattr(Store, "find", counted)
        assert svc.reload() == {} and looked == []
        (fresh / ".oaklake" / "models" / "shop" / "v2").mkdir()
        assert svc.reload() == {} and looked == ["shop"]
        assert svc.reload() == {} and looked == ["shop"]
        assert svc.runtime("shop").version.version == 1
        # A while later the catalog is read again: the row may have been committed meanwhile.
        monkeypatch.setattr(service, "_RELOOK_SECONDS", 0.0)
        assert svc.reload() == {} and looked == ["shop", "shop"]
    finally:
        lake.close()


def test_reload_interval_setting(fresh: Path) -> None:
    toml = fresh / "oaklake.toml"
    lake = oaklake.connect(fresh)
    assert server_settings(lake.settings).reload_interval == 5.0
    lake.close()
    toml.write_text(toml.read_text() + "\n[server]\nreload_interval = -1\n")
    lake = oaklake.connect(fresh)
    with pytest.raises(oaklake.errors.ConfigError) as e:
        server_settings(lake.settings)
    lake.close()
    assert "reload_interval" in e.value.message


def test_oaklake_serve_serves_a_retrained_version(fresh: Path) -> None:
    from oaklake.recommend.train import train

    env = {k: v for k, v in os.environ.items() if not k.startswith("OAKLAKE_")}
    port = _free_port()
    proc = subprocess.Popen(
        [str(OAKLAKE), "serve", "-w", str(fresh), "--port", str(port), "--reload-interval", "0.2"],
        env={**env, "OAKLAKE_API_KEY": KEY},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=HEADERS, timeout=10) as http:

            def served() -> int | None:
                listed = http.get("/recommenders").json()["recommenders"]
                return next(r["servedVersion"] for r in listed if r["name"] == "shop")

            wait_until_up(http, proc)
            assert served() == 1
            assert http.post("/events", json=events("u3", "s-1", "i60", "i61")).status_code == 200
            lake = oaklake.connect(fresh)
            try:
                train(lake, "shop", evaluate=False)
            finally:
                lake.close()
            deadline = time.monotonic() + 30
            while served() != 2:
                assert time.monotonic() < deadline, "the new version was not served"
                time.sleep(0.1)
            items = http.get("/recommendations", params={"recommender": "shop", "userId": "u3"})
            assert items.status_code == 200
            assert not {"i60", "i61"} & {i["itemId"] for i in items.json()["itemList"]}
        proc.send_signal(signal.SIGINT)
        _out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err
    assert "now serving version 2" in err
    assert "Traceback" not in err
