"""Support staff cannot do what their role forbids: every admin action, and every
button of the admin's own pages, asks for a permission; the support group is
refused wherever it lacks one.

The actions come from the live admin registry, so an action added later is tried
here without being listed: unless this file says the support group may run it,
the group must be refused, and it must declare the permission it needs.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.apps import apps
from django.contrib import admin
from django.contrib.auth.models import Group, Permission
from django.contrib.sessions.models import Session
from django.test import Client, RequestFactory
from django.urls import reverse
from django.utils import timezone
from django_q.models import OrmQ, Schedule, Task

from alerts.models import Alert, HandlerJob, WebhookDelivery, WebhookEndpoint
from buckets.models import BucketMembership, BucketState
from contacts.models import Contact, ContactAlias, EmailPreference, ErasureRecord
from contacts.preferences import preference_update
from hogsend_site.auth import api_key_create
from hogsend_site.models import AuditLog
from hogsend_site.staff import SUPPORT_APPS
from journeys.models import JourneyConfig, JourneyLog, JourneyRun, StepRecord
from tracking.models import (
    ANSWER_KEY_PREFIX,
    EmailSend,
    LinkClick,
    PendingEvent,
    ProviderEvent,
    TrackedLink,
    UserEvent,
)

pytestmark = pytest.mark.django_db


def every_action() -> list[tuple[str, str]]:
    """(model label, action name) for every action of every registered model admin,
    before any permission filtering (Django's delete_selected included)."""
    return sorted((model._meta.label_lower, name)
                  for model, model_admin in admin.site._registry.items()
                  for _, name, _ in model_admin._get_base_actions())


def admin_of(label: str) -> admin.ModelAdmin:
    return admin.site._registry[apps.get_model(label)]


# --- rows to act on: one real row per registered model, in a state the action changes --

def _run(ada: Contact, status: str, **fields: Any) -> JourneyRun:
    return JourneyRun.objects.create(journey_id="support-followup", contact=ada,
                                     user_key=ada.key, status=status, **fields)


def _send(ada: Contact) -> EmailSend:
    return EmailSend.objects.create(contact=ada, template_key="t", from_email="a@x",
                                    to_email=ada.email, subject="s")


def _task(success: bool) -> Task:
    now = timezone.now()
    return Task.objects.create(id=f"task-{success}", name=f"task-{success}",
                               func="django.utils.timezone.now", started=now, stopped=now,
                               success=success)


def _preference(ada: Contact, *, unsubscribed: bool) -> EmailPreference:
    return preference_update(contact=ada, email=ada.email, unsubscribed_all=unsubscribed,
                             source="api")


def _alert(ada: Contact) -> Alert:
    return Alert.objects.create(kind="lead", title="Lead", dedupe_key="lead:1", contact=ada)


def _campaign(ada: Contact) -> Any:
    from campaigns.services import campaign_create

    return campaign_create(template="marketing/announcement", list_id="digest",
                           send_at=timezone.now() + timedelta(days=1))[0]


def _delivery(status: str) -> WebhookDelivery:
    endpoint = WebhookEndpoint.objects.create(url="https://hooks.example.com/in")
    return WebhookDelivery.objects.create(endpoint=endpoint, event_type="email.sent",
                                          status=status, attempts=3)


def _stuck(ada: Contact) -> JourneyRun:
    # Waiting two hours past its wake-up: on the stranded list, and live.
    return _run(ada, "waiting", wake_at=timezone.now() - timedelta(hours=2))


ROWS: dict[str, Callable[[Contact], Any]] = {
    "auth.group": lambda ada: Group.objects.create(name="ops"),
    "auth.user": lambda ada: apps.get_model("auth.user").objects.create_user("victim"),
    "django_q.schedule": lambda ada: Schedule.objects.create(
        name="nightly", func="django.utils.timezone.now"),
    "django_q.success": lambda ada: _task(True),
    "django_q.failure": lambda ada: _task(False),
    "django_q.ormq": lambda ada: OrmQ.objects.create(key="default", payload="x",
                                                     lock=timezone.now()),
    "hogsend_site.apikey": lambda ada: api_key_create(name="zapier", scopes=["ingest"])[0],
    "hogsend_site.auditlog": lambda ada: AuditLog.objects.create(
        actor="ops", action="PUT contact", resource="contact"),
    "contacts.contact": lambda ada: ada,
    "contacts.contactalias": lambda ada: ContactAlias.objects.create(
        contact=ada, kind="email", value="old@example.com"),
    "contacts.emailpreference": lambda ada: _preference(ada, unsubscribed=False),
    "contacts.preferencechange": lambda ada: _preference(ada, unsubscribed=True).changes.get(),
    "contacts.erasurerecord": lambda ada: ErasureRecord.objects.create(
        contact_id=ada.pk, actor="ops", counts={}, created_at=timezone.now()),
    "tracking.answer": lambda ada: UserEvent.objects.create(
        contact=ada, user_key=ada.key, event="nps.answered", properties={"score": 9},
        idempotency_key=f"{ANSWER_KEY_PREFIX}1"),
    "tracking.userevent": lambda ada: UserEvent.objects.create(
        contact=ada, user_key=ada.key, event="ticket.resolved"),
    "tracking.emailsend": _send,
    "tracking.trackedlink": lambda ada: TrackedLink.objects.create(
        email_send=_send(ada), original_url="https://example.com"),
    "tracking.linkclick": lambda ada: LinkClick.objects.create(
        tracked_link=TrackedLink.objects.create(email_send=_send(ada),
                                                original_url="https://example.com")),
    "tracking.pendingevent": lambda ada: PendingEvent.objects.create(
        email_send=_send(ada), event="email.opened", due_at=timezone.now()),
    "tracking.providerevent": lambda ada: ProviderEvent.objects.create(
        esp_name="postmark", dedupe_key="pm:1", event_type="bounced", recipient=ada.email),
    "journeys.journeyoverview": lambda ada: JourneyConfig.objects.create(
        journey_id="nps-survey"),
    "buckets.bucketoverview": lambda ada: BucketState.objects.create(bucket_id="dormant-30d"),
    "journeys.journeyrun": lambda ada: _run(ada, "waiting"),
    "journeys.strandedrun": _stuck,
    "journeys.journeylog": lambda ada: JourneyLog.objects.create(
        run=_run(ada, "waiting"), action="entered", created_at=timezone.now()),
    "journeys.steprecord": lambda ada: StepRecord.objects.create(
        run=_run(ada, "waiting"), key="k", kind="sleep", at=timezone.now()),
    "journeys.journeyconfig": lambda ada: JourneyConfig.objects.create(journey_id="nps-survey"),
    "alerts.alert": _alert,
    "alerts.handlerjob": lambda ada: HandlerJob.objects.create(
        handler="lead", event=UserEvent.objects.create(contact=ada, user_key=ada.key,
                                                       event="x"), due_at=timezone.now()),
    "alerts.webhookendpoint": lambda ada: WebhookEndpoint.objects.create(
        url="https://hooks.example.com/in"),
    "alerts.webhookdelivery": lambda ada: _delivery("failed"),
    "campaigns.campaign": _campaign,
}

# Actions that need a row in another state than ROWS makes for their model.
ROWS_FOR_ACTION: dict[tuple[str, str], Callable[[Contact], Any]] = {
    ("journeys.journeyrun", "retry_runs"): lambda ada: _run(ada, "failed"),
    ("journeys.strandedrun", "retry_runs"): lambda ada: _run(ada, "failed"),
    ("contacts.emailpreference", "resubscribe_all"):
        lambda ada: _preference(ada, unsubscribed=True),
}


def row_for(label: str, name: str, ada: Contact) -> Any:
    maker = ROWS_FOR_ACTION.get((label, name)) or ROWS.get(label)
    assert maker, f"add a row maker for {label} to ROWS in this file"
    return maker(ada)


# --- what the support group may run, and what running it does -------------------------

def _refetched(row: Any) -> Any:
    return type(row)._base_manager.get(pk=row.pk)


def _status(expected: str) -> Callable[[Any, Any], None]:
    def check(row: Any, response: Any) -> None:
        assert _refetched(row).status == expected
    return check


def _handled_by_sam(field: str) -> Callable[[Any, Any], None]:
    def check(row: Any, response: Any) -> None:
        assert getattr(_refetched(row), field) == "sam"
    return check


def _unsubscribed(expected: bool) -> Callable[[Any, Any], None]:
    def check(row: Any, response: Any) -> None:
        assert _refetched(row).unsubscribed_all is expected
    return check


def _replayed(row: Any, response: Any) -> None:
    assert UserEvent.objects.filter(source="replay", event=row.event).exists()


def _exported(row: Any, response: Any) -> None:
    assert response["Content-Type"].startswith("text/csv")
    assert "nps.answered" in b"".join(response.streaming_content).decode()


# What the support group may run (hogsend_site/staff.py), and what running it does.
SUPPORT_MAY: dict[tuple[str, str], Callable[[Any, Any], None]] = {
    ("journeys.journeyrun", "exit_runs"): _status("exited"),
    ("journeys.journeyrun", "retry_runs"): _status("active"),
    ("journeys.strandedrun", "exit_runs"): _status("exited"),
    ("journeys.strandedrun", "retry_runs"): _status("active"),
    ("alerts.alert", "acknowledge"): _handled_by_sam("acknowledged_by"),
    ("alerts.alert", "resolve"): _handled_by_sam("resolved_by"),
    ("contacts.emailpreference", "unsubscribe_all"): _unsubscribed(True),
    ("contacts.emailpreference", "resubscribe_all"): _unsubscribed(False),
    ("tracking.userevent", "replay"): _replayed,
    ("tracking.answer", "export_csv"): _exported,
}
# Actions that only read: running them changes no row.
READ_ONLY_ACTIONS = {("tracking.answer", "export_csv")}


def snapshot() -> dict[str, list[dict[str, Any]]]:
    """Every row of every table but sessions: an action that ran shows up here."""
    tables = {}
    for model in apps.get_models(include_auto_created=True):
        if model._meta.proxy or model is Session:
            continue
        tables[model._meta.db_table] = list(model._base_manager.order_by("pk").values())
    return tables


def run_action(client: Client, label: str, name: str, row: Any) -> Any:
    model = apps.get_model(label)
    changelist = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
    return client.post(changelist, {"action": name, "_selected_action": [str(row.pk)],
                                    "index": "0", "post": "yes"})


def offered(client: Client, label: str, name: str) -> bool | None:
    """Whether the changelist offers the action (None: the page itself is refused)."""
    model = apps.get_model(label)
    page = client.get(reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}"
                              "_changelist"))
    if page.status_code == 403:
        return None
    assert page.status_code == 200
    return f'value="{name}"'.encode() in page.content


