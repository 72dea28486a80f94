"""Detection rules: one file per rule, all sharing the ``Rule`` protocol."""

from __future__ import annotations

from ..config import Settings
from .base import FailureHistory, Rule, SelectiveRule
from .login_profile_changed import LoginProfileChanged
from .mfa_challenge_failed import MfaChallengeFailed
from .mfa_device_removed import MfaDeviceRemoved
from .new_source_network import NewSourceNetwork
from .password_spray import PasswordSpray
from .repeated_failed_sign_ins import RepeatedFailedSignIns
from .root_access_key_created import RootAccessKeyCreated
from .root_activity import RootActivity
from .root_password_recovery import RootPasswordRecovery
from .root_sign_in import RootSignIn
from .sign_in_after_failures import SignInAfterFailures
from .sign_in_without_mfa import SignInWithoutMfa
from .trail_tampering import TrailTampering

__all__ = [
    "FailureHistory",
    "LoginProfileChanged",
    "MfaChallengeFailed",
    "MfaDeviceRemoved",
    "NewSourceNetwork",
    "PasswordSpray",
    "RepeatedFailedSignIns",
    "RootAccessKeyCreated",
    "RootActivity",
    "RootPasswordRecovery",
    "RootSignIn",
    "Rule",
    "SelectiveRule",
    "SignInAfterFailures",
    "SignInWithoutMfa",
    "TrailTampering",
    "rules_from_settings",
]


def rules_from_settings(settings: Settings) -> tuple[Rule, ...]:
    """The enabled rules, configured from settings, in a fixed order."""
    window = settings.failed_signin_window
    available: tuple[Rule, ...] = (
        RootSignIn(window=window),
        SignInWithoutMfa(),
        RepeatedFailedSignIns(threshold=settings.failed_signin_threshold, window=window),
        RootActivity(window=settings.root_activity_window),
        RootAccessKeyCreated(),
        MfaDeviceRemoved(),
        LoginProfileChanged(),
        TrailTampering(),
        RootPasswordRecovery(),
        SignInAfterFailures(threshold=settings.failed_signin_threshold, window=window),
        PasswordSpray(principals=settings.spray_principal_threshold, window=window),
        MfaChallengeFailed(window=window),
    )
    lookback = settings.new_network_lookback
    if lookback is not None:  # 0 days: the rule is off
        available = (*available, NewSourceNetwork(lookback=lookback))
    return tuple(rule for rule in available if rule.id in settings.alert_rules)
