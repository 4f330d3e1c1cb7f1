"""Reports: on-time statistics by the Decision 766 rules, the same code on desktop and server."""

from .ontime import Bucket, OnTimeRules, Stats, judge, summarise

__all__ = ["Bucket", "OnTimeRules", "Stats", "judge", "summarise"]
