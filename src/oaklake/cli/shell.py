"""`oaklake shell`: an interactive, multi-line SQL prompt with history."""

from __future__ import annotations

import sys
from typing import Any

from oaklake.errors import OakError


def run_shell(lake: Any) -> None:
    from oaklake.cli.render import error_text, write_result

    history = lake.settings.root / ".oaklake" / "history"
    history.parent.mkdir(parents=True, exist_ok=True)
    interactive = sys.stdin.isatty()
    if interactive:
        from prompt_toolkit import PromptSession
        from prompt_toolkit.history import FileHistory

        session: Any = PromptSession(history=FileHistory(str(history)))

        def read(prompt: str) -> str:
            return str(session.prompt(prompt))

        print(f"oaklake shell on {lake.settings.root} — end statements with ';', "
              "\\q or Ctrl-D to leave")
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
            break
        if not buffer and line.strip() in ("\\q", "exit", "quit", "exit;", "quit;"):
            break
        buffer.append(line)
        text = "\n".join(buffer)
        if not text.strip():
            buffer.clear()
            continue
        if not text.rstrip().endswith(";"):
            continue
        buffer.clear()
        try:
            for result in lake.sql_script(text):
                write_result(result, "table")
        except OakError as e:
            print(error_text(e), file=sys.stderr)
        except Exception as e:  # a bug must not kill the user's session
            print(error_text(e), file=sys.stderr)
