"""Forms of the hosted pages (answer comment, preference centre)."""

from __future__ import annotations

from django import forms
from django.core import signing

from tracking.services import MAX_COMMENT_CHARS

ANSWER_FORM_SALT = "hogsend.answer-form"


def answer_form_token(link_id: object) -> str:
    """A per-link signed token: the answer form's CSRF protection without a session."""
    return signing.dumps(str(link_id), salt=ANSWER_FORM_SALT)


def answer_form_token_ok(token: str, link_id: object) -> bool:
    try:
        return signing.loads(token or "", salt=ANSWER_FORM_SALT) == str(link_id)
    except signing.BadSignature:
        return False


class CommentForm(forms.Form):
    comment = forms.CharField(
        max_length=MAX_COMMENT_CHARS, strip=True,
        widget=forms.Textarea(attrs={"rows": 5, "maxlength": MAX_COMMENT_CHARS}),
        label="Anything you'd like to add?",
    )
    form_token = forms.CharField(widget=forms.HiddenInput)


class PreferencesForm(forms.Form):
    """Global unsubscribe plus one checkbox per topic (built dynamically)."""

    unsubscribed_all = forms.BooleanField(required=False,
                                          label="Unsubscribe from all emails")

    def __init__(self, *args: object, topics: list[tuple[str, str, str]], **kwargs: object):
        super().__init__(*args, **kwargs)
        for topic_id, name, description in topics:
            self.fields[f"topic_{topic_id}"] = forms.BooleanField(
                required=False, label=name, help_text=description)

    def topic_choices(self) -> dict[str, bool]:
        return {name.removeprefix("topic_"): bool(value)
                for name, value in self.cleaned_data.items() if name.startswith("topic_")}
