"""`oaklake shell`: an interactive, multi-line SQL prompt with history."""

from __future__ import annotations

import sys
from typing import Any

from oaklake.errors import OakError


def run_shell(lake: Any) -> None:
    history = lake.settings.root / ".oaklake" / "history"
    history.parent.mkdir(parents=True, exist_ok=True)
    interactive = sys.stdin.isatty()
    if interactive:
        from prompt_toolkit import PromptSession
        from prompt_toolkit.history import FileHistory

        session: Any = PromptSession(history=FileHistory(str(history)))

        def read(prompt: str) -> str:
            return str(session.prompt(prompt))

        print(
            f"oaklake shell on {lake.settings.root} — end statements with ';', "
            "\\q or Ctrl-D to leave"
        )
    else:

        def read(prompt: str) -> str:
            line = sys.stdin.readline()
            if not line:
                raise EOFError
            return line.rstrip("\n")

    buffer: list[str] = []
    while True:
        prompt = f"{lake.engine.current_schema}> " if not buffer else "   ...> "
        try:
            line = read(prompt)
        except KeyboardInterrupt:
            buffer.clear()
            continue
        except EOFError:
            if "\n".join(buffer).strip():  # piped input may end without a final ';'
                _run(lake, "\n".join(buffer))
            break
        # \q leaves even in the middle of a statement (as in psql); exit/quit only at its start.
        if line.strip() == "\\q" or (
            not buffer and line.strip() in ("exit", "quit", "exit;", "quit;")
        ):
            break
        buffer.append(line)
        text = "\n".join(buffer)
        if not text.strip():
            buffer.clear()
            continue
        if not text.rstrip().endswith(";") or _inside_quotes(text):
            continue
        buffer.clear()
        _run(lake, text)


def _inside_quotes(text: str) -> bool:
    """True while a string, quoted name or comment is still open (its ';' ends nothing)."""
    from oaklake.engine.statements import split
    from oaklake.errors import SqlSyntaxError

    try:
        split(text)
    except SqlSyntaxError as e:
        return e.message.startswith("unterminated")
    return False


def _run(lake: Any, text: str) -> None:
    """Run statements one by one, printing each result before the next runs (like `sql`)."""
    from oaklake.cli.render import error_text, write_result
    from oaklake.engine.session import locate_error
    from oaklake.engine.statements import split

    try:
        statements = split(text)
        for stmt in statements:
            try:
                result = lake.engine.run_statement(stmt)
            except OakError as e:
                locate_error(e, stmt, text, len(statements))
                raise
            write_result(result, "table")
    except Exception as e:  # an error, even a bug, must not end the user's session
        print(error_text(e), file=sys.stderr)
