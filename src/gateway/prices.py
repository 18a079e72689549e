"""Cloudflare's published Workers Paid prices, in USD per million units beyond what the plan
includes: the one place the cost figures (GET /api/admin/metrics, the benchmark) come from.

Sources, read 2026-12-03:
- Workers: https://developers.cloudflare.com/workers/platform/pricing/ (requests $0.30/M,
  CPU time $0.02/M ms; requests made over a service binding are not billed as requests,
  the callee's CPU time is)
- D1: https://developers.cloudflare.com/d1/platform/pricing/ (rows read $0.001/M,
  rows written $1.00/M)
- KV: https://developers.cloudflare.com/kv/platform/pricing/ (reads $0.50/M; writes,
  deletes and lists $5.00/M)
- Queues: https://developers.cloudflare.com/queues/platform/pricing/ ($0.40/M operations;
  a message of up to 64 KB is three: write, read, delete)
- Analytics Engine: https://developers.cloudflare.com/analytics/analytics-engine/pricing/
  (data points written $0.25/M, read queries $1.00/M)
Subrequests (service bindings, fetch) have no price of their own.
"""

SOURCE = "https://developers.cloudflare.com/workers/platform/pricing/ (and the D1, KV, Queues, Analytics Engine pages)"
READ_ON = "2026-12-03"

QUEUE_OPERATIONS_PER_MESSAGE = 3

USD_PER_MILLION: dict[str, float] = {
    "requests": 0.30,
    "cpu_ms": 0.02,
    "d1_rows_read": 0.001,
    "d1_rows_written": 1.00,
    "kv_reads": 0.50,
    "kv_writes": 5.00,
    "kv_deletes": 5.00,
    "queue_messages": 0.40 * QUEUE_OPERATIONS_PER_MESSAGE,
    "subrequests": 0.0,
    "data_points": 0.25,
}


def usd_per_million(units: dict[str, float], *, billed_request: bool) -> float:
    """What a million units of work cost, each spending `units` (means per unit of work, with
    `cpu_ms`) and writing one data point; `billed_request` is False for a request a service
    receives over a binding (the gateway's request is the billed one)."""
    total = USD_PER_MILLION["requests"] if billed_request else 0.0
    total += USD_PER_MILLION["data_points"]
    for name, amount in units.items():
        total += USD_PER_MILLION.get(name, 0.0) * amount
    return total
