"""``%jupyterflow`` and ``%%jupyterflow``: run the jupyterflow binary from a notebook and show its
run as a live table in the cell's output.

- ``%jupyterflow run -c "prep >> train"`` takes any jupyterflow arguments. ``run`` and ``watch``
  are run with ``--events`` (docs/events.md) and followed in a table that is updated in place;
  other commands (``list``, ``get``, ``logs -f``, a ``--dry-run``...) print what they print, as
  it comes.
- ``%%jupyterflow [RUN ARGS]``: the cell's body is a workflow.yaml, given to ``run -f -`` on
  stdin, so its jobs start in the notebook's working directory as a file next to it would.

Interrupting the cell (the kernel's interrupt, Ctrl-C) asks jupyterflow to stop as Ctrl-C in a
terminal does: a local run stops its jobs, a followed cluster run is detached from (it goes on).
A second interrupt stops the jobs at once.
"""

import json
import os
import queue
import shlex
import shutil
import signal
import subprocess
import sys
import sysconfig
import threading
import time

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_cell_magic, magics_class
from IPython.display import display

from ._table import RunTable

# Names the binary to run, before any other place is looked at.
BINARY_ENV = "JUPYTERFLOW_BIN"
# Written by `jupyterflow ipython-extension DIR` next to this file: the installing binary's path.
BINARY_FILE = "_binary.txt"
# Commands whose output is a run to follow, and the flags that make them print something else.
# (`logs` prints the logs themselves: a table of last lines would hide them.)
FOLLOWED = ("run", "watch")
NOT_EVENTS = ("--dry-run", "-q", "--quiet", "--events", "-h", "--help", "-o", "--output")
# How often the table is redrawn at most, and how often a running job's duration ticks.
REDRAW_SECONDS = 0.25
TICK_SECONDS = 1.0
# After an interrupt, how long jupyterflow may take to stop its jobs before it is killed.
STOP_SECONDS = 60.0


def find_binary():
    """The jupyterflow binary: $JUPYTERFLOW_BIN, else the one that installed this package, else
    the one the wheel put beside this Python, else the one on PATH."""
    override = os.environ.get(BINARY_ENV)
    if override:
        return override
    here = os.path.dirname(os.path.abspath(__file__))
    try:
        with open(os.path.join(here, BINARY_FILE)) as f:
            recorded = f.read().strip()
        if os.access(recorded, os.X_OK):
            return recorded
    except OSError:
        pass
    for folder in (sysconfig.get_path("scripts"), os.path.dirname(sys.executable)):
        candidate = os.path.join(folder or "", "jupyterflow")
        if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    found = shutil.which("jupyterflow")
    if found:
        return found
    raise UsageError(
        "no jupyterflow binary found: set $%s to its path, or put it on PATH "
        "(`pip install jupyterflow` does both)" % BINARY_ENV
    )


def arguments(line, cell):
    """The binary's arguments and its stdin for a line (``cell is None``) or a cell magic."""
    try:
        args = shlex.split(line)
    except ValueError as err:
        raise UsageError("cannot read the arguments: %s" % err)
    if cell is None:
        if not args:
            raise UsageError('usage: %jupyterflow run -c "a >> b" (any jupyterflow arguments)')
        return args, None
    if args and args[0] == "run":
        args = args[1:]
    return ["run"] + args + ["-f", "-"], cell


def followed(args):
    """Whether the command shows a run (and so gets ``--events`` and a table)."""
    if not args or args[0] not in FOLLOWED:
        return False
    return not any(
        a in NOT_EVENTS or a.startswith("--output=") or (a.startswith("-o") and a != "-o")
        for a in args[1:]
    )


def _spawn(binary, args, stdin_text):
    return subprocess.Popen(
        [binary] + args,
        stdin=subprocess.PIPE if stdin_text is not None else subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        # Its own session: a terminal's Ctrl-C reaches it once, through us, not twice.
        start_new_session=True,
    )


def _feed_stdin(proc, stdin_text):
    if stdin_text is None:
        return
    try:
        proc.stdin.write(stdin_text.encode("utf-8"))
        proc.stdin.close()
    except BrokenPipeError:
        pass  # it exited before reading: its exit code and stderr say why


def _pump(stream, tag, into):
    for raw in iter(stream.readline, b""):
        into.put((tag, raw.decode("utf-8", "replace").rstrip("\n")))
    into.put((tag, None))


