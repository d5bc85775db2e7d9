"""The django-rq dashboard, behind an explicit permission.

django-rq only asks for `is_staff`, which would let every marketer empty queues and requeue or
delete jobs. Here each dashboard view also needs `django_rq.admin` (superusers have it).

Its templates carry inline scripts and styles of their own, which take no nonce, so its pages
are the one documented exception to the site's Content-Security-Policy: they add
'unsafe-inline' for scripts and styles. Only holders of `django_rq.admin` reach them, and
every other directive (sources limited to this site, no framing, forms posting here) stays.
"""

from collections.abc import Callable
from functools import wraps

from csp.constants import UNSAFE_INLINE
from csp.decorators import csp_update
from django.contrib import admin
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import URLPattern
from django_rq.admin import QueueAdmin
from django_rq.models import Dashboard
from rq.exceptions import InvalidJobOperation, NoSuchJobError

from marketo_sync.admin_input import bad_request
from marketo_sync.forbidden import MissingPermission

PERMISSION = "django_rq.admin"
DASHBOARD_POLICY = {"script-src": [UNSAFE_INLINE], "style-src": [UNSAFE_INLINE]}
# Views that can only fail here: the dashboard is a model without a table, so its object pages
# (change, delete, history) have nothing to show, and the rq-scheduler page needs a package this
# project does not use (its schedule is rqcron). Not mounted rather than answering with a 500.
UNSERVED_VIEWS = {
    "django_rq_dashboard_change", "django_rq_dashboard_delete", "django_rq_dashboard_history",
    "django_rq_scheduler_jobs", None,
}
# Views django-rq leaves outside the admin's login (they take an API token of their own): here
# they need the admin login like the rest.
TOKEN_VIEWS = {"django_rq_home_json", "django_rq_metrics"}


def require_dashboard_permission(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Staff without the permission get 403; everyone else meets the view's own checks.

    django-rq's job pages answer 500 for a job that is gone (deleted twice, expired) or an
    operation the job's state does not allow (requeueing a job that did not fail): 404 and 400.
    """

    @wraps(view)
    def checked(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
        user = request.user
        if user.is_active and user.is_staff and not user.has_perm(PERMISSION):
            raise MissingPermission(PERMISSION)
        try:
            return view(request, *args, **kwargs)
        except NoSuchJobError:
            raise Http404("No such job (it may have been deleted or have expired).") from None
        except InvalidJobOperation:
            return bad_request(request, "job_id")

    return checked


class PermissionCheckedQueueAdmin(QueueAdmin):
    def has_module_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(PERMISSION)

    def has_view_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return request.user.has_perm(PERMISSION)

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return request.user.has_perm(PERMISSION)

    def get_urls(self) -> list[URLPattern]:
        return [
            URLPattern(
                pattern.pattern,
                csp_update(DASHBOARD_POLICY)(require_dashboard_permission(
                    self.admin_site.admin_view(pattern.callback)
                    if pattern.name in TOKEN_VIEWS else pattern.callback
                )),
                pattern.default_args,
                pattern.name,
            )
            for pattern in super().get_urls()
            if pattern.name not in UNSERVED_VIEWS
        ]


def rq_dashboard_protect(site: admin.AdminSite) -> None:
    """Swap django-rq's admin registration for the permission-checked one."""
    if site.is_registered(Dashboard):
        site.unregister(Dashboard)
    site.register(Dashboard, PermissionCheckedQueueAdmin)
