"""`governance/monitor.yaml`: how the drift monitor tests, and whom it tells. Optional file."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlsplit

from pydantic import AfterValidator, Field

from playbook.model import NonNegative, Schema, Slug, Window


def _http_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        raise ValueError(f"expected an http(s) URL but received {value!r}")
    return value


HttpUrl = Annotated[str, AfterValidator(_http_url)]


class EffectFloors(Schema):
    """The smallest shift worth acting on, per metric kind (a metric may set its own).

    proportion: absolute change of the share (0.02 = 2 percentage points); continuous and ratio:
    relative change of the mean or ratio (0.10 = 10%); count: relative change of the daily rate.
    """

    proportion: NonNegative = 0.02
    continuous: NonNegative = 0.10
    ratio: NonNegative = 0.10
    count: NonNegative = 0.25


class Receiver(Schema):
    """A webhook that receives Alertmanager-style (v4) JSON."""

    name: Slug
    url: HttpUrl


class MonitorSettings(Schema):
    fdr: Annotated[float, Field(gt=0, le=0.5)] = 0.05
    min_samples: Annotated[int, Field(ge=2)] = 30
    repeat_interval: Window = "4h"
    effect_floors: EffectFloors = Field(default_factory=EffectFloors)
    receivers: list[Receiver] = Field(default_factory=list)
    handbook_url: HttpUrl | None = None
