"""The governance handbook: pages, charts, site building and serving."""

BUILDERS = ("mkdocs", "zensical")  # the site builders `govkit build` and `serve` can run
