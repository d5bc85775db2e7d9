"""The demo's logins: each role holds exactly what the README says it can do."""

import pytest

from marketo_sync.devtools.demo import DEMO_MARKETER, DEMO_OPS, demo_users_ensure

pytestmark = pytest.mark.django_db


def test_the_demo_prints_an_ops_login_that_converts_and_dismisses(django_user_model):
    logins = demo_users_ensure()
    assert ("ops", "ops", "ops-demo-password") in [
        (login.role, login.username, login.password) for login in logins
    ]
    ops = django_user_model.objects.get(username=DEMO_OPS.username)
    assert ops.check_password(DEMO_OPS.password) and ops.is_staff and not ops.is_superuser
    assert "Marketing operations" in ops.groups.values_list("name", flat=True)
    assert ops.has_perm("accounts.convert_person")
    assert ops.has_perm("sync.dismiss_syncerror")
    assert ops.has_perm("accounts.change_account")  # a marketer as well


def test_the_demo_marketer_may_sync_now_but_not_dismiss_or_convert(django_user_model):
    demo_users_ensure()
    marketer = django_user_model.objects.get(username=DEMO_MARKETER.username)
    assert marketer.has_perm("sync.run_sync")
    assert not marketer.has_perm("sync.dismiss_syncerror")
    assert not marketer.has_perm("accounts.convert_person")
