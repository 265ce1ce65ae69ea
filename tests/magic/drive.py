"""Drives the IPython extension as a notebook would, without a browser or a kernel: an IPython
InteractiveShell loads `jupyterflow` from the repo's python/ folder, runs one magic, and every
display call the magic made is written as JSON to the file named by argv[1].

argv: OUT_JSON PYTHON_DIR line|cell MAGIC_LINE [CELL_BODY]; $DRIVE_INTERRUPT_AFTER=SECONDS
interrupts the magic then.
The binary comes from $JUPYTERFLOW_BIN (the test sets it). Used by tests/it/magic.rs.
"""

import json
import os
import signal
import sys
import threading

out_path, python_dir, kind, line = sys.argv[1:5]
body = sys.argv[5] if len(sys.argv) > 5 else None
sys.path.insert(0, python_dir)

from IPython.core.interactiveshell import InteractiveShell  # noqa: E402

shell = InteractiveShell.instance()
calls = []


def publish(data, metadata=None, source=None, *, transient=None, update=False, **_):
    calls.append({"data": data, "transient": transient or {}, "update": update})


# The shell's own publisher would print the text; the test wants every call, in order.
shell.display_pub.publish = publish
shell.run_line_magic("load_ext", "jupyterflow")
# As the kernel's interrupt button would: SIGINT to this process while the magic runs.
delay = os.environ.get("DRIVE_INTERRUPT_AFTER")
if delay:
    threading.Timer(float(delay), os.kill, (os.getpid(), signal.SIGINT)).start()
error = None
try:
    if kind == "line":
        shell.run_line_magic("jupyterflow", line)
    else:
        shell.run_cell_magic("jupyterflow", line, body)
except BaseException as err:  # reported to the test, which decides
    error = "%s: %s" % (type(err).__name__, err)
with open(out_path, "w") as f:
    json.dump({"calls": calls, "error": error}, f)