@pytest.mark.parametrize(("label", "name"), every_action())
def test_support_staff_run_only_the_actions_their_group_is_granted(
        support_client, ada, label, name):
    row = row_for(label, name, ada)
    before = snapshot()
    if (label, name) in SUPPORT_MAY:
        assert offered(support_client, label, name)
        response = run_action(support_client, label, name, row)
        assert response.status_code in (200, 302)
        SUPPORT_MAY[(label, name)](row, response)
        return
    assert not offered(support_client, label, name)
    response = run_action(support_client, label, name, row)
    assert response.status_code in (200, 302, 403)
    assert snapshot() == before, f"support staff ran {name} on {label}"


@pytest.mark.parametrize(("label", "name"), every_action())
def test_each_refusal_above_is_real_because_a_superuser_changes_the_row(
        admin_client, admin_user, ada, label, name):
    """The rows above are in a state each action changes: where a superuser may run
    the action, running it changes something (or, for a read-only action, answers)."""
    request = RequestFactory().get("/")
    request.user = admin_user
    if name not in admin_of(label).get_actions(request):
        pytest.skip("no one may run it (a read-only table's delete_selected)")
    row = row_for(label, name, ada)
    before = snapshot()
    response = run_action(admin_client, label, name, row)
    if (label, name) in READ_ONLY_ACTIONS:
        SUPPORT_MAY[(label, name)](row, response)
    else:
        assert snapshot() != before, f"{name} on {label} changed nothing, even for a superuser"


