"""The site's server-rendered pages under one blueprint (``web``): the public pages, with
the operators' dashboard and the public filing forms nested beneath it so that they share
its templates, filters, security headers and database-down page.

Imported once by :func:`api.create_app`; the nesting happens at import, as Flask requires
a nested blueprint to be registered on its parent once.
"""

from __future__ import annotations

from api.common.pages import blp
from api.dashboard import alerts, complaints, imports, objections, queue, repairs  # noqa: F401
from api.dashboard.views import blp as dashboard
from api.intake.forms import blp as forms
from api.public import pages, reports  # noqa: F401  (the public page views attach to ``blp``)

blp.register_blueprint(dashboard)
blp.register_blueprint(forms)

__all__ = ["blp"]
