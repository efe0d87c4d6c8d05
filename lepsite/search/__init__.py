"""Site search: what a reader types, matched against the public pages of their language.

This package owns
- ``text``: per-language normalising and tokenising, and the keys a word is filed under
  (lemmas from simplemma, Snowball stems from PyStemmer, diacritics and apostrophes folded);
- ``index``: the in-memory inverted index of every public page, built once when the app
  starts (beside the content store), the query, the ranking and the snippets;
- ``queries``: the app's index and what the search page lists;
- ``views``: ``/<lang>/search?q=…``, a thin view.
"""

from flask import Flask

from .index import SearchIndex
from .queries import placeholder_phrases
from .views import bp


def init_app(app: Flask) -> None:
    """Index the content store's pages and serve the search page."""
    with app.app_context():
        phrases = placeholder_phrases()
    app.extensions["lepsite.search"] = SearchIndex(app.extensions["lepsite.content"], phrases)
    app.register_blueprint(bp)
