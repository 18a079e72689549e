"""GET /api/admin/metrics in CPython: the queries name the documented columns, the rows
become the contract's report, and the prices add up as the price file says."""

import pytest

from contracts.metrics import MinuteMetrics, RouteMetrics
from gateway.metrics import minute_metrics, route_metrics, routes_query, series_query
from gateway.prices import USD_PER_MILLION, usd_per_million


def row(**overrides) -> dict:
    base = {
        "worker": "gateway",
        "kind": "request",
        "route": "/api/orders/{id}",
        "method": "GET",
        "requests": "4",  # the SQL API writes 64-bit integers as strings
        "errors_4xx": "1",
        "errors_5xx": "0",
        "failed": "0",
        "wall_p50": 10.0,
        "wall_p95": 20.0,
        "wall_p99": 30.0,
        "cpu_p50": 2.0,
        "cpu_p99": 4.0,
        "cpu_ms": 8.0,
        "d1_rows_read": 4.0,
        "d1_rows_written": 0.0,
        "kv_reads": 2.0,
        "kv_writes": 0.0,
        "kv_deletes": 0.0,
        "queue_messages": 0.0,
        "subrequests": 4.0,
    }
    return {**base, **overrides}


def test_a_row_becomes_the_contracts_route_metrics_with_means_per_request():
    report = route_metrics(row())
    RouteMetrics.model_validate(report)
    assert report["requests"] == 4 and report["errors_4xx"] == 1
    assert report["units_per_request"]["kv_reads"] == 0.5 and report["units_per_request"]["subrequests"] == 1
    expected = (
        USD_PER_MILLION["requests"]
        + USD_PER_MILLION["data_points"]
        + 2.0 * USD_PER_MILLION["cpu_ms"]
        + 1.0 * USD_PER_MILLION["d1_rows_read"]
        + 0.5 * USD_PER_MILLION["kv_reads"]
    )
    assert abs(report["usd_per_million"] - expected) < 1e-4
    assert report["usd_window"] == pytest.approx(expected * 4 / 1e6, abs=1e-8)


def test_a_service_request_over_a_binding_is_not_billed_as_a_request():
    gateway = route_metrics(row())["usd_per_million"]
    service = route_metrics(row(worker="orders"))["usd_per_million"]
    assert abs(gateway - service - USD_PER_MILLION["requests"]) < 1e-4


def test_an_empty_window_costs_nothing_and_divides_by_nothing():
    report = route_metrics(row(requests="0", cpu_ms=0.0, d1_rows_read=0.0, kv_reads=0.0, subrequests=0.0))
    assert report["usd_window"] == 0 and report["units_per_request"]["kv_reads"] == 0


def test_the_queries_use_the_layouts_columns_and_weigh_every_sum_by_the_sample_interval():
    query = routes_query(15)
    assert "INTERVAL '15' MINUTE" in query and "FROM edge_api_metrics" in query
    assert "SUM(_sample_interval * double6) AS kv_reads" in query
    assert "quantileExactWeighted(0.95)(double2, _sample_interval) AS wall_p95" in query
    series = series_query(60)
    assert "blob1 = 'gateway'" in series and "blob2 = 'request'" in series
    assert "sumIf(_sample_interval, double1 >= 400 AND double1 < 500) AS errors_4xx" in series


def test_a_minute_row_becomes_the_contracts_minute_with_4xx_and_5xx_apart():
    minute = minute_metrics(
        {"minute": "2026-12-03 10:15:00", "requests": "7", "errors_4xx": "2", "errors": "1", "p95_ms": 12.345}
    )
    assert MinuteMetrics.model_validate(minute).model_dump() == {
        "minute": "2026-12-03T10:15:00Z",
        "requests": 7,
        "errors_4xx": 2,
        "errors": 1,
        "p95_ms": 12.35,
    }


def test_prices_cover_every_unit():
    assert usd_per_million({}, billed_request=False) == USD_PER_MILLION["data_points"]
    assert usd_per_million({"queue_messages": 1}, billed_request=True) == pytest.approx(0.30 + 0.25 + 1.2)
