"""Reading a ``/metrics`` answer (the Prometheus text format) in tests."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample


def samples(metrics_text: str, name: str) -> list[Sample]:
    """Every sample named ``name`` (with its suffix: ``…_total``, ``…_bucket``), whatever its labels."""
    return [
        sample
        for family in text_string_to_metric_families(metrics_text)
        for sample in family.samples
        if sample.name == name
    ]
