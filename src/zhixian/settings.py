"""One typed Settings object: environment (ZHIXIAN_*), then zhixian.toml, then defaults.

Bad values stop the process at start-up with a Chinese message naming the setting, so a county
administrator never finds out about a typo from a half-working platform.
"""

from __future__ import annotations

import ipaddress
import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import Field, PrivateAttr, TypeAdapter, ValidationError, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

# Secrets that appear in tutorials and sample configs; a node that uses one is refused.
KNOWN_DEFAULT_SECRETS = frozenset(
    {"", "secret", "changeme", "change-me", "change_me", "zhixian", "password", "123456", "admin", "test"}
)


T = TypeVar("T")
_TYPE_NAMES = {int: "整数", float: "数字", bool: "布尔值（true/false）", str: "文字"}


def networks_problem(text: str) -> str | None:
    """For a comma-separated list of CIDR ranges: the first entry that is not one, as a Chinese reason."""
    for part in filter(None, (p.strip() for p in text.split(","))):
        try:
            ipaddress.ip_network(part, strict=False)
        except ValueError:
            return f"{part!r} 不是有效的网段（如 10.0.0.0/8，多个用逗号分隔）"
    return None


def address_in(ip: str, networks: str) -> bool:
    """Whether ``ip`` falls in one of the comma-separated CIDR ranges (a non-address never does)."""
    try:
        addr = ipaddress.ip_address(ip)
    except ValueError:
        return False
    parts = filter(None, (p.strip() for p in networks.split(",")))
    return any(addr in ipaddress.ip_network(part, strict=False) for part in parts)


