"""The one version string of rag (``rag --version``, the package metadata, ``rag.__version__``)."""

__version__ = "0.1.0"
