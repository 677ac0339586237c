"""What a fault run must prove, counted twice: in the database and at the "provider".

- every run ended as its story says (completed, exited, timed out or answered);
- exactly the expected survey emails per run: `EmailSend` rows with status sent
  and lines the email backend actually received;
- exactly one reopen alert per "no" (rows and received lines);
- no run left waiting past its deadline.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from typing import TYPE_CHECKING

from django.utils import timezone

if TYPE_CHECKING:
    from chaos.wave import Wave


def received(path) -> list[dict]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def verify(wave: Wave) -> None:
    from chaos.wave import EXPECTED, db

    db(lambda: _verify(wave, EXPECTED))


def _verify(wave: Wave, expected: dict) -> None:
    from alerts.models import Alert
    from journeys.engine.journal import records_of
    from journeys.models import JourneyRun, StepRecord
    from tracking.models import EmailSend

    f = wave.f
    every_line = received(wave.o.mail_log)
    # A re-drive the provider answered from its idempotency keys: acknowledged,
    # not delivered (the in-doubt window, closed by the provider).
    f.provider_deduplicated = sum(1 for line in every_line if line.get("deduplicated"))
    lines = [line for line in every_line if not line.get("deduplicated")]
    survey_lines = Counter(line["userId"] for line in lines
                           if line["templateKey"] == "support/followup")
    alert_lines = Counter(_ticket_of(line["subject"]) for line in lines
                          if line["templateKey"] == "transactional/support-alert")
    sent = EmailSend.objects.filter(status__in=EmailSend.POST_DISPATCH)
    attempts = dict(sent.values_list("pk", "attempts"))
    # A message the provider received more than once whose row was dispatched
    # more than once: a worker died after the provider accepted it and before
    # the row said so, and the re-drive sent it again (the in-doubt window).
    per_row = Counter(line["emailSendId"] for line in lines)
    f.in_doubt_redeliveries = sum(
        n - 1 for row, n in per_row.items()
        if n > 1 and attempts.get(_uuid(row), 0) >= 2)
    survey_rows = Counter(sent.filter(template_key="support/followup")
                          .values_list("user_key", flat=True))
    alert_rows = Counter(_ticket_of(subject) for subject in sent.filter(
        template_key="transactional/support-alert").values_list("subject", flat=True))
    runs = {run.user_key: run for run in JourneyRun.objects.filter(journey_id="support-followup")}
    journals = defaultdict(list)
    for row in StepRecord.objects.filter(run__journey_id="support-followup"):
        journals[row.run_id].append(row)
    waits = {run_id: record.value for run_id, rows in journals.items()
             if (record := records_of(rows).get("await-answer"))}
    alerts = {a.payload.get("ticketId"): a for a in Alert.objects.filter(kind="reopen_requested")}
    f.surveys_sent_rows, f.surveys_received = sum(survey_rows.values()), sum(survey_lines.values())
    f.alerts_sent_rows, f.alerts_received = sum(alert_rows.values()), sum(alert_lines.values())
    for user, story in wave.story.items():
        status, surveys, pages, timed_out = expected[story]
        ticket = f"T-{user[6:]}"
        run = runs.get(user)
        if run is None:
            _problem(f, "lost", f"{user} ({story}): no run")
            continue
        if run.status != status:
            _problem(f, "wrong_outcome", f"{user} ({story}): {run.status}, expected {status}")
        if timed_out is not None and run.status == status:
            result = (waits.get(run.pk) or {}).get("result", {})
            if bool(result.get("timed_out")) != timed_out:
                _problem(f, "wrong_outcome", f"{user} ({story}): timed_out={result}")
        for label, rows, got in (("survey rows", survey_rows[user], surveys),
                                 ("surveys received", survey_lines[user], surveys),
                                 ("alert rows", alert_rows[ticket], pages),
                                 ("alerts received", alert_lines[ticket], pages)):
            if rows > got:
                _problem(f, "duplicates", f"{user} ({story}): {rows} {label}, expected {got}",
                         count=rows - got)
            elif rows < got:
                _problem(f, "lost", f"{user} ({story}): {rows} {label}, expected {got}",
                         count=got - rows)
        alert = alerts.get(ticket)
        if story == "no_comment" and alert is not None and "<script>" in alert.payload.get(
                "comment", ""):
            f.comments_folded += 1
    overdue = JourneyRun.objects.filter(status="waiting", wait_deadline__lt=timezone.now())
    f.overdue_waiting = overdue.count()
    if f.overdue_waiting:
        f.problems.append(f"{f.overdue_waiting} run(s) waiting past their deadline")


def _uuid(value: str):
    import uuid

    try:
        return uuid.UUID(value)
    except ValueError:
        return None


def _ticket_of(subject: str) -> str:
    # "[Reopen requested] #T-00042 — chaos-00042@chaos.example"
    return subject.split("#", 1)[1].split(" ", 1)[0] if "#" in subject else subject


def _problem(f, kind: str, text: str, count: int = 1) -> None:
    setattr(f, kind, getattr(f, kind) + count)
    if len(f.problems) < 40:
        f.problems.append(f"{kind}: {text}")


def table(f) -> str:
    rows = [
        ("runs", f.runs),
        ("cluster SIGKILLs", f.cluster_kills),
        ("cluster SIGTERMs (unclean)", f"{f.cluster_sigterms} ({f.unclean_sigterms})"),
        ("processes restarted after exiting", f.self_restarts),
        ("PostgreSQL restarts", f.postgres_restarts),
        ("Redis restarts (queued tasks lost)", f"{f.redis_restarts} ({f.broker_tasks_lost})"),
        ("email provider faulty (s)", f"{f.email_fault_seconds:.0f}"),
        ("HTTP requests (retried)", f"{f.http_requests} ({f.http_retries})"),
        ("leases cut short", ", ".join(f"{k} {v}" for k, v in sorted(f.leases_cut.items()))
         or "0"),
        ("retry backoffs compressed", f.backoffs_cut),
        ("survey emails: rows / received", f"{f.surveys_sent_rows} / {f.surveys_received}"),
        ("reopen alerts: rows / received", f"{f.alerts_sent_rows} / {f.alerts_received}"),
        ("comments posted / folded into alerts", f"{f.comments_posted} / {f.comments_folded}"),
        ("answer links that led nowhere", f.dead_links),
        ("duplicates", f.duplicates),
        ("  of which in-doubt re-drives", f.in_doubt_redeliveries),
        ("in-doubt re-drives the provider deduplicated", f.provider_deduplicated),
        ("lost", f.lost),
        ("wrong outcomes", f.wrong_outcome),
        ("waiting past deadline", f.overdue_waiting),
        ("wall time (s)", f"{f.seconds:.0f}"),
    ]
    width = max(len(name) for name, _ in rows)
    lines = [f"{name.ljust(width)}  {value}" for name, value in rows]
    return "\n".join(lines + [f"  ! {p}" for p in f.problems])
