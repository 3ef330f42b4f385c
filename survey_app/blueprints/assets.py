"""Third-party JavaScript served by the app itself (nothing is loaded from the internet).

``/assets/plotly.min.js`` is plotly.js: its basic bundle (1.2 MB) when installed for
the version inside the installed ``plotly`` Python package, else that package's full
bundle (4.8 MB), so the charts' JavaScript always matches the version that built the
figures on the server (:mod:`survey_app.plotly_bundle`). Pages link it with
``?v=<plotly.js version>-<basic|full>``, so it can be cached for a year: another
bundle has another URL.

A browser that accepts gzip (every one does) gets the bundle compressed once per
process (the basic bundle: 0.40 MB; the full one: 1.5 MB), whether or not a proxy in
front compresses (``docs/nginx/survey.conf`` does not).
"""

from __future__ import annotations

import gzip
import hashlib
from functools import cache

from flask import Blueprint, Response, request, url_for

from survey_app.plotly_bundle import Bundle, served_bundle
from survey_app.static_files import ONE_YEAR

bp = Blueprint("assets", __name__, url_prefix="/assets")


def plotly_url() -> str:
    """The versioned address of plotly.min.js, for templates."""
    return url_for("assets.plotly_js", v=_bundle().tag)


@cache
def _bundle() -> Bundle:
    """The bundle this process serves, chosen once."""
    return served_bundle()


@cache
def _plotly_js() -> tuple[bytes, str]:
    """The bundle (read once per process) and its ETag."""
    data = _bundle().path.read_bytes()
    return data, hashlib.sha256(data).hexdigest()[:32]


@cache
def _plotly_js_gzip() -> tuple[bytes, str]:
    """The bundle gzip-compressed (0.05-0.2 s, once per process) and its ETag, which
    differs from the plain bundle's: it is another representation."""
    data, etag = _plotly_js()
    return gzip.compress(data, compresslevel=9, mtime=0), f"{etag}-gzip"


@bp.get("/plotly.min.js")
def plotly_js() -> Response:
    compressed = request.accept_encodings["gzip"] > 0
    data, etag = _plotly_js_gzip() if compressed else _plotly_js()
    response = Response(data, mimetype="text/javascript")
    if compressed:
        response.content_encoding = "gzip"
    response.vary.add("Accept-Encoding")
    response.set_etag(etag)
    response.cache_control.public = True
    response.cache_control.max_age = ONE_YEAR
    response.cache_control.immutable = True
    return response.make_conditional(request)


@bp.app_context_processor
def inject_asset_urls() -> dict[str, object]:
    return {"plotly_url": plotly_url}
