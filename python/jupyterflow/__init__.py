"""jupyterflow: run a notebook's code as an Argo Workflows pipeline on Kubernetes, or locally.

The wheel puts the ``jupyterflow`` command on PATH; this package is the Python side of it
(the IPython extension, ``%load_ext jupyterflow``, comes later).
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("jupyterflow")
except PackageNotFoundError:  # imported from a source tree, not installed
    __version__ = "0+unknown"
