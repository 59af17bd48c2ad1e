"""Settings the example declares: type, default and a Chinese description (read with ``Settings.declared``)."""

from __future__ import annotations

from zhixian.settings import Setting

# env ZHIXIAN_HELLO_GREETING, or zhixian.toml [subsystems.hello] greeting = "…"
GREETING = Setting("hello", "greeting", str, "欢迎你", "示例扩展的问候语（种子数据与页面标题使用）")

SETTINGS = [GREETING]