@dataclass(frozen=True)
class Setting(Generic[T]):
    """A setting a subsystem declares (as CKAN's config_declaration): type, default and a Chinese description.

    Read it with ``Settings.declared(spec)``; the county sets it as env ``ZHIXIAN_<SUBSYSTEM>_<NAME>`` or in
    zhixian.toml under ``[subsystems.<subsystem>]``. A bad value or an undeclared name stops start-up.
    """

    subsystem: str
    name: str
    type: type[T]
    default: T
    description: str
    ge: float | None = None
    le: float | None = None
    check: Callable[[Any], str | None] | None = None  # a Chinese reason when a value of the right type is wrong

    def __post_init__(self) -> None:
        if not (self.name.isidentifier() and self.name.islower()):
            raise ValueError(f"设置名 {self.name!r} 须为小写英文标识符")
        if self.type not in _TYPE_NAMES:
            raise TypeError(f"设置 {self.env} 的类型须为 int、float、bool 或 str")

    @property
    def env(self) -> str:
        return f"ZHIXIAN_{self.subsystem}_{self.name}".upper()

    def parse(self, raw: object, where: str) -> T:
        """The value checked against type and range, or a Chinese error naming where it came from."""
        try:
            value: T = TypeAdapter(self.type).validate_python(raw, strict=False)
        except ValidationError:
            raise ValueError(f"{where} 的值 {raw!r} 无效：{self.description}，应为{_TYPE_NAMES[self.type]}") from None
        number = isinstance(value, int | float) and not isinstance(value, bool)
        if number and ((self.ge is not None and value < self.ge) or (self.le is not None and value > self.le)):  # type: ignore[operator]
            span = f"{'' if self.ge is None else self.ge}–{'' if self.le is None else self.le}"
            raise ValueError(f"{where} 的值 {value} 超出范围 {span}：{self.description}")
        problem = self.check(value) if self.check else None
        if problem:
            raise ValueError(f"{where} 的值 {value!r} 无效：{problem}")
        return value


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="ZHIXIAN_", toml_file="zhixian.toml", extra="forbid", validate_default=True
    )

    # --- node and storage
    data_dir: Path = Field(default=Path("data"), description="数据目录：SQLite 库、密钥、上传文件")
    database_url: str = Field(
        default="", description="为空时使用数据目录下的 SQLite；PostgreSQL 用 postgresql+psycopg://"
    )
    secret_key: str = Field(default="", description="签名用密钥；为空时在数据目录生成并保存（权限 0600）")
    sm4_key_file: Path | None = Field(default=None, description="SM4 主密钥文件；默认 <data_dir>/keys/sm4.keys")
    county_code: str = Field(default="330421", description="本县 GB/T 2260 六位代码")
    county_name: str = Field(default="嘉善县", description="本县名称")
    enabled_extensions: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="启用的扩展子系统代码，逗号分隔；* 表示全部已安装的扩展（自选动作）"
    )
    demo_banner: bool = Field(default=False, description="页面顶部显示“演示数据”提示")

    # --- 等保 level 3 (shared/standards/security.md items 1-7), practice values as defaults
    password_min_length: int = Field(default=8, ge=8, le=128)
    password_min_classes: int = Field(default=3, ge=1, le=4)
    password_max_age_days: int = Field(default=90, ge=0, description="0 表示不过期")
    lockout_threshold: int = Field(default=5, ge=1, le=20)
    lockout_minutes: int = Field(default=5, ge=5, description="锁定时长（≥5 分钟）")
    session_idle_minutes: int = Field(default=30, ge=1, le=30)
    session_absolute_hours: int = Field(default=12, ge=1, le=24)
    mfa_required_roles: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="必须使用 TOTP 的角色代码"
    )
    cookie_secure: Literal["auto", "always", "never"] = Field(
        default="auto", description="auto：HTTPS 请求下设置 Secure"
    )
    dormant_days: int = Field(default=90, ge=1, description="超过该天数未登录视为休眠账号")
    admin_networks: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="三类管理员功能只允许从这些网段访问（CIDR，逗号分隔）；为空不限制（等保 17）",
    )

    # --- passwords, API tokens, administrator changes (security review: separation of duties area)
    password_history_count: int = Field(default=5, ge=1, le=24, description="新密码不能与最近 N 个密码（含当前）相同")
    api_token_default_days: int = Field(default=90, ge=1, le=3650, description="API 令牌默认有效天数")
    api_token_max_days: int = Field(default=365, ge=1, le=3650, description="API 令牌最长有效天数")
    admin_change_hours: int = Field(default=72, ge=1, le=720, description="待确认的管理员变更多少小时后失效")

    # --- HTTP
    max_body_bytes: int = Field(default=2 * 1024 * 1024, ge=1024, description="普通请求体上限")
    max_upload_bytes: int = Field(default=200 * 1024 * 1024, ge=1024, description="文件上传上限")
    trusted_proxies: str = Field(default="127.0.0.1", description="可信反向代理地址，用于识别客户端 IP")

    # --- upload bombs and grid geometry limits (sec-bombs; defaults in platform.uploads.UploadLimits)
    upload_zip_max_members: int = Field(default=1000, ge=1, description="上传压缩包（含 .xlsx）内文件数上限")
    upload_zip_max_inflated_bytes: int = Field(
        default=256 * 1024 * 1024, ge=1024 * 1024, description="上传压缩包解压后总大小上限"
    )
    upload_zip_max_ratio: int = Field(default=200, ge=10, description="压缩包内单个文件的压缩比上限（防压缩炸弹）")
    upload_xlsx_max_sheet_bytes: int = Field(
        default=128 * 1024 * 1024, ge=1024 * 1024, description="Excel 工作表 XML 解压后合计上限"
    )
    geo_max_vertices_per_feature: int = Field(
        default=50_000, ge=100, le=1_000_000, description="导入网格/边界时单个要素的顶点数上限"
    )
    geo_max_vertices_per_import: int = Field(
        default=2_000_000, ge=1000, le=20_000_000, description="一次导入的顶点总数上限"
    )
    # --- audit anchor (sec-audit): how often lane heads are anchored outside the database
    audit_anchor_every_records: int = Field(
        default=200, ge=1, description="每写入多少条审计记录（每进程）至少更新一次审计锚点"
    )
    audit_anchor_every_seconds: float = Field(
        default=2.0, ge=0, description="审计锚点最多间隔多少秒更新一次（有新记录提交时）"
    )
    # --- sec-gate: slow request bodies (read before the database gate), `zhixian serve`, outbound fetches
    body_timeout_seconds: float = Field(
        default=15, gt=0, le=300, description="请求体宽限时间（秒）：此后须保持最低发送速率，否则返回 408"
    )
    body_min_rate_bytes: int = Field(default=10 * 1024, ge=1, description="宽限之后请求体的最低发送速率（字节/秒）")
    keep_alive_seconds: int = Field(default=5, ge=1, le=120, description="空闲长连接保持时间（秒，zhixian serve）")
    max_connections: int = Field(default=1000, ge=10, description="同时连接数上限，超出返回 503（zhixian serve）")
    outbound_allow_networks: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="外部数据源允许访问的回环、链路本地或本机网段（CIDR，逗号分隔）；默认为空，一律拒绝",
    )
    outbound_connect_timeout_seconds: float = Field(default=10, gt=0, le=120, description="外部数据源连接超时（秒）")
    outbound_timeout_seconds: int = Field(
        default=120, ge=1, le=3600, description="外部数据源单次请求总时长上限（秒），数据源自身的超时不能超过它"
    )

    # --- settings that subsystems declare (Subsystem.settings); the env ZHIXIAN_<CODE>_<NAME> wins over this table
    subsystems: dict[str, dict[str, Any]] = Field(
        default_factory=dict, description="子系统声明的设置：zhixian.toml 中的 [subsystems.<代码>] 表"
    )
    _environ: dict[str, str] = PrivateAttr(default_factory=dict)
    # --- maps (issue 9): the basemap is chosen on 应用维护 → 地图底图; these bound how the platform serves it
    map_tiles_dir: Path | None = Field(
        default=None, description="本地底图文件（.mbtiles / .pmtiles）所在目录；默认 <data_dir>/tiles"
    )
    map_tile_cache_mb: int = Field(
        default=512, ge=0, le=1_000_000, description="代理在线瓦片服务时本机瓦片缓存的上限（MB）；0 表示不缓存"
    )
    map_tile_timeout_seconds: float = Field(default=8, gt=0, le=60, description="向瓦片服务取一张瓦片的超时（秒）")
    map_tile_fetch_concurrency: int = Field(
        default=8, ge=1, le=64, description="同时向瓦片服务取瓦片的请求数上限（其余稍候或返回 503）"
    )
    # --- working calendar
    work_periods: list[tuple[str, str]] = Field(
        default_factory=lambda: [("08:30", "12:00"), ("13:30", "17:30")],
        description="每个工作日的上班时段（北京时间）",
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,  # noqa: ARG003 - the signature is fixed by pydantic-settings
        file_secret_settings: PydanticBaseSettingsSource,  # noqa: ARG003 - the signature is fixed by pydantic-settings
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, TomlConfigSettingsSource(settings_cls))

    @field_validator("enabled_extensions", "admin_networks", "mfa_required_roles", mode="before")
    @classmethod
    def _comma_list(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("admin_networks")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        for net in value:
            try:
                ipaddress.ip_network(net, strict=False)
            except ValueError:
                raise ValueError(f"admin_networks 中的 {net!r} 不是有效的网段（如 10.0.0.0/8）") from None
        return value

    @field_validator("outbound_allow_networks", mode="before")
    @classmethod
    def _outbound_networks(cls, value: object) -> object:
        """Comma-separated CIDR ranges, each checked (sec-gate)."""
        parts = [p.strip() for p in value.split(",") if p.strip()] if isinstance(value, str) else value
        for net in parts if isinstance(parts, list) else []:
            try:
                ipaddress.ip_network(str(net), strict=False)
            except ValueError:
                raise ValueError(f"outbound_allow_networks 中的 {net!r} 不是有效的网段（如 127.0.0.0/8）") from None
        return parts

    @field_validator("county_code")
    @classmethod
    def _county_code(cls, value: str) -> str:
        if len(value) != 6 or not value.isdigit():
            raise ValueError("county_code 必须是 6 位数字（GB/T 2260）")
        return value

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str) -> str:
        if value and not value.startswith(("sqlite", "postgresql")):
            raise ValueError("database_url 只支持 sqlite 或 postgresql+psycopg")
        return value

    @field_validator("work_periods")
    @classmethod
    def _work_periods(cls, value: list[tuple[str, str]]) -> list[tuple[str, str]]:
        last = "00:00"
        for start, end in value:
            for t in (start, end):
                hh, _, mm = t.partition(":")
                if not (hh.isdigit() and mm.isdigit() and int(hh) < 24 and int(mm) < 60 and len(mm) == 2):
                    raise ValueError(f"work_periods 时间格式应为 HH:MM，收到 {t!r}")
            if not last <= start < end:
                raise ValueError("work_periods 时段必须按时间先后排列且不重叠")
            last = end
        if not value:
            raise ValueError("work_periods 至少需要一个时段")
        return value

    @model_validator(mode="after")
    def _secret(self) -> Settings:
        if self.secret_key and (self.secret_key.lower() in KNOWN_DEFAULT_SECRETS or len(self.secret_key) < 32):
            raise ValueError("secret_key 不能使用默认值，且至少 32 个字符；留空则自动生成")
        return self

    def model_post_init(self, context: Any, /) -> None:  # noqa: ARG002 - the signature is fixed by the base class
        # declared settings come from the environment as it was when the settings were read, like every field
        self._environ = {k: v for k, v in os.environ.items() if k.startswith("ZHIXIAN_")}

    def declared(self, spec: Setting[T]) -> T:
        """A subsystem's declared setting: env ZHIXIAN_<CODE>_<NAME>, then zhixian.toml, then its default."""
        if spec.env in self._environ:
            return spec.parse(self._environ[spec.env], f"环境变量 {spec.env}")
        table = self.subsystems.get(spec.subsystem, {})
        if spec.name in table:
            return spec.parse(table[spec.name], f"zhixian.toml [subsystems.{spec.subsystem}] {spec.name}")
        return spec.default

    def check_declared(self, specs: list[Setting[Any]], codes: set[str]) -> None:
        """Fails fast for the enabled subsystems ``codes``: every value given is valid, and no name is set
        that its subsystem does not declare (a misspelt ZHIXIAN_CITYMGMT_DEMO_CASSES is an error, not a no-op)."""
        declared = {(s.subsystem, s.name) for s in specs}
        for spec in specs:
            self.declared(spec)
        for code, table in self.subsystems.items():
            unknown = [name for name in table if (code, name) not in declared]
            if code in codes and unknown:
                raise ValueError(f"zhixian.toml [subsystems.{code}] 中的 {unknown[0]} 不是子系统 {code} 声明的设置")
        core = {f"ZHIXIAN_{name.upper()}" for name in type(self).model_fields}
        for key in sorted(self._environ.keys() - core):
            for code in codes:
                prefix = f"ZHIXIAN_{code.upper()}_"
                if key.startswith(prefix) and (code, key[len(prefix) :].lower()) not in declared:
                    known = "、".join(s.env for s in specs if s.subsystem == code)
                    raise ValueError(f"环境变量 {key} 不是子系统 {code} 声明的设置（可用：{known or '无'}）")

    @cached_property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.data_dir / 'zhixian.db').resolve()}"

    @cached_property
    def effective_secret_key(self) -> str:
        """The configured secret, or one generated once and kept in the data directory."""
        if self.secret_key:
            return self.secret_key
        path = self.data_dir / "keys" / "secret.key"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            path.write_text(secrets.token_urlsafe(48))
            path.chmod(0o600)
        return path.read_text().strip()

    @property
    def sm4_keys_path(self) -> Path:
        return self.sm4_key_file or self.data_dir / "keys" / "sm4.keys"

    def admin_allowed_from(self, ip: str) -> bool:
        if not self.admin_networks:
            return True
        try:
            addr = ipaddress.ip_address(ip)
        except ValueError:
            return False
        return any(addr in ipaddress.ip_network(net, strict=False) for net in self.admin_networks)

    @property
    def is_sqlite(self) -> bool:
        return self.effective_database_url.startswith("sqlite")


_current: Settings | None = None


def use(settings: Settings) -> None:
    """Makes these the settings of this process (``build_node`` calls it), for code that has no node at hand."""
    global _current  # noqa: PLW0603 - one node per process; tests build nodes one after another
    _current = settings


def current() -> Settings:
    """The settings of this process's node, or, before a node is built, those of the environment."""
    global _current  # noqa: PLW0603 - see use()
    if _current is None:
        _current = Settings()
    return _current
