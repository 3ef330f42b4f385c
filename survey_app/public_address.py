"""Is the address a printed poster would carry reachable by citizens?

A desk's poster encodes the phone form's address in its QR code. With
``PUBLIC_BASE_URL`` set, that address is built from it; without it, from the address
the administrator happened to open the page at, which is useless on paper when it is a
loopback or private one (``http://127.0.0.1:5000/s/…``). The poster page shows
:func:`poster_warning` in that case.
"""

from __future__ import annotations

import ipaddress

from flask import current_app, request
from flask_babel import gettext as _

LOCAL_NAMES = ("localhost", "localhost.localdomain")
LOCAL_SUFFIXES = (".localhost", ".local", ".internal", ".lan", ".home.arpa")


def host_of(netloc: str) -> str:
    """The host of ``host[:port]`` or ``[v6]:port``, lower-case, without the port."""
    if netloc.startswith("["):
        return netloc[1:].split("]", 1)[0].lower()
    if netloc.count(":") == 1:
        return netloc.split(":", 1)[0].lower()
    return netloc.lower()


def is_local(host: str) -> bool:
    """Loopback, private, link-local or unspecified addresses, and local-only names."""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host in LOCAL_NAMES or host.endswith(LOCAL_SUFFIXES) or "." not in host
    return (
        address.is_loopback
        or address.is_private
        or address.is_link_local
        or address.is_unspecified
        or address.is_reserved
    )


def poster_warning() -> str | None:
    """A warning for the poster page, or None when its address is fit for print."""
    if current_app.config.get("PUBLIC_BASE_URL"):
        return None
    if not is_local(host_of(request.host)):
        return None
    return _(
        "PUBLIC_BASE_URL is not set, and this page was opened at %(host)s, a local or "
        "private address: the QR code and the link on this poster would work only inside "
        "this network. Set PUBLIC_BASE_URL to the site's public address before printing.",
        host=request.host,
    )
