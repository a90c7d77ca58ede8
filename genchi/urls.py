"""The URL root: every app's pages, and the error pages of the web app.

Apps are imported, not named by string, so the import contracts (pyproject.toml) see that
the root, and only the root, depends on the web app.
"""

from django.urls import include, path

from genchi.accounts import urls as accounts_urls
from genchi.compliance import urls as compliance_urls
from genchi.erasure import urls as erasure_urls
from genchi.evaluation import urls as evaluation_urls
from genchi.fieldwork import slip_urls as fieldwork_slip_urls
from genchi.fieldwork import urls as fieldwork_urls
from genchi.intake import urls as intake_urls
from genchi.parties import urls as parties_urls
from genchi.planner import urls as planner_urls
from genchi.results import urls as results_urls
from genchi.tablet import urls as tablet_urls
from genchi.transfer import urls as transfer_urls
from genchi.web import urls as web_urls
from genchi.web import views as web_views

urlpatterns = [
    path("", include(web_urls)),
    path("", include(accounts_urls)),
    path("", include(parties_urls)),
    path("", include(compliance_urls)),
    path("", include(intake_urls)),
    path("", include(transfer_urls)),
    path("", include(fieldwork_urls)),
    path("", include(results_urls)),
    path("", include(evaluation_urls)),
    path("", include(fieldwork_slip_urls)),
    path("", include(planner_urls)),
    path("", include(tablet_urls)),
    path("", include(erasure_urls)),
]

handler400 = web_views.bad_request
handler403 = web_views.permission_denied
handler404 = web_views.page_not_found
handler500 = web_views.server_error
