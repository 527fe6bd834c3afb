"""Message catalogue: every label in English and Chinese, domain words as in the glossary."""
from __future__ import annotations

MESSAGES: dict[str, dict[str, str]] = {
    "app.title": {"en": "Lead to Cash", "zh": "线索到回款"},
    "login.title": {"en": "Sign in", "zh": "登录"},
    "login.login": {"en": "Login", "zh": "账号"},
    "login.password": {"en": "Password", "zh": "密码"},
    "login.submit": {"en": "Sign in", "zh": "登录"},
    "logout": {"en": "Sign out", "zh": "退出"},
    "language": {"en": "Language", "zh": "语言"},
    "home.signed_in": {"en": "Signed in as {name} ({roles})", "zh": "当前用户:{name}({roles})"},
    "home.chain": {"en": "The chain today", "zh": "今日链路概况"},
    "count.leads": {"en": "Leads", "zh": "线索"},
    "count.opportunities": {"en": "Opportunities", "zh": "机会点"},
    "count.bids": {"en": "Bids", "zh": "投标"},
    "count.contracts": {"en": "Contracts", "zh": "合同"},
    "count.invoices": {"en": "Invoices", "zh": "发票"},
    "count.payments": {"en": "Payments", "zh": "回款"},
}


def t(key: str, lang: str = "en", **kwargs) -> str:
    text = MESSAGES.get(key, {}).get(lang) or MESSAGES.get(key, {}).get("en") or key
    return text.format(**kwargs) if kwargs else text
