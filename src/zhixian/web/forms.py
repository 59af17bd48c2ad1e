"""One path from any refusal to the form it came from: field → Chinese message, named by the field's label.

A page that handles a form catches what validation or its service raised and re-renders the form with
``errors=form_errors(exc, LABELS)``; its template draws every field with the macros of ``_forms.html``,
which put each message beside its field (``aria-describedby``, ``aria-invalid``) and a summary above the
form that names each field by its label and links to it. A form-level message lives in ``.message`` —
there is no magic key. Errors about nothing on the form (rows of an imported file, a rule about the whole
record) are listed under the summary, with the field's label when it has one.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError

from zhixian.errors import DomainError, FieldError, pydantic_errors_to_chinese

Labels = Mapping[str, str]


@dataclass
class FormErrors:
    """What a template needs to show a refused form; falsy when there is nothing to show."""

    message: str = ""  # above the form: what happened ("SQL 数据源未建立", "分类表有错误，未导入任何行")
    fields: dict[str, str] = field(default_factory=dict)  # form field → message shown beside it
    labels: dict[str, str] = field(default_factory=dict)  # form field → its label, for the summary
    details: list[str] = field(default_factory=list)  # messages about nothing on the form, listed

    def get(self, name: str) -> str:
        return self.fields.get(name, "")

    def __bool__(self) -> bool:
        return bool(self.message or self.fields or self.details)

    def __contains__(self, name: object) -> bool:
        return name in self.fields

    def named(self) -> list[tuple[str, str, str]]:
        """(field, label, message) in the order the errors came, for the summary's links."""
        return [(name, self.labels.get(name, name), message) for name, message in self.fields.items()]

    def merge(self, other: FormErrors) -> FormErrors:
        """Another check's refusals on the same form (this message wins when both have one)."""
        for name, message in other.fields.items():
            for part in message.split("；"):
                self.add(name, part, other.labels.get(name, ""))
        self.details += [d for d in other.details if d not in self.details]
        self.message = self.message or other.message
        return self

    def add(self, name: str, message: str, label: str = "") -> None:
        """One more message beside ``name`` (several join with "；", each said once)."""
        if label:
            self.labels.setdefault(name, label)
        shown = self.fields.get(name, "")
        if message and message not in shown.split("；"):
            self.fields[name] = f"{shown}；{message}" if shown else message


def route_labels(request: Request) -> dict[str, str]:
    """Chinese names of the route's parameters (``title=`` on Query/Form/…, or on a body model's fields), by
    which FastAPI's own refusals name them (the phone report's 问题类别, not class_code)."""
    dependant = getattr(request.scope.get("route"), "dependant", None)
    labels: dict[str, str] = {}
    pending = [dependant] if dependant is not None else []
    while pending:
        current = pending.pop()
        pending.extend(current.dependencies)
        for param in (*current.path_params, *current.query_params, *current.header_params, *current.body_params):
            info = param.field_info
            if info.title:
                labels.setdefault(param.alias, info.title)
            model = info.annotation
            if isinstance(model, type) and issubclass(model, BaseModel):
                for name, f in model.model_fields.items():
                    if f.title:
                        labels.setdefault(f.alias or name, f.title)
    return labels


def labels_of(*models: type[BaseModel]) -> dict[str, str]:
    """Field → label from the models' ``Field(title=...)``, for forms that follow a schema one to one."""
    out: dict[str, str] = {}
    for model in models:
        for name, info in model.model_fields.items():
            if info.title:
                out.setdefault(info.alias or name, info.title)
    return out


def _field_errors(exc: BaseException, labels: Labels) -> tuple[str, list[FieldError]]:
    """The refusal's own message (when it is more than a list of its field errors) and its field errors."""
    if isinstance(exc, RequestValidationError):
        return "", pydantic_errors_to_chinese(list(exc.errors()), labels)
    if isinstance(exc, ValidationError):
        return "", pydantic_errors_to_chinese(list(exc.errors()), labels, located=False)
    if isinstance(exc, DomainError):
        errors = list(exc.errors)
        if not errors or any(exc.detail == e.message for e in errors):
            return ("" if errors else exc.detail), errors
        # invalid_from() and friends summarise their errors in the detail: the summary says it better
        if all(e.message in exc.detail for e in errors[:5]) and any(e.field for e in errors):
            return "", errors
        return exc.detail, errors
    raise TypeError(f"not a refusal a form can show: {type(exc).__name__}") from exc


def _within(path: str, labels: Labels) -> str:
    """Where inside a field a list's error is: "items.3.name" → 第 4 行“名称” (label of "items.name")."""
    name, *rest = path.split(".")
    parts = []
    for part in rest:
        if part.isdigit():
            parts.append(f"第 {int(part) + 1} 行")
        else:
            parts.append(f"“{labels.get(f'{name}.{part}', part)}”")
    return "".join(parts)


def form_errors(
    exc: BaseException,
    labels: Labels | None = None,
    *,
    title: str = "",
    on_form: Collection[str] | None = None,
    place: Callable[[FieldError], str | None] | None = None,
    fallback: str = "未保存，请按提示修改",
) -> FormErrors:
    """Map a pydantic ``ValidationError``, FastAPI's ``RequestValidationError`` or a ``DomainError`` (``Invalid``
    with ``field=``…) onto the form.

    ``labels``: form field → its Chinese label (a label map, or ``labels_of(Model)``).
    ``on_form``: the fields the form shows (default: those in ``labels``); errors about others are listed
    under the summary. ``place``: the form field an error belongs beside when it is not the error's own
    first path segment (a model-level rule about one field, a stored key shown under another name).
    ``title``: what happened, shown first ("设置未保存"); ``fallback`` when the refusal says nothing itself.
    """
    labels = labels or {}
    shown_fields = set(on_form) if on_form is not None else set(labels)
    detail, errors = _field_errors(exc, labels)
    out = FormErrors()
    for error in errors:
        name = (place(error) if place else None) or (error.field or "").split(".")[0]
        e = error
        if e.field and "." in e.field and name in shown_fields:  # inside a list the field holds
            e = FieldError(f"{_within(e.field, labels)}：{e.message}", e.field, e.row, e.label)
        if e.row is not None:
            out.details.append(f"第 {e.row} 行：{e.message}" if f"第 {e.row} 行" not in e.message else e.message)
        elif name and name in shown_fields:
            out.add(name, e.message, labels.get(name, e.label or name))
        elif name:
            label = labels.get(name) or e.label
            text = f"{label}：{e.message}" if label else e.message
            if text not in out.details:
                out.details.append(text)
        elif e.message != detail and e.message not in out.details:
            out.details.append(e.message)
    if detail and title:
        out.message = f"{title}：{detail}"
    else:
        out.message = detail or title or (fallback if out.fields or out.details else "")
    return out


def refusal(message: str, field_name: str | None = None, label: str = "", *, title: str = "请按提示修改") -> FormErrors:
    """A refusal the page decides itself (no exception): beside ``field_name`` under ``title``, or above the form."""
    out = FormErrors()
    if field_name:
        out.add(field_name, message, label)
        out.message = title
    else:
        out.message = message
    return out
