"""Small helpers the benchmarks share."""


def pct(values, q: float) -> float:
    """The q-quantile (nearest rank) of `values`."""
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]
