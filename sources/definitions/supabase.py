"""Supabase: `auth.users` rows as contact events, from a database webhook.

Supabase database webhooks are not signed: give the webhook an HTTP header
`X-Supabase-Webhook-Secret: <SUPABASE_WEBHOOK_SECRET>` (or `Authorization:
Bearer <secret>`). A sender that signs the Standard Webhooks way (a Supabase
"Send HTTP request" auth hook, secret `v1,whsec_...`, or a Svix relay) is
verified by its signature instead. The body is the database webhook's
`{type, table, schema, record, old_record}`; rows of tables other than
`auth.users` are acknowledged and ignored.

  INSERT -> contact.created, UPDATE -> contact.updated (user metadata, phone,
  email_verified onto the contact), DELETE -> contact.deleted (an event only)
The row id is the user id, its email the email.
"""

from __future__ import annotations

from typing import Any

from sources import Ignore, Malformed, SourceEvent, WebhookRequest, define_source
from sources.auth import SvixSignature

TYPES = {"INSERT": "contact.created", "UPDATE": "contact.updated", "DELETE": "contact.deleted"}


def supabase(payload: Any, request: WebhookRequest) -> SourceEvent | Ignore:
    """Supabase auth.users INSERT/UPDATE/DELETE."""
    if not isinstance(payload, dict) or payload.get("type") not in TYPES:
        raise Malformed("expected a database webhook with type INSERT, UPDATE or DELETE")
    if (payload.get("schema"), payload.get("table")) != ("auth", "users"):
        return Ignore(f"rows of {payload.get('schema')}.{payload.get('table')} are not mapped")
    kind = payload["type"]
    row = payload.get("old_record") if kind == "DELETE" else payload.get("record")
    if not isinstance(row, dict) or not isinstance(row.get("id"), str) or not row["id"]:
        raise Malformed("the row (record, or old_record for DELETE) with an id is required")
    user_id, name = row["id"], TYPES[kind]
    email = row.get("email") if isinstance(row.get("email"), str) else None
    profile = None
    if name != "contact.deleted":
        metadata = row.get("raw_user_meta_data")
        profile = {**(metadata if isinstance(metadata, dict) else {}),
                   "supabase_user_id": user_id,
                   "email_verified": bool(row.get("email_confirmed_at"))}
        if isinstance(row.get("phone"), str) and row["phone"]:
            profile["phone"] = row["phone"]
    signed_id = request.header("svix-id") or request.header("webhook-id")
    changed = row.get("updated_at") or row.get("created_at") or ""
    return SourceEvent(name=name, user_id=user_id, email=email or None,
                       properties={"supabase_user_id": user_id, "supabase_event": kind},
                       contact_properties=profile,
                       event_id=signed_id or (f"{kind}:{user_id}:{changed}" if changed else None))


source = define_source(id="supabase", name="Supabase", transform=supabase,
                       auth=SvixSignature(secret_env="SUPABASE_WEBHOOK_SECRET",
                                          fallback_header="X-Supabase-Webhook-Secret"))
