"""One form-error path: any refusal → field → Chinese message by the field's label, beside the field, once;
every form drawn by _forms.html; no inline styles anywhere, so the CSP allows none."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, Field, ValidationError

from zhixian.errors import FieldError, Invalid, invalid_from
from zhixian.web.forms import FormErrors, form_errors, labels_of
from zhixian.web.middleware import CSP

SRC = Path(__file__).resolve().parents[2] / "src" / "zhixian"
TEMPLATES = [p for p in SRC.rglob("*.html") if "vendor" not in p.parts]
SCRIPTS = [p for p in SRC.rglob("*.js") if "vendor" not in p.parts]
HTML = {"accept": "text/html"}


class Sample(BaseModel):
    name: str = Field(min_length=1, title="名称")
    query: str = Field(max_length=3, title="查询语句")  # a field named like a FastAPI location
    days: int = Field(ge=1, title="有效天数")
    items: list[Item] = []


class Item(BaseModel):
    name: str = Field(min_length=1)


Sample.model_rebuild()
LABELS = labels_of(Sample) | {"items": "信息项", "items.name": "名称"}


def _refused(**data: object) -> ValidationError:
    with pytest.raises(ValidationError) as caught:
        Sample.model_validate({"name": "x", "query": "q", "days": 1} | data)
    return caught.value


def test_a_pydantic_refusal_names_each_field_by_its_label_beside_it() -> None:
    errors = form_errors(_refused(name="", query="long one", days="many"), LABELS, title="未保存")
    assert errors.fields == {"name": "长度不能少于 1 个字符", "query": "长度不能超过 3 个字符", "days": "必须是整数"}
    assert [label for _, label, _ in errors.named()] == ["名称", "查询语句", "有效天数"]
    assert errors.message == "未保存"
    assert not errors.details


def test_an_error_inside_a_list_says_which_row_and_item() -> None:
    errors = form_errors(_refused(items=[{"name": "a"}, {"name": ""}]), LABELS)
    assert errors.get("items") == "第 2 行“名称”：长度不能少于 1 个字符"


def test_a_service_refusal_with_a_field_is_said_once_beside_the_field() -> None:
    errors = form_errors(Invalid("有效天数不能超过 365 天", field="days"), LABELS)
    assert errors.fields == {"days": "有效天数不能超过 365 天"}
    assert errors.message == "未保存，请按提示修改"  # not the same sentence again above the form


def test_invalid_from_summary_is_not_repeated_with_field_names() -> None:
    exc = invalid_from(_refused(name=""), LABELS)
    assert exc.detail == "名称：长度不能少于 1 个字符"  # the API's detail names the field in Chinese too
    errors = form_errors(exc, LABELS)
    assert errors.fields == {"name": "长度不能少于 1 个字符"}
    assert "名称" not in errors.message


def test_row_errors_of_an_import_are_listed_under_what_happened() -> None:
    exc = Invalid(
        "工作簿有 2 处错误，未导入任何数据", [FieldError("“名称”：必填", row=3), FieldError("第 4 行格式不正确", row=4)]
    )
    errors = form_errors(exc, {"file": "文件"})
    assert errors.message == "工作簿有 2 处错误，未导入任何数据"
    assert errors.details == ["第 3 行：“名称”：必填", "第 4 行格式不正确"]
    assert not errors.fields


def test_errors_about_fields_not_on_the_form_are_listed_by_label() -> None:
    errors = form_errors(_refused(days=0), LABELS, on_form=("name",))
    assert errors.details == ["有效天数：不能小于 1"]


def test_a_fastapi_request_error_drops_its_location_but_a_field_named_query_keeps_its_name() -> None:
    request_error = RequestValidationError([{"type": "missing", "loc": ("body", "name"), "msg": "Field required"}])
    assert form_errors(request_error, LABELS).fields == {"name": "必填"}
    assert form_errors(_refused(query="toolong"), LABELS).fields == {"query": "长度不能超过 3 个字符"}


def test_the_same_message_twice_is_said_once() -> None:
    errors = FormErrors()
    errors.add("name", "必填", "名称")
    errors.add("name", "必填")
    errors.add("name", "格式不正确")
    assert errors.get("name") == "必填；格式不正确"


# --- templates: one set of macros, no inline styles


def test_no_template_or_script_styles_inline() -> None:
    offenders = []
    for path in TEMPLATES:
        text = path.read_text()
        if re.search(r"\bstyle\s*=", text) or re.search(r"<style[\s>]", text, re.I):
            offenders.append(str(path.relative_to(SRC)))
    for path in SCRIPTS:
        text = path.read_text()
        if re.search(r"setAttribute\(\s*['\"]style|\.cssText\s*=|style=", text):
            offenders.append(str(path.relative_to(SRC)))
    assert offenders == [], "inline styles break the CSP (style-src 'self'): move them to a CSS file"


def test_every_form_field_in_every_template_is_drawn_by_the_form_macros() -> None:
    """Every field a form sends (a control with a name, not hidden) comes from _forms.html; controls without a
    name are a page's own helpers (a search box that filters a list, a map mode), not fields."""
    tag = re.compile(r"<(input|select|textarea)\b[^>]*>", re.I)
    offenders = []
    for path in TEMPLATES:
        if path.name == "_forms.html":
            continue
        text = path.read_text()
        for form in re.findall(r"<form\b.*?</form>", text, re.S):
            for m in tag.finditer(form):
                if re.search(r"\bname=", m.group(0)) and 'type="hidden"' not in m.group(0):
                    offenders.append(f"{path.relative_to(SRC)}: {m.group(0)}")
    assert offenders == [], "draw form fields with _forms.html (label, hint, message, aria-describedby)"


