"""The file's `notation:` block: the sheet's own conventions (here, which δ it defines)."""
from __future__ import annotations

from dataclasses import dataclass

DELTAS = ("output", "input")  # δᵢ = ∂E/∂aᵢ (a neuron's output) or δᵢ = ∂E/∂zᵢ (its input)


@dataclass(frozen=True)
class Notation:
    """How the sheet writes things; None where the file leaves the default."""

    delta: str | None = None


def read_notation(raw, err) -> Notation:
    """The `notation:` mapping checked into a Notation; err(message, key) makes the error to raise."""
    if raw is None:
        return Notation()
    if not isinstance(raw, dict):
        raise err("notation must be a mapping such as {delta: output}", "notation")
    for key in raw:
        if key != "delta":
            raise err(f"unknown key {str(key)[:40]!r} (known: delta)", f"notation.{str(key)[:40]}")
    delta = raw.get("delta")
    if delta is not None and delta not in DELTAS:
        raise err(f"delta must be output (δᵢ = ∂E/∂aᵢ) or input (δᵢ = ∂E/∂zᵢ), not {str(delta)[:40]!r}",
                  "notation.delta")
    return Notation(delta)
