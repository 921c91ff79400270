"""A provider wrapper that injects faults, to prove the retry and recovery rules: a call that
fails before reaching the provider, a timeout after the provider acted (the answer is lost),
and a crash after the provider acted but before our commit."""

from __future__ import annotations

from collections import defaultdict, deque
from typing import Any

from app.payments.providers.base import PaymentProvider, ProviderUnavailable

FAULTS = ("unavailable", "timeout_after", "crash_after")


class SimulatedCrash(BaseException):
    """The process died right after the provider answered: nothing after it runs."""


class FaultInjectingProvider:
    """Wraps a provider; `fail(method, *faults)` queues faults for the next calls of a method.
    Every other attribute is the wrapped provider's."""

    def __init__(self, inner: PaymentProvider) -> None:
        self.inner = inner
        self.faults: dict[str, deque[str]] = defaultdict(deque)
        self.calls: list[str] = []  # every call that reached the provider

    def fail(self, method: str, *faults: str) -> FaultInjectingProvider:
        for fault in faults:
            if fault not in FAULTS:
                raise ValueError(f"unknown fault {fault!r}")
            self.faults[method].append(fault)
        return self

    def __getattr__(self, name: str) -> Any:
        target = getattr(self.inner, name)
        if not callable(target):
            return target

        def call(*args, **kwargs):
            fault = self.faults[name].popleft() if self.faults[name] else None
            if fault == "unavailable":
                raise ProviderUnavailable()
            result = target(*args, **kwargs)
            self.calls.append(name)
            if fault == "timeout_after":
                raise ProviderUnavailable()
            if fault == "crash_after":
                raise SimulatedCrash(name)
            return result

        return call
