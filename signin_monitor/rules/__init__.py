"""Detection rules: one file per rule, all sharing the ``Rule`` protocol."""

from __future__ import annotations

from ..config import Settings
from .base import FailureHistory, Rule
from .repeated_failed_sign_ins import RepeatedFailedSignIns
from .root_sign_in import RootSignIn
from .sign_in_without_mfa import SignInWithoutMfa

__all__ = [
    "FailureHistory",
    "RepeatedFailedSignIns",
    "RootSignIn",
    "Rule",
    "SignInWithoutMfa",
    "rules_from_settings",
]


def rules_from_settings(settings: Settings) -> tuple[Rule, ...]:
    """The enabled rules, configured from settings, in a fixed order."""
    window = settings.failed_signin_window
    available: tuple[Rule, ...] = (
        RootSignIn(window=window),
        SignInWithoutMfa(),
        RepeatedFailedSignIns(threshold=settings.failed_signin_threshold, window=window),
    )
    return tuple(rule for rule in available if rule.id in settings.alert_rules)
