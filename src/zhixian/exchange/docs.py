"""Per-resource API documentation generated from the catalogue, with a worked signature example.

Consumers of HMAC gateways call signing "a huge hassle" when it is described but not shown, so the
page computes a real signature for fixed example values with the very code the gateway checks.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from zhixian.exchange import policy, records, signing, sources, views
from zhixian.settings import Settings

EXAMPLE_CLIENT = "zx0123456789abcdef"
EXAMPLE_SECRET = "example-secret-do-not-use-0123456789abcdef"  # noqa: S105 - the documented worked example
EXAMPLE_TIMESTAMP = "1763431200"
EXAMPLE_NONCE = "b7f3c2a94d5e4f60a1c2"
_KEY_EXAMPLES = {"id_number": "11010519491231002X", "uscc": "91330421MA2B3C4D5X"}


@dataclass
class ItemDoc:
    field: str
    name: str
    data_type: str
    share_type: str
    grade: str
    masked: bool
    note: str


@dataclass
class Endpoint:
    operation: str
    label: str
    path: str
    body: dict[str, Any]
    string_to_sign: str = ""
    signature: str = ""
    curl: str = ""
    python: str = ""
    response: dict[str, Any] = field(default_factory=dict)

    @property
    def body_json(self) -> str:
        return json.dumps(self.body, ensure_ascii=False, indent=2)

    @property
    def response_json(self) -> str:
        return json.dumps(self.response, ensure_ascii=False, indent=2)


def _mask_note(name: str, kind: str | None, masked: bool) -> str:
    if not masked:
        return "原值（授权为“不脱敏”或低敏感）"
    notes = {
        "id_number": "脱敏：仅保留首尾各 1 位",
        "person_name": "脱敏：仅保留姓氏",
        "phone": "脱敏：保留前 3 位和后 4 位",
        "address": "脱敏：到社区/村一级",
        "birth_date": "与脱敏的身份号码同时返回时只给出年份",
    }
    return notes.get(kind or "", "脱敏：以 **** 代替（授权可另定）") if name else ""


def items(source: sources.Source, settings: Settings) -> list[ItemDoc]:
    kinds = records.static_kinds(source)
    masked = views.masked_fields(source, list(source.items), (), settings)
    return [
        ItemDoc(
            i.field,
            i.name,
            i.data_type,
            i.share_type,
            i.grade + (f"（敏感 {i.sensitivity} 级）" if i.sensitivity else ""),
            i.field in masked,
            _mask_note(i.field, kinds.get(i.field), i.field in masked),
        )
        for i in source.items.values()
    ]


def _python(path: str, body: str) -> str:
    return f'''import hashlib, hmac, json, secrets, time
import httpx  # 或 requests

BASE = "https://平台地址"
CLIENT_ID, SECRET = "{EXAMPLE_CLIENT}", "在应用管理页面领取的密钥"

def call(method, path, payload=None, query=""):
    body = json.dumps(payload, ensure_ascii=False).encode() if payload is not None else b""
    ts, nonce = str(int(time.time())), secrets.token_hex(12)
    text = "\\n".join([method, path, query, ts, nonce, hashlib.new("sm3", body).hexdigest()])
    sig = hmac.new(SECRET.encode(), text.encode(), "sm3").hexdigest()  # 需 OpenSSL 支持 SM3
    headers = {{"X-ZX-Client-Id": CLIENT_ID, "X-ZX-Timestamp": ts, "X-ZX-Nonce": nonce,
               "X-ZX-Signature": sig, "Content-Type": "application/json"}}
    return httpx.request(method, BASE + path + ("?" + query if query else ""), content=body, headers=headers)

resp = call("POST", "{path}", {body})
print(resp.status_code, resp.json())'''


def _curl(path: str, body: str) -> str:
    return f"""CLIENT_ID={EXAMPLE_CLIENT}
SECRET='在应用管理页面领取的密钥'
BODY='{body}'
TS=$(date +%s); NONCE=$(openssl rand -hex 12)
BODY_SM3=$(printf '%s' "$BODY" | openssl dgst -sm3 | awk '{{print $NF}}')
SIG=$(printf 'POST\\n%s\\n\\n%s\\n%s\\n%s' '{path}' "$TS" "$NONCE" "$BODY_SM3" \\
      | openssl dgst -sm3 -hmac "$SECRET" | awk '{{print $NF}}')
curl -sS -X POST "https://平台地址{path}" \\
  -H "X-ZX-Client-Id: $CLIENT_ID" -H "X-ZX-Timestamp: $TS" -H "X-ZX-Nonce: $NONCE" \\
  -H "X-ZX-Signature: $SIG" -H 'Content-Type: application/json' --data-raw "$BODY\""""


