"""What the saddle tests share."""


def stable_at(stability, lr: float) -> bool:
    """Whether ``lr`` lies in one of ``stability``'s open stable intervals."""
    return any(lo < lr < hi for lo, hi in stability.intervals)
