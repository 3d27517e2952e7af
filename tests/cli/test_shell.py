"""`oaklake shell`, driven for real: piped stdin (line mode) and the prompt in a terminal (tmux)."""

from __future__ import annotations

import shlex
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

SCRIPT = """\
CREATE TABLE s (id bigint, name string);
INSERT INTO s
  VALUES (1, 'one'),
         (2, 'two');
SELECT * FROM nope;
SELECT name
FROM s
WHERE id = 2;
SELECT count(*) AS n FROM s; SELECT * FROM nope_either; SELECT 'after' AS x;
\\q
SELECT 'never' AS x;
"""


def test_piped_shell_runs_multi_line_statements_and_survives_errors(run, ws):
    proc = run("shell", "-w", ws, input=SCRIPT)
    assert proc.returncode == 0, proc.stderr
    out, err = proc.stdout, proc.stderr
    assert "table default.s created" in out
    assert "2 rows inserted" in out
    assert "two" in out and "one" not in out.split("2 rows inserted")[1]
    # An error is printed in the usual shape, and the session goes on.
    assert err.splitlines()[0] == "TABLE_NOT_FOUND: table default.nope does not exist"
    assert "Traceback" not in err
    # Several statements on one line: results print one by one, up to the failing statement.
    assert "│ 2 │" in out  # count(*)
    assert "TABLE_NOT_FOUND: statement 2 (line 1): table default.nope_either does not exist" in err
    assert "after" not in out
    # \q ends the session: the statement after it never ran.
    assert "never" not in out
    assert out.count("(1 row)") == 2  # `name` and `n`


def test_shell_runs_a_last_statement_without_semicolon_at_end_of_input(cli, ws):
    res = cli("shell", "-w", ws, input="SELECT 41 + 1 AS answer")
    assert (res.exit_code, res.stderr) == (0, "")
    assert "answer" in res.stdout and "42" in res.stdout


def test_shell_keeps_the_schema_chosen_with_use_and_exit_leaves(cli, ws):
    script = (
        "CREATE SCHEMA other;\nUSE other;\nCREATE TABLE here (id bigint);\n"
        "exit\nCREATE TABLE never (id bigint);\n"
    )
    res = cli("shell", "-w", ws, input=script)
    assert res.exit_code == 0, res.stderr
    assert "table other.here created" in res.stdout
    assert "never" not in res.stdout


def test_shell_waits_when_a_semicolon_ends_a_line_inside_quotes(cli, ws):
    res = cli("shell", "-w", ws, input="SELECT 'a;\nb' AS x,\n  1 /* c;\n */ AS y;\n")
    assert (res.exit_code, res.stderr) == (0, "")
    assert "│ a; │" in res.stdout and "│ b  │" in res.stdout  # one two-line string value
    assert "(1 row)" in res.stdout


def test_shell_ignores_blank_lines_and_quit_words_inside_a_statement(cli, ws):
    res = cli("shell", "-w", ws, input="\n\nSELECT 1 AS\nquit;\n")
    assert res.exit_code == 0, res.stderr
    assert "quit" in res.stdout  # `quit` was the column alias, not the end of the session


# -- the interactive prompt, through a real terminal -----------------------------------------
TMUX = shutil.which("tmux")


class Tmux:
    """A detached tmux session on a private server socket (never the user's own tmux)."""

    def __init__(self, command: str, cwd: Path) -> None:
        self.socket = f"oaklake-test-{uuid.uuid4().hex[:8]}"
        self.name = "shell"
        self._tmux(
            "new-session", "-d", "-s", self.name, "-x", "120", "-y", "50", "-c", str(cwd), command
        )

    def _tmux(self, *args: str) -> str:
        assert TMUX is not None
        done = subprocess.run(
            [TMUX, "-L", self.socket, *args], capture_output=True, text=True, check=True, timeout=10
        )
        return done.stdout

    def type(self, text: str) -> None:
        # -l sends the text literally; tmux still reads a trailing ';' as a command separator.
        self._tmux("send-keys", "-t", self.name, "-l", text.replace(";", "\\;"))
        self._tmux("send-keys", "-t", self.name, "Enter")

    def screen(self) -> str:
        return self._tmux("capture-pane", "-p", "-t", self.name)

    def wait_for(self, text: str, timeout: float = 30) -> str:
        deadline = time.monotonic() + timeout
        while True:
            screen = self.screen()
            if text in screen:
                return screen
            if time.monotonic() > deadline:
                raise AssertionError(f"{text!r} never appeared on screen:\n{screen}")
            time.sleep(0.1)

    def close(self) -> None:
        subprocess.run(
            [TMUX or "tmux", "-L", self.socket, "kill-server"], capture_output=True, timeout=10
        )


@pytest.mark.skipif(TMUX is None, reason="tmux is not installed")
def test_interactive_shell_in_a_terminal(ws, tmp_path):
    oaklake = Path(sys.executable).with_name("oaklake")
    command = (
        f"{shlex.quote(str(oaklake))} shell -w {shlex.quote(str(ws))}; echo EXITED rc=$?; sleep 600"
    )
    term = Tmux(f"sh -c {shlex.quote(command)}", cwd=tmp_path)
    try:
        term.wait_for("end statements with ';'")
        term.wait_for("default>")
        term.type("SELECT 40 + 2")
        term.wait_for("   ...>")  # a statement goes on until its ';'
        term.type("  AS answer;")
        screen = term.wait_for("(1 row)")
        assert "answer" in screen and "42" in screen
        term.type("SELECT * FROM nope;")
        screen = term.wait_for("TABLE_NOT_FOUND: table default.nope does not exist")
        assert "Traceback" not in screen
        prompts = term.screen().count("   ...>")
        term.type("SELECT 1")  # Ctrl-C drops a half-typed statement
        # Send it only once the continuation prompt is back (the terminal in raw mode again): a
        # Ctrl-C in between is a real SIGINT, which also reaches the `sh` around the shell.
        deadline = time.monotonic() + 30
        while term.screen().count("   ...>") <= prompts and time.monotonic() < deadline:
            time.sleep(0.05)
        term._tmux("send-keys", "-t", term.name, "C-c")
        term.type("CREATE SCHEMA other;")
        term.wait_for("schema other created")
        term.type("USE other;")
        term.wait_for("other>")  # the prompt shows the current schema
        term.type("\\q")
        screen = term.wait_for("EXITED rc=0")
        assert "SYNTAX_ERROR" not in screen  # the dropped 'SELECT 1' never reached the engine
    finally:
        term.close()
    history = (ws / ".oaklake" / "history").read_text(encoding="utf-8")
    assert "+SELECT * FROM nope;" in history
    assert "+USE other;" in history
