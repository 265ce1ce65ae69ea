"""Runs one notebook step of a jupyterflow pipeline (written next to the notebooks by jupyterflow).

Usage: python3 nbrun-<hash>.py NOTEBOOK JOB

NOTEBOOK is the notebook with its parameters already injected; the executed copy, with outputs,
is saved as $JUPYTERFLOW_RUN_DIR/notebooks/JOB.ipynb, also when a cell fails or the job is
stopped. The notebook runs with its own kernel, from the current directory, with no cell
timeout, and stops at the first failing cell: then "cell N failed" and the end of the
traceback go to stderr and the exit code is 1.

nbclient (installed with nbconvert 6 and later) is used because `jupyter nbconvert --execute`
writes no notebook at all when a cell fails; without nbclient, nbconvert is the fallback.
With JUPYTERFLOW_NOTEBOOK_ENGINE=papermill, papermill runs it instead (with no parameters: they
are already injected, and papermill only injects when given some); without papermill in the
image the job fails at once (exit 127) rather than quietly running something else.
"""

import os
import re
import signal
import subprocess
import sys

TRACEBACK_LINES = 12
ENGINE_ENV = "JUPYTERFLOW_NOTEBOOK_ENGINE"
# The markdown cells papermill adds to a failed notebook (a banner on top, an anchor before the
# failing cell): left out of the cell numbers, which then match the notebook as written.
PAPERMILL_MARKER = "papermill-error-cell-tag"
ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]")


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: nbrun NOTEBOOK JOB")
    source, job = sys.argv[1], sys.argv[2]
    run_dir = os.environ.get("JUPYTERFLOW_RUN_DIR")
    if not run_dir:
        sys.exit("jupyterflow: JUPYTERFLOW_RUN_DIR is not set: run notebook steps with jupyterflow")
    out_dir = os.path.join(run_dir, "notebooks")
    os.makedirs(out_dir, exist_ok=True)
    output = os.path.join(out_dir, job + ".ipynb")
    engine = os.environ.get(ENGINE_ENV) or "nbclient"
    if engine == "papermill":
        return with_papermill(source, output)
    if engine != "nbclient":
        sys.exit("jupyterflow: unknown %s=%s: expected nbclient or papermill" % (ENGINE_ENV, engine))
    try:
        import nbformat
        from nbclient import NotebookClient
    except ImportError:
        return nbconvert(source, out_dir, job)
    return execute(nbformat, NotebookClient, source, output)


def execute(nbformat, NotebookClient, source, output):
    nb = nbformat.read(source, as_version=4)
    code_cells = sum(1 for cell in nb.cells if cell.cell_type == "code")
    client = NotebookClient(
        nb,
        timeout=None,
        allow_errors=False,
        resources={"metadata": {"path": os.getcwd()}},
    )
    seen = {"code": 0}

    def progress(cell, cell_index, **_):
        if cell.cell_type == "code":
            seen["code"] += 1
            print("cell %d (%d/%d code cells)" % (cell_index + 1, seen["code"], code_cells), flush=True)

    client.on_cell_execute = progress

    def stop(signum, _frame):
        raise KeyboardInterrupt("stopped by signal %d" % signum)

    signal.signal(signal.SIGTERM, stop)
    failed = False
    try:
        client.execute()
    except KeyboardInterrupt:
        save(nbformat, nb, output)
        print("jupyterflow: stopped; the notebook so far is in " + output, file=sys.stderr)
        return 130
    except Exception as error:  # CellExecutionError, or the kernel died
        failed = True
        reason = error
    save(nbformat, nb, output)
    if not failed:
        print("executed notebook: " + output, flush=True)
        return 0
    report(nb, reason, output)
    return 1


def with_papermill(source, output):
    try:
        import nbformat
        import papermill
    except ImportError:
        print(
            "jupyterflow: papermill is not installed in this image; pip install papermill, "
            "or drop notebook_engine: papermill",
            file=sys.stderr,
        )
        return 127
    import logging

    # papermill logs each cell's output (log_output) through `logging`: to stdout, as it comes.
    logging.basicConfig(level=logging.INFO, stream=sys.stdout, format="%(message)s")

    def stop(signum, _frame):
        raise KeyboardInterrupt("stopped by signal %d" % signum)

    signal.signal(signal.SIGTERM, stop)
    print("papermill %s: %s" % (papermill.__version__, output), flush=True)
    try:
        # papermill saves the output after every cell (also the failing one).
        papermill.execute_notebook(
            source, output, cwd=os.getcwd(), progress_bar=False, log_output=True
        )
    except KeyboardInterrupt:
        print("jupyterflow: stopped; the notebook so far is in " + output, file=sys.stderr)
        return 130
    except Exception as error:  # PapermillExecutionError, or the kernel died
        if not os.path.exists(output):
            print("jupyterflow: the notebook failed: %s" % error, file=sys.stderr)
            return 1
        report(nbformat.read(output, as_version=4), error, output)
        return 1
    print("executed notebook: " + output, flush=True)
    return 0


def save(nbformat, nb, output):
    # Atomic: a reader never sees half a notebook.
    partial = output + ".partial"
    nbformat.write(nb, partial)
    os.replace(partial, output)


def report(nb, reason, output):
    cells = [cell for cell in nb.cells if PAPERMILL_MARKER not in cell.get("metadata", {}).get("tags", [])]
    for index, cell in enumerate(cells):
        for out in cell.get("outputs", []):
            if out.get("output_type") != "error":
                continue
            label = ""
            if cell.get("execution_count") is not None:
                label = " (In [%d])" % cell["execution_count"]
            print(
                "jupyterflow: cell %d%s failed: %s: %s" % (index + 1, label, out.get("ename"), out.get("evalue")),
                file=sys.stderr,
            )
            lines = [ANSI.sub("", line) for entry in out.get("traceback", []) for line in entry.splitlines()]
            while lines and not lines[-1].strip():
                lines.pop()
            for line in lines[-TRACEBACK_LINES:]:
                print("  " + line, file=sys.stderr)
            print("jupyterflow: the executed notebook is " + output, file=sys.stderr)
            return
    print("jupyterflow: the notebook failed: %s" % reason, file=sys.stderr)
    print("jupyterflow: the executed notebook is " + output, file=sys.stderr)


def nbconvert(source, out_dir, job):
    print(
        "jupyterflow: nbclient is not installed; running `jupyter nbconvert --execute`, "
        "which keeps no executed notebook when a cell fails",
        file=sys.stderr,
        flush=True,
    )
    command = [
        "jupyter", "nbconvert", "--to", "notebook", "--execute",
        "--ExecutePreprocessor.timeout=-1",
        "--output-dir", out_dir, "--output", job, source,
    ]
    try:
        return subprocess.call(command)
    except OSError as error:
        print("jupyterflow: cannot run `jupyter nbconvert`: %s; install nbconvert (or nbclient) in the image" % error, file=sys.stderr)
        return 127


if __name__ == "__main__":
    sys.exit(main())
