"""kb: a claims-versus-evidence knowledge base.

The library follows the data flow, one module per stage:

- :mod:`kb.settings`: ``[tool.kb]`` / ``kb.toml`` (:mod:`kb.settings_file`: reading it, stdlib only)
- :mod:`kb.frontmatter`, :mod:`kb.values`, :mod:`kb.models`, :mod:`kb.load`: files → validated models
- :mod:`kb.graph`: models → networkx graph, status and origins
- :mod:`kb.checks`, :mod:`kb.rules`, :mod:`kb.report`: the rules of ``kb check`` and their output
- :mod:`kb.analyse`: the pipeline up to the findings
- :mod:`kb.inputs`: what a build depends on (stat signature, content fingerprint)
- :mod:`kb.database`: the SQLite database (build, schema, rows)
- :mod:`kb.serve`, :mod:`kb.site`: Datasette (the server process; the plugin package)
- :mod:`kb.cli`: the ``kb`` command, a thin layer over the above
"""

__version__ = "0.1.0"
# The SQLite schema's version (kb.database.schema documents each step). It lives here, not
# in kb.database, because a build's fingerprint includes it and `kb check` computes that
# fingerprint without importing the database stack (sqlite-utils, markdown-it).
SCHEMA_VERSION = 6
# The largest claim or source file read (kb.frontmatter, kb.load); here, not in kb.frontmatter,
# because the fingerprint of a build hashes files up to it without importing PyYAML.
MAX_FILE_BYTES = 1024 * 1024