@pytest.mark.parametrize(("label", "name"), every_action())
def test_every_action_declares_the_permission_it_needs(label, name):
    model_admin = admin_of(label)
    [func] = [func for func, action, _ in model_admin._get_base_actions() if action == name]
    permissions = getattr(func, "allowed_permissions", None)
    assert permissions, f"{label} {name}: @admin.action(permissions=[...]) is missing"
    for permission in permissions:
        assert callable(getattr(model_admin, f"has_{permission}_permission", None)), (
            f"{label} {name}: no has_{permission}_permission on {type(model_admin).__name__}")


def test_the_gaps_found_are_closed_with_the_right_permissions():
    declared = {(model._meta.label_lower, name): getattr(func, "allowed_permissions", None)
                for model, model_admin in admin.site._registry.items()
                for func, name, _ in model_admin._get_base_actions()}
    assert declared[("hogsend_site.apikey", "revoke")] == ["change"]
    assert declared[("contacts.contact", "soft_delete")] == ["delete"]
    assert declared[("django_q.failure", "resubmit_failures")] == ["delete"]


def test_a_view_only_login_can_neither_revoke_keys_nor_soft_delete_contacts(
        django_user_model, ada):
    """The two actions the red-team used: view permission alone ran them."""
    viewer = django_user_model.objects.create_user("vera", is_staff=True)
    viewer.user_permissions.add(*Permission.objects.filter(
        codename__in=["view_apikey", "view_contact"]))
    client = Client()
    client.force_login(viewer)
    key, _ = api_key_create(name="zapier", scopes=["ingest"])
    run_action(client, "hogsend_site.apikey", "revoke", key)
    run_action(client, "contacts.contact", "soft_delete", ada)
    key.refresh_from_db()
    ada.refresh_from_db()
    assert key.revoked_at is None and ada.deleted_at is None
    assert not AuditLog.objects.exists()


