"""rag: read the news with a machine at your side.

Answers questions about a collection of articles and writes briefings of them,
every sentence pointing back to the exact source passage that supports it.
Local-first: runs on a laptop, CPU or GPU, with no network once installed.
"""

__version__ = "0.1.0"
