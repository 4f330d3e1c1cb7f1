"""Which version a start runs, and going back when a new one never reaches its login.

The frozen programs call :func:`hand_over` first thing: the installed program acts as
the launcher. A staged version becomes current at this start (the previous one is kept);
a current version not yet confirmed has its starts counted, and after ``MAX_STARTS``
starts without the marker its own login screen writes (:func:`mark_started`) the desk
goes back to the previous version, which is never offered again. Standard library only:
this runs before anything else is imported.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

from . import state as st

MAX_STARTS = 3
ENV_MARKER = "MOTCUA_UPDATE_MARKER"  # the file the started version writes at its login
ENV_LAUNCHED = "MOTCUA_UPDATE_LAUNCHED"  # set for the child: it launches nothing itself


@dataclass(frozen=True)
class Choice:
    folder: Path  # the program folder to run
    version: str
    marker: Path | None  # to write when it reaches its login screen (None: confirmed)
    rolled_back_from: str | None = None


def _number(version: str) -> tuple[int, ...]:
    try:
        return tuple(int(part) for part in version.split("."))
    except ValueError:
        return (-1,)


def choose(
    data_dir: Path, base_dir: Path, base_version: str, max_starts: int = MAX_STARTS
) -> Choice:
    """Decide this start's version and record the decision (see the module's text)."""
    state = st.load(data_dir)
    before = asdict(state)
    versions = st.versions_dir(data_dir)
    _promote(data_dir, state)
    _supersede(state, versions, base_version)
    rolled_back = _count_start(data_dir, state, max_starts)
    _supersede(state, versions, base_version)
    if asdict(state) != before:  # a desk without updates never writes here
        st.save(data_dir, state)
    if state.current is None:
        return Choice(base_dir, base_version, None, rolled_back)
    mark = None if state.confirmed else st.marker(data_dir, state.current)
    if mark is not None:
        mark.parent.mkdir(parents=True, exist_ok=True)  # the program only writes the file
    return Choice(versions / state.current, state.current, mark, rolled_back)


def _promote(data_dir: Path, state: st.UpdateState) -> None:
    """A staged version not held becomes current; the current one is kept as previous."""
    if state.staged and not state.held and (st.versions_dir(data_dir) / state.staged).is_dir():
        state.previous, state.current = state.current, state.staged
        state.staged, state.confirmed, state.starts = None, False, 0
        st.marker(data_dir, state.current).unlink(missing_ok=True)  # only this run's counts


def _supersede(state: st.UpdateState, versions: Path, base_version: str) -> None:
    """The installed package is as new (apt or the setup upgraded it), or the version's
    folder is gone: the installed program runs, and is known to be good."""
    if state.current and (
        _number(state.current) <= _number(base_version) or not (versions / state.current).is_dir()
    ):
        state.current, state.previous, state.confirmed, state.starts = None, None, True, 0


def _count_start(data_dir: Path, state: st.UpdateState, max_starts: int) -> str | None:
    """Count a start of an unconfirmed version; past `max_starts`, go back to the
    previous one. The version rolled back from, if any."""
    if not state.current or state.confirmed:
        return None
    if st.marker(data_dir, state.current).exists():
        state.confirmed, state.starts = True, 0
        return None
    if state.starts < max_starts:
        state.starts += 1
        return None
    failed = state.current
    state.failed = sorted({*state.failed, failed})
    state.rolled_back = failed
    state.current, state.previous, state.confirmed, state.starts = state.previous, None, True, 0
    return failed


def prune(data_dir: Path) -> None:
    """Delete unpacked versions that are neither current, previous nor staged."""
    state = st.load(data_dir)
    keep = {state.current, state.previous, state.staged}
    versions = st.versions_dir(data_dir)
    if versions.is_dir():
        for folder in versions.iterdir():
            if folder.name not in keep:
                shutil.rmtree(folder, ignore_errors=True)


def mark_started() -> None:
    """Called when the login screen shows (or a command succeeds): this version works."""
    path = os.environ.get(ENV_MARKER)
    if not path:
        return
    try:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).touch()
    except OSError:
        pass  # a read-only data folder: the launcher counts this start as failed


def data_dir_of(argv: list[str]) -> Path:
    """The data folder the program will use: ``--data-dir``, MOTCUA_DATA_DIR, default."""
    for index, word in enumerate(argv):
        if word == "--data-dir" and index + 1 < len(argv):
            return Path(argv[index + 1])
        if word.startswith("--data-dir="):
            return Path(word.split("=", 1)[1])
    if os.environ.get("MOTCUA_DATA_DIR"):
        return Path(os.environ["MOTCUA_DATA_DIR"])
    import platformdirs

    return Path(platformdirs.user_data_dir("motcua", "MotCua"))


def run(program: str, argv: list[str], choice: Choice) -> int | None:
    """Start `program` of the chosen folder (replacing this process where the system
    can); None when the chosen folder is this program's own."""
    env = dict(os.environ)
    env[ENV_LAUNCHED] = choice.version
    if choice.marker is not None:
        env[ENV_MARKER] = str(choice.marker)
    if choice.rolled_back_from:
        from core.domain.errors import N_
        from core.i18n import set_language, tr

        set_language(None)  # MOTCUA_LANG, else Vietnamese: nothing chose one in this process
        message = N_(
            "Version {failed} did not reach its login screen in {starts} starts: "
            "going back to version {version}"
        )
        text = tr(
            message, failed=choice.rolled_back_from, starts=MAX_STARTS, version=choice.version
        )
        print(f"motcua: {text}", file=sys.stderr)
    executable = choice.folder / (program + (".exe" if sys.platform == "win32" else ""))
    if sys.platform == "win32":
        return subprocess.call([str(executable), *argv], env=env)
    os.execve(executable, [program, *argv], env)
    return None  # not reached: execve replaces this process


def hand_over(program: str) -> None:
    """In a frozen program: run the per-user version chosen for this start, if it is not
    this one; return to go on with this program."""
    if not getattr(sys, "frozen", False) or os.environ.get(ENV_LAUNCHED):
        return
    from core import __version__

    argv = sys.argv[1:]
    base = Path(sys.executable).resolve().parent
    try:
        choice = choose(data_dir_of(argv), base, __version__)
    except OSError:
        return  # the data folder cannot be written: the installed program says why
    if choice.folder == base:
        return
    code = run(program, argv, choice)
    sys.exit(code or 0)


def main(argv: list[str] | None = None) -> int:
    """``python -m core.update.launcher --base DIR --base-version V PROGRAM [ARGS…]``: the
    launcher outside a frozen program (tests, a wrapper script)."""
    import argparse

    parser = argparse.ArgumentParser(prog="motcua-launcher")
    parser.add_argument("--base", type=Path, required=True)
    parser.add_argument("--base-version", required=True)
    parser.add_argument("program")
    parser.add_argument("args", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    choice = choose(data_dir_of(args.args), args.base, args.base_version)
    code = run(args.program, args.args, choice)
    return code or 0


if __name__ == "__main__":
    sys.exit(main())
