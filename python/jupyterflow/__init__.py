"""jupyterflow: run a notebook's code as an Argo Workflows pipeline on Kubernetes, or locally.

The wheel puts the ``jupyterflow`` command on PATH; this package is its Python side: the IPython
extension. ``%load_ext jupyterflow`` gives ``%jupyterflow`` (any jupyterflow arguments) and
``%%jupyterflow`` (a cell that is a workflow.yaml), which follow a run in a live table.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("jupyterflow")
except PackageNotFoundError:  # imported from a source tree, not installed
    __version__ = "0+unknown"


def load_ipython_extension(ipython):
    """``%load_ext jupyterflow``. IPython is imported only here, so ``import jupyterflow``
    works without it."""
    from ._magic import JupyterflowMagics

    ipython.register_magics(JupyterflowMagics)
