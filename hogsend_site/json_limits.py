"""Limits on what the JSON API accepts, so bad input is a clear 4xx and never a 500.

- `LimitedJSONParser` (the API's only parser) refuses a body over
  `API_MAX_BODY_BYTES` (1 MiB) with a 413 before parsing it, and JSON that
  nests too deep for the decoder with a 400.
- `json_problem()` finds what PostgreSQL would refuse or a column could not hold:
  NUL characters (text and jsonb cannot store them), unpaired UTF-16 surrogates
  (not encodable as UTF-8), non-finite numbers (JSON has none: `1e999` parses to
  infinity) and nesting past `MAX_DEPTH`, in keys and values, and names where.
  The parser runs it over the whole body; a view whose body is a list of items
  that must fail one by one (`json_items = "events"`) leaves those items to its
  item serializer (`JSONSafeSerializerMixin`), so one bad event fails alone.
- `PropertiesField`: a JSON object of at most `API_MAX_PROPERTIES_BYTES` (64 KiB).
"""

from __future__ import annotations

import codecs
import json
import math
import re
from collections import deque
from typing import Any

from django.conf import settings
from rest_framework import serializers, status
from rest_framework.exceptions import APIException, ParseError, ValidationError
from rest_framework.parsers import JSONParser
from rest_framework.settings import api_settings
from rest_framework.utils.json import strict_constant

# Far above any real event, far below the decoder's recursion limit (~1000).
MAX_DEPTH = 32
_BAD_TEXT = re.compile("[\x00\ud800-\udfff]")
_KEY_SHOWN = 40


class RequestTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "request_too_large"


def body_limit() -> int:
    return int(getattr(settings, "API_MAX_BODY_BYTES", 1024 * 1024) or 0)


def _text_problem(text: str) -> str | None:
    match = _BAD_TEXT.search(text)
    if match is None:
        return None
    if match.group() == "\x00":
        return "contains a NUL character (\\u0000)"
    return "contains an unpaired UTF-16 surrogate"


def _join(path: str, key: str) -> str:
    shown = key if len(key) <= _KEY_SHOWN else key[:_KEY_SHOWN] + "…"
    return f"{path}.{shown}" if path else shown


def json_problem(value: Any, *, max_depth: int = MAX_DEPTH,
                 skip_items_of: str | None = None) -> str | None:
    """The first problem in a parsed JSON document as `"<where>: <what>"`, or None.

    `<where>` is a dotted path (`eventProperties.plan`, `events[3]`); a problem at
    the top is reported against `body`. Iterative, so depth costs no recursion.
    """
    queue: deque[tuple[Any, str, int]] = deque([(value, "", 1)])
    while queue:
        node, where, depth = queue.popleft()
        if isinstance(node, dict | list) and depth > max_depth:
            top = re.split(r"[.\[]", where, maxsplit=1)[0] or "body"
            return f"{top}: nested deeper than {max_depth} levels"
        if isinstance(node, dict):
            for key, child in node.items():
                if problem := _text_problem(str(key)):
                    return f"{where or 'body'}: a key {problem}"
                queue.append((child, _join(where, str(key)), depth + 1))
        elif isinstance(node, list):
            if skip_items_of is not None and where == skip_items_of:
                continue
            queue.extend((child, f"{where}[{index}]", depth + 1)
                         for index, child in enumerate(node))
        elif isinstance(node, str):
            if problem := _text_problem(node):
                return f"{where or 'body'}: {problem}"
        elif isinstance(node, float) and not math.isfinite(node):
            return f"{where or 'body'}: number out of range"
    return None


class LimitedJSONParser(JSONParser):
    """DRF's JSON parser with the body limit, a depth guard and `json_problem()`."""

    def parse(self, stream: Any, media_type: str | None = None,
              parser_context: dict[str, Any] | None = None) -> Any:
        parser_context = parser_context or {}
        limit = body_limit()
        # DRF hands JSON parsers the body already read (request.body): Django refuses
        # one past DATA_UPLOAD_MAX_MEMORY_SIZE (2.5 MB, or this limit if larger) from
        # its Content-Length, unread, and hogsend_site/errors.py answers that 413 too.
        raw = stream.read(limit + 1) if limit else stream.read()
        if limit and len(raw) > limit:
            raise RequestTooLarge(f"Request body too large: at most {limit} bytes")
        encoding = parser_context.get("encoding", settings.DEFAULT_CHARSET)
        try:
            text = codecs.decode(raw, encoding)
            data = json.loads(text, parse_constant=strict_constant if self.strict else None)
        except RecursionError:
            raise ParseError(f"nested deeper than {MAX_DEPTH} levels") from None
        except ValueError as exc:
            raise ParseError(f"JSON parse error - {exc}") from None
        view = parser_context.get("view")
        problem = json_problem(data, skip_items_of=getattr(view, "json_items", None))
        if problem:
            raise ValidationError({api_settings.NON_FIELD_ERRORS_KEY: [problem]})
        return data


class JSONSafeSerializerMixin:
    """For a serializer of items the parser left unchecked (`json_items`): an item
    with a `json_problem()` is invalid, with that problem as its error."""

    def to_internal_value(self, data: Any) -> Any:
        problem = json_problem(data)
        if problem:
            raise ValidationError({api_settings.NON_FIELD_ERRORS_KEY: [problem]})
        return super().to_internal_value(data)  # type: ignore[misc]


def json_size(value: Any) -> int:
    """Bytes of `value` as compact UTF-8 JSON (about what a jsonb column holds)."""
    return len(json.dumps(value, ensure_ascii=False, separators=(",", ":"),
                          default=str).encode("utf-8", "surrogatepass"))


class PropertiesField(serializers.DictField):
    """A free-form JSON object stored as is, at most `API_MAX_PROPERTIES_BYTES`."""

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        value = super().to_internal_value(data)
        limit = int(getattr(settings, "API_MAX_PROPERTIES_BYTES", 64 * 1024) or 0)
        if limit and json_size(value) > limit:
            raise ValidationError(f"larger than {limit} bytes as JSON")
        return value
