"""What things cost: the monthly pool of each tier and the price of each AI operation per model.

Amounts are kept in integer thousandths of a credit ("millis"), so 0.5 credits is 500 and sums
never drift. The API shows credits as decimals.

    >>> cost_millis(Settings(), "generate.article", provider="openai", model="gpt-4o-mini")
    1000
    >>> cost_millis(Settings(), "generate.article", provider="local", model="extractive")
    0

Operators override prices with TYNEBASE_CREDIT_COSTS (`{"enhance": 1, "generate.article@gpt-4o":
3}`) and per-model multipliers with TYNEBASE_CREDIT_MODEL_FACTORS (`{"gpt-4o": 2}`; a key may also
name a provider).
"""

from __future__ import annotations

from tynebase.settings import Settings

MILLIS_PER_CREDIT = 1000
# Monthly allowance in credits by tier (AI-3).
POOL_CREDITS: dict[str, int] = {"free": 10, "base": 100, "pro": 500, "enterprise": 1000}
# Credits per operation at a model factor of 1.
OPERATION_COSTS: dict[str, float] = {
    "generate.article": 1.0,
    "generate.summary": 0.5,
    "generate.outline": 0.5,
    "generate.template": 0.5,
    "enhance": 0.5,
    "transcribe": 2.0,  # transcript + summary + article drafts of one recording
    "chat": 0.1,
}
# The built-in local provider runs on this machine, offline: it costs nothing.
MODEL_FACTORS: dict[str, float] = {"local": 0.0}
# Notices go to the tenant's admins when this share of the month's pool is used (percent).
NOTICE_THRESHOLDS: tuple[int, ...] = (80, 95)


def pool_millis(tier: str) -> int:
    return POOL_CREDITS.get(tier, POOL_CREDITS["free"]) * MILLIS_PER_CREDIT


def to_millis(credits: float) -> int:
    return round(credits * MILLIS_PER_CREDIT)


def to_credits(millis: int) -> float:
    return round(millis / MILLIS_PER_CREDIT, 3)


def cost_millis(settings: Settings, operation: str, *, provider: str, model: str) -> int:
    """The price of one `operation` served by `model` of `provider`, in millis."""
    overrides = settings.credit_costs
    base = overrides.get(f"{operation}@{model}")
    if base is None:
        base = overrides.get(operation, OPERATION_COSTS.get(operation))
    if base is None:
        raise LookupError(f"no credit cost for operation {operation!r}")
    factors = settings.credit_model_factors
    factor = factors.get(model, factors.get(provider))
    if factor is None:
        factor = MODEL_FACTORS.get(model, MODEL_FACTORS.get(provider, 1.0))
    return max(0, to_millis(base * factor))