def endpoints(source: sources.Source, settings: Settings) -> list[Endpoint]:  # noqa: ARG001 - the signature is fixed by its caller
    """The calls this resource supports, each with its worked signature, curl and Python examples."""
    base = f"/api/v1/exchange/gateway/resources/{source.resource_id}"
    key = _KEY_EXAMPLES.get(source.key_field, "示例主键值")
    names = list(list(source.items)[:3])
    plans: list[tuple[str, dict[str, Any], dict[str, Any]]] = [
        ("lookup", {"key": key, "reason": "办件编号 BJ2026-0001"}, {"record": dict.fromkeys(names, "…"), "masked": []}),
        (
            "query",
            {
                "filters": [{"field": names[-1] if names else "division_code", "op": "eq", "value": "…"}],
                "page_size": 50,
            },
            {"rows": [dict.fromkeys(names, "…")], "next_cursor": "…", "masked": []},
        ),
    ]
    plans.append(
        (
            "changes",
            {"cursor": "上一次返回的 next_cursor", "page_size": 100},
            {
                "changes": [{"seq": 1024, "op": "upsert", "record": dict.fromkeys(names, "…")}],
                "next_cursor": "…",
                "more": False,
                "masked": [],
            },
        )
    )
    plans.append(
        (
            "export",
            {"filters": [], "format": "csv", "reason": "年度台账"},
            {
                "export": {
                    "id": 1,
                    "status": "queued",
                    "status_url": f"{base}/exports/1",
                    "file_url": None,
                    "note": "GET status_url 查询状态；done 后 GET file_url 下载 gzip 文件（同样签名，限本应用）",
                },
                "masked": [],
            },
        )
    )
    if source.kind in ("person", "legal"):
        plans.append(
            ("verify", {"key": key, "name": "张三" if source.kind == "person" else "某某有限公司"}, {"match": True})
        )
    out = []
    for operation, body, response in plans:
        path = f"{base}/{'exports' if operation == 'export' else operation}"
        raw = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
        text = signing.string_to_sign("POST", path, "", EXAMPLE_TIMESTAMP, EXAMPLE_NONCE, raw.encode())
        out.append(
            Endpoint(
                operation=operation,
                label=policy.CALL_OPERATIONS[operation],
                path=path,
                body=body,
                string_to_sign=text,
                signature=signing.sign(
                    EXAMPLE_SECRET, "POST", path, "", EXAMPLE_TIMESTAMP, EXAMPLE_NONCE, raw.encode()
                ),
                curl=_curl(path, raw),
                python=_python(path, repr(body)),
                response={"resource": {"id": source.resource_id, "code": source.code}, **response, "call_id": 1},
            )
        )
    return out


def signature_example() -> dict[str, str]:
    """The worked example of the signing page: fixed inputs, the string to sign, the signature."""
    path = "/api/v1/exchange/gateway/resources/1/verify"
    body = '{"key":"11010519491231002X","name":"张三"}'
    return {
        "client_id": EXAMPLE_CLIENT,
        "secret": EXAMPLE_SECRET,
        "timestamp": EXAMPLE_TIMESTAMP,
        "nonce": EXAMPLE_NONCE,
        "path": path,
        "body": body,
        "body_sm3": signing.sm3_hex(body.encode()),
        "string_to_sign": signing.string_to_sign("POST", path, "", EXAMPLE_TIMESTAMP, EXAMPLE_NONCE, body.encode()),
        "signature": signing.sign(EXAMPLE_SECRET, "POST", path, "", EXAMPLE_TIMESTAMP, EXAMPLE_NONCE, body.encode()),
    }


ERRORS = [
    (400, "请求体不是 JSON，或游标无效、被篡改、与查询条件不符"),
    (401, "缺少签名头、签名不正确、时间戳超出允许偏差（响应中说明偏差和服务器时间）、nonce 重复（重放）"),
    (403, "应用停用、来源地址不在白名单、未获授权、授权已暂停/撤销/到期、授权不含该调用方式或信息项"),
    (404, "资源不存在或未发布；按主键查询时没有该记录（或不在授权的行范围内）"),
    (422, "主键、条件、每页条数等不符合要求（errors 中给出字段）"),
    (409, "批量导出文件尚未生成（稍后再查询状态）"),
    (410, "批量导出失败（状态中说明原因），或文件已过期删除"),
    (429, "超过每分钟上限或每日配额；Retry-After 给出等待秒数"),
]