class _Interrupts:
    """What each interrupt of the cell does to the child: SIGINT (stop), SIGINT again (kill
    the jobs at once), then SIGKILL."""

    def __init__(self, proc):
        self.proc = proc
        self.count = 0
        self.first = None

    def interrupt(self):
        self.count += 1
        if self.first is None:
            self.first = time.monotonic()
        if self.proc.poll() is not None:
            return
        if self.count <= 2:
            self.proc.send_signal(signal.SIGINT)
        else:
            self.proc.kill()

    def overdue(self):
        if self.first is not None and time.monotonic() - self.first > STOP_SECONDS:
            if self.proc.poll() is None:
                self.proc.kill()


def _lines(proc, stdin_text, interrupts, tick):
    """The child's stdout ("out") and stderr ("err") lines as they come, until both end. An
    interrupt while waiting goes to ``interrupts``; ``tick()`` runs when nothing came for a
    while."""
    lines = queue.Queue()
    for stream, tag in ((proc.stdout, "out"), (proc.stderr, "err")):
        threading.Thread(target=_pump, args=(stream, tag, lines), daemon=True).start()
    _feed_stdin(proc, stdin_text)
    open_streams = 2
    while open_streams:
        try:
            tag, text = lines.get(timeout=TICK_SECONDS)
        except queue.Empty:
            interrupts.overdue()
            tick()
            continue
        except KeyboardInterrupt:
            interrupts.interrupt()
            continue
        if text is None:
            open_streams -= 1
        else:
            yield tag, text


def _drive(binary, args, stdin_text, on_line, tick=lambda: None):
    """Runs the child to its end, handing each line to ``on_line``. Returns its exit code and
    how many times the cell was interrupted."""
    proc = _spawn(binary, args, stdin_text)
    interrupts = _Interrupts(proc)
    lines = _lines(proc, stdin_text, interrupts, tick)
    while True:
        try:
            # An interrupt while a line is handled lands here; the same stream goes on.
            for tag, text in lines:
                on_line(tag, text)
            break
        except KeyboardInterrupt:
            interrupts.interrupt()
    while True:
        try:
            return proc.wait(), interrupts.count
        except KeyboardInterrupt:
            interrupts.interrupt()


def follow(binary, args, stdin_text):
    """Runs jupyterflow with ``--events`` and shows its run as a table updated in place.
    Returns the table; raises KeyboardInterrupt after the run stopped when the cell was
    interrupted, so "Run All" stops there too."""
    table = RunTable()
    handle = display(table.bundle(), raw=True, display_id=True)
    drawn = [0.0]

    def redraw(force=False):
        if force or time.monotonic() - drawn[0] >= REDRAW_SECONDS:
            handle.update(table.bundle(), raw=True)
            drawn[0] = time.monotonic()

    def on_line(tag, text):
        if tag == "err":
            table.errors += text + "\n"
        else:
            try:
                table.feed(json.loads(text))
            except (ValueError, TypeError, KeyError):
                table.notes.append(text)
        redraw()

    code, interrupted = _drive(
        binary, args + ["--events"], stdin_text, on_line, lambda: redraw(force=True)
    )
    table.exit_code = code
    redraw(force=True)
    if interrupted:
        raise KeyboardInterrupt
    return table


def passthrough(binary, args, stdin_text):
    """Runs a command that shows no run (``list``, ``logs -f``, a ``--dry-run``...), printing
    its output line by line as it comes, as a terminal would."""

    def on_line(tag, text):
        (sys.stdout if tag == "out" else sys.stderr).write(text + "\n")

    code, interrupted = _drive(binary, args, stdin_text, on_line)
    if code:
        sys.stderr.write("jupyterflow exited with code %d\n" % code)
    if interrupted:
        raise KeyboardInterrupt
    return code


@magics_class
class JupyterflowMagics(Magics):
    """``%jupyterflow ARGS`` and ``%%jupyterflow [RUN ARGS]`` (a workflow.yaml body)."""

    @line_cell_magic
    def jupyterflow(self, line, cell=None):
        args, stdin_text = arguments(line, cell)
        binary = find_binary()
        if followed(args):
            follow(binary, args, stdin_text)
        else:
            passthrough(binary, args, stdin_text)