# --- the admin's own pages: buttons and forms that write ------------------------------

def _bucket_member(ada: Contact) -> BucketMembership:
    return BucketMembership.objects.create(contact=ada, bucket_id="dormant-30d", status="active",
                                           entered_at=timezone.now(), source="reconcile")


def _button_rows(ada: Contact) -> dict[str, Any]:
    failed = JourneyRun.objects.create(journey_id="nps-survey", contact=ada, user_key=ada.key,
                                       status="failed")
    victim = apps.get_model("auth.user").objects.create_user("victim", password="old-pw")
    return {"ada": ada, "run": _run(ada, "waiting"), "failed": failed, "alert": _alert(ada),
            "victim": victim, "campaign": _campaign(ada)}


Press = Callable[[dict[str, Any]], tuple[list[Any], dict[str, str]]]
# url name -> (its path arguments and POST body, whether the support group may press it)
BUTTONS: dict[str, tuple[Press, bool]] = {
    "contacts_contact_preferences": (
        lambda rows: ([rows["ada"].pk], {"action": "unsubscribe_all"}), True),
    "journeys_journeyrun_exit": (lambda rows: ([rows["run"].pk], {}), True),
    "journeys_journeyrun_retry": (lambda rows: ([rows["failed"].pk], {}), True),
    "journeys_strandedrun_exit": (lambda rows: ([rows["run"].pk], {}), True),
    "journeys_strandedrun_retry": (lambda rows: ([rows["failed"].pk], {}), True),
    "journeys_journeyoverview_switch": (lambda rows: (["nps-survey"], {"enabled": "0"}), False),
    "journeys_journeyoverview_enrol": (lambda rows: ([], {
        "journey": "support-followup", "people": str(rows["ada"].pk), "properties": "{}"}),
        True),
    "buckets_bucketoverview_add_member": (
        lambda rows: (["dormant-30d"], {"person": str(rows["ada"].pk)}), True),
    "buckets_bucketoverview_remove_member": (
        lambda rows: (["dormant-30d"], {"contact": str(_bucket_member(rows["ada"]).contact_id)}),
        True),
    "alerts_alert_acknowledge": (lambda rows: ([rows["alert"].pk], {}), True),
    "alerts_alert_resolve": (lambda rows: ([rows["alert"].pk], {}), True),
    # Broadcasts are not the support group's (they cannot even view them).
    "campaigns_campaign_cancel": (lambda rows: ([rows["campaign"].pk], {}), False),
    # Django's own: a user's password form.
    "auth_user_password_change": (lambda rows: ([rows["victim"].pk], {
        "password1": "n3w-Passw0rd!", "password2": "n3w-Passw0rd!"}), False),
}
# Pages that only read (a view permission is theirs to check).
READ_ONLY_PAGES = {"journeys_journeyoverview_detail", "tracking_answer_export",
                   "buckets_bucketoverview_detail"}
STANDARD = ("changelist", "add", "history", "delete", "change", "autocomplete")


def test_every_custom_admin_page_is_listed_here_with_its_permission():
    found = set()
    for model, model_admin in admin.site._registry.items():
        prefix = f"{model._meta.app_label}_{model._meta.model_name}_"
        for pattern in model_admin.get_urls():
            name = getattr(pattern, "name", None)
            if name and name.removeprefix(prefix) not in STANDARD:
                found.add(name)
    assert found == set(BUTTONS) | READ_ONLY_PAGES


@pytest.fixture
def viewer_client(django_user_model) -> Client:
    """Staff who may view every table of the product and do nothing else."""
    viewer = django_user_model.objects.create_user("vera", is_staff=True)
    viewer.user_permissions.add(*Permission.objects.filter(
        content_type__app_label__in=SUPPORT_APPS, codename__startswith="view_"))
    client = Client()
    client.force_login(viewer)
    return client


@pytest.mark.parametrize("name", sorted(BUTTONS))
def test_a_view_only_login_is_refused_by_every_button(viewer_client, ada, name):
    args, body = BUTTONS[name][0](_button_rows(ada))
    url = reverse(f"admin:{name}", args=args)
    before = snapshot()
    assert viewer_client.post(url, body).status_code == 403
    assert snapshot() == before


@pytest.mark.parametrize("name", sorted(BUTTONS))
def test_support_staff_press_the_buttons_their_group_is_granted(support_client, ada, name):
    press, support_may = BUTTONS[name]
    args, body = press(_button_rows(ada))
    url = reverse(f"admin:{name}", args=args)
    before = snapshot()
    response = support_client.post(url, body)
    if support_may:
        assert response.status_code == 302
        assert snapshot() != before
    else:
        assert response.status_code == 403
        assert snapshot() == before
