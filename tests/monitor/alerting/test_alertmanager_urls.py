"""An Alertmanager's base URL becomes its API endpoint by extending the URL's path: a query or a
fragment in the configured URL must not swallow `/api/v2/alerts` (a push to the UI's root)."""

from __future__ import annotations

import pytest

from monitor.alerting.alertmanager import alertmanagers, api_url


@pytest.mark.parametrize(
    ("base", "endpoint"),
    [
        ("http://am:9093", "http://am:9093/api/v2/alerts"),
        ("http://am:9093/", "http://am:9093/api/v2/alerts"),
        ("https://h/am/", "https://h/am/api/v2/alerts"),
        ("http://am:9093/api/v2/alerts/", "http://am:9093/api/v2/alerts"),
        ("http://am:9093/?tenant=a", "http://am:9093/api/v2/alerts?tenant=a"),
        ("http://am:9093#ui", "http://am:9093/api/v2/alerts"),
        ("http://am:9093/am/?a=b#f", "http://am:9093/am/api/v2/alerts?a=b"),
        ("http://am:9093/api/v2/alerts?x=1", "http://am:9093/api/v2/alerts?x=1"),
    ],
)
def test_the_api_path_extends_the_path_not_the_query_or_fragment(base, endpoint):
    assert api_url(base) == endpoint


def test_the_same_endpoint_spelled_two_ways_is_pushed_to_once():
    found = alertmanagers([("oncall", "http://am:9093/#x")], ["http://am:9093"])
    assert [(m.name, m.url) for m in found] == [("oncall", "http://am:9093/api/v2/alerts")]