def test_no_page_uses_a_magic_form_level_key() -> None:
    pattern = re.compile(r"""__all__['"]\]|errors\.get\(['"]_['"]\)|errors\[['"]_['"]\]|errors\._\b""")
    sources = TEMPLATES + [p for p in SRC.rglob("*.py") if "pages" in p.parts or p.name == "pages.py"]
    assert [str(p.relative_to(SRC)) for p in sources if pattern.search(p.read_text())] == []


def test_the_policy_allows_no_inline_style_or_script() -> None:
    assert "unsafe-inline" not in CSP
    assert "style-src 'self';" in CSP


def test_pages_are_served_with_that_policy(as_user) -> None:
    client = as_user("secadmin")
    for path in ("/login", "/", "/admin/users"):
        resp = client.get(path, headers=HTML)
        assert resp.status_code == 200, path
        assert resp.headers["content-security-policy"] == CSP, path


# --- pages: refused forms come back with the typed values and each message beside its field


def _field_error(html: str, field_id: str) -> str:
    m = re.search(rf'<div class="field-error" id="{re.escape(field_id)}-error">([^<]*)</div>', html)
    assert m, f"no message beside {field_id}"
    control = re.search(rf'<[^>]*\bid="{re.escape(field_id)}"[^>]*>', html)
    assert control, f"no control {field_id}"
    assert 'aria-invalid="true"' in control.group(0), control.group(0)
    assert f"{field_id}-error" in control.group(0), "the control is described by its message"
    return m.group(1)


def test_new_user_form_refuses_empty_fields_beside_each_by_label(as_user) -> None:
    client = as_user("secadmin")
    resp = client.post("/admin/users/new", data={"username": "x", "full_name": ""}, headers=HTML)
    assert resp.status_code == 422
    assert "格式不正确" in _field_error(resp.text, "f-username")
    assert _field_error(resp.text, "f-department_id") == "必填"
    assert '<a href="#f-department_id">部门：必填</a>' in resp.text  # the summary links the field by its label
    assert 'value="x"' in resp.text
    assert "department_id：" not in resp.text


def test_account_token_form_refuses_an_empty_name_on_the_page_not_an_error_page(as_user) -> None:
    client = as_user("auditor")
    resp = client.post("/account/tokens", data={"name": "", "days": "99999"}, headers=HTML)
    assert resp.status_code == 422
    assert "令牌未创建" in resp.text
    assert _field_error(resp.text, "f-name")
    assert _field_error(resp.text, "f-days")
    assert "API 令牌" in resp.text  # the account page itself, with the form to correct


def test_calendar_form_refuses_a_bad_date_beside_the_field(as_user) -> None:
    client = as_user("sysadmin")
    resp = client.post("/admin/calendar", data={"day": "2026-13-40", "kind": "off"}, headers=HTML)
    assert resp.status_code == 422
    assert _field_error(resp.text, "f-day") == "日期格式应为 YYYY-MM-DD"
    assert 'value="2026-13-40"' in resp.text


def test_catalogue_review_without_a_reason_is_refused_beside_the_note(as_user, db) -> None:
    from sqlalchemy import select

    from zhixian.catalog.models import Resource

    rid = db.execute(select(Resource.id).where(Resource.status == "published").limit(1)).scalar_one()
    client = as_user("datahub")
    resp = client.post(f"/catalog/resources/{rid}/action", data={"do": "withdraw", "note": ""}, headers=HTML)
    assert resp.status_code == 422
    assert _field_error(resp.text, "f-note") == "撤回须写明理由"
    assert "未办理" in resp.text


def test_admin_user_list_and_its_next_page_read_an_empty_department_as_all(as_user) -> None:
    client = as_user("secadmin")
    first = client.get("/admin/users?q=&department_id=&status=", headers=HTML)
    assert first.status_code == 200, first.text[:300]
    assert "必须是整数" not in first.text
    nxt = client.get("/admin/users?q=&status=&department_id=&page=2", headers=HTML)
    assert nxt.status_code == 200
    api = client.get("/api/v1/users?department_id=")  # the API's contract stays strict
    assert api.status_code == 422


@pytest.mark.parametrize(
    ("user", "page", "action", "extra", "file_id"),
    [
        ("gaj_officer", "/integration", "/integration/sources", {"name": "坏文件"}, "file-file"),
        ("sysadmin", "/admin/org", "/admin/org/import", {}, "f-file"),
        ("datahub", "/catalog", "/catalog/import", {}, "f-file"),
    ],
)
def test_a_file_that_is_not_a_workbook_is_said_once_beside_the_file_field(as_user, user, page, action, extra, file_id):  # type: ignore[no-untyped-def]
    client = as_user(user)
    target = re.search(
        r'<select id="file-resource_id"[^>]*>\s*<option value="(\d+)"', client.get(page, headers=HTML).text
    )
    if action == "/integration/sources":  # it loads into a catalogue resource: the first one it offers
        assert target
        extra = extra | {"resource_id": target.group(1)}
    resp = client.post(action, data=extra, files={"file": ("x.xlsx", b"not a workbook", XLSX)}, headers=HTML)
    assert resp.status_code == 422, resp.text[:300]
    assert resp.text.count("文件不是有效的 Excel 工作簿") == 2  # beside the field and in the summary's link
    assert "有效的 Excel 工作簿（.xlsx/.xls）：文件不是" not in resp.text
    assert "（.xlsx/.xls）" in _field_error(resp.text, file_id)


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
