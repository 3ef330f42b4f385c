"""Third-party JavaScript served by the app itself (nothing is loaded from the internet).

``/assets/plotly.min.js`` is the plotly.js bundle shipped inside the installed
``plotly`` Python package (its ``package_data``), so the charts' JavaScript always
matches the version that built the figures on the server. Pages link it with
``?v=<plotly version>``, so it can be cached for a year: a new version has a new URL.

A browser that accepts gzip (every one does) gets the bundle compressed once per
process: 1.5 MB instead of 4.8 MB on a leader's phone, whether or not a proxy in front
compresses (``docs/nginx/survey.conf`` does not).
"""

from __future__ import annotations

import gzip
import hashlib
from functools import cache
from importlib import resources

import plotly
from flask import Blueprint, Response, request, url_for

from survey_app.static_files import ONE_YEAR

bp = Blueprint("assets", __name__, url_prefix="/assets")


def plotly_url() -> str:
    """The versioned address of plotly.min.js, for templates."""
    return url_for("assets.plotly_js", v=plotly.__version__)


@cache
def _plotly_js() -> tuple[bytes, str]:
    """The bundle (4-5 MB, read once per process) and its ETag."""
    data = (resources.files("plotly") / "package_data" / "plotly.min.js").read_bytes()
    return data, hashlib.sha256(data).hexdigest()[:32]


@cache
def _plotly_js_gzip() -> tuple[bytes, str]:
    """The bundle gzip-compressed (about 0.2 s, once per process) and its ETag, which
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
