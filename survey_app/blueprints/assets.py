"""Third-party JavaScript served by the app itself (nothing is loaded from the internet).

``/assets/plotly.min.js`` is the plotly.js bundle shipped inside the installed
``plotly`` Python package (its ``package_data``), so the charts' JavaScript always
matches the version that built the figures on the server. Pages link it with
``?v=<plotly version>``, so it can be cached for a year: a new version has a new URL.
"""

from __future__ import annotations

import hashlib
from functools import cache
from importlib import resources

import plotly
from flask import Blueprint, Response, request, url_for

bp = Blueprint("assets", __name__, url_prefix="/assets")

ONE_YEAR = 365 * 24 * 3600


def plotly_url() -> str:
    """The versioned address of plotly.min.js, for templates."""
    return url_for("assets.plotly_js", v=plotly.__version__)


@cache
def _plotly_js() -> tuple[bytes, str]:
    """The bundle (4-5 MB, read once per process) and its ETag."""
    data = (resources.files("plotly") / "package_data" / "plotly.min.js").read_bytes()
    return data, hashlib.sha256(data).hexdigest()[:32]


@bp.get("/plotly.min.js")
def plotly_js() -> Response:
    data, etag = _plotly_js()
    response = Response(data, mimetype="text/javascript")
    response.set_etag(etag)
    response.cache_control.public = True
    response.cache_control.max_age = ONE_YEAR
    response.cache_control.immutable = True
    return response.make_conditional(request)


@bp.app_context_processor
def inject_asset_urls() -> dict[str, object]:
    return {"plotly_url": plotly_url}
