"""kb: a claims-versus-evidence knowledge base.

The library follows the data flow, one module per stage:

- :mod:`kb.settings`: ``[tool.kb]`` / ``kb.toml``
- :mod:`kb.frontmatter`, :mod:`kb.values`, :mod:`kb.models`, :mod:`kb.load`: files → validated models
- :mod:`kb.graph`: models → networkx graph, status and origins
- :mod:`kb.checks`, :mod:`kb.rules`, :mod:`kb.report`: the rules of ``kb check`` and their output
- :mod:`kb.analyse`: the pipeline up to the findings
- :mod:`kb.export`: the SQLite database
- :mod:`kb.serve`: Datasette
- :mod:`kb.cli`: the ``kb`` command, a thin layer over the above
"""

__version__ = "0.1.0"
