"""The scorecard page as a PDF (WeasyPrint), reading only the app's own static files."""

from __future__ import annotations


def html_to_pdf(html: str, base_url: str, static_folder: str, static_url_path: str) -> bytes:
    """Render the scorecard's HTML to PDF with WeasyPrint.

    Only the app's own static files are read (from disk, never over the network);
    any other resource the page might name is refused.
    """
    import mimetypes
    from pathlib import Path
    from urllib.parse import unquote, urlsplit

    from weasyprint import HTML
    from weasyprint.urls import URLFetcherResponse
    from werkzeug.security import safe_join

    prefix = static_url_path.rstrip("/") + "/"

    def fetch(url: str) -> URLFetcherResponse:
        path = unquote(urlsplit(url).path)
        if not path.startswith(prefix):
            raise ValueError(f"not an application asset: {url}")
        local = safe_join(static_folder, path[len(prefix) :])
        if local is None or not Path(local).is_file():
            raise ValueError(f"no such asset: {url}")
        mime = mimetypes.guess_type(local)[0] or "application/octet-stream"
        return URLFetcherResponse(url, Path(local).read_bytes(), {"Content-Type": mime})

    return HTML(string=html, base_url=base_url, url_fetcher=fetch).write_pdf()
