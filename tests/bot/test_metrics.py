import pytest
from prometheus_client import REGISTRY, CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families

from bot.metrics import COMMAND_BUCKETS, Metrics

Labels = tuple[tuple[str, str], ...]


def samples(metrics: Metrics) -> dict[tuple[str, Labels], float]:
    """The rendered samples, keyed by name and sorted labels."""
    body, _ = metrics.render()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(body.decode("utf-8"))
        for s in family.samples
    }


def value(metrics: Metrics, name: str, **labels: str) -> float | None:
    """One sample's value, or None when it is not rendered."""
    return samples(metrics).get((name, tuple(sorted(labels.items()))))


@pytest.fixture
def metrics() -> Metrics:
    """A fresh set of metrics."""
    return Metrics()


def test_polls_count_by_source_and_status(metrics: Metrics):
    metrics.poll("hnkfq-news", "ok")
    metrics.poll("hnkfq-news", "ok")
    metrics.poll("hnkfq-news", "error")
    metrics.poll("csjk", "not_modified")

    assert value(metrics, "parkbot_polls_total", source="hnkfq-news", status="ok") == 2
    assert value(metrics, "parkbot_polls_total", source="hnkfq-news", status="error") == 1
    assert value(metrics, "parkbot_polls_total", source="csjk", status="not_modified") == 1


def test_new_items_add_up_per_source(metrics: Metrics):
    metrics.new_items("hnkfq-news", 3)
    metrics.new_items("hnkfq-news", 4)
    metrics.new_items("csjk", 0)

    assert value(metrics, "parkbot_new_items_total", source="hnkfq-news") == 7
    assert value(metrics, "parkbot_new_items_total", source="csjk") == 0


def test_deliveries_count_by_platform_and_result(metrics: Metrics):
    for result in ("sent", "sent", "retry", "dead"):
        metrics.delivery("wecom", result)
    metrics.delivery("dingtalk", "sent")

    assert value(metrics, "parkbot_deliveries_total", platform="wecom", result="sent") == 2
    assert value(metrics, "parkbot_deliveries_total", platform="wecom", result="retry") == 1
    assert value(metrics, "parkbot_deliveries_total", platform="wecom", result="dead") == 1
    assert value(metrics, "parkbot_deliveries_total", platform="dingtalk", result="sent") == 1


def test_outbox_gauges_show_the_latest_backlog(metrics: Metrics):
    assert value(metrics, "parkbot_outbox_pending") == 0
    metrics.outbox(pending=9, dead=2)
    metrics.outbox(pending=5, dead=1)

    assert value(metrics, "parkbot_outbox_pending") == 5
    assert value(metrics, "parkbot_outbox_dead") == 1


def test_digests_count_per_subscriber_and_items_in_total(metrics: Metrics):
    metrics.digest("members", 6)
    metrics.digest("members", 0)
    metrics.digest("staff", 4)

    assert value(metrics, "parkbot_digests_total", subscriber="members") == 2
    assert value(metrics, "parkbot_digests_total", subscriber="staff") == 1
    assert value(metrics, "parkbot_digest_items_total") == 10


def test_command_latency_lands_in_chat_sized_buckets(metrics: Metrics):
    metrics.command("latest", 0.03)
    metrics.command("latest", 1.2)
    metrics.command("latest", 7.0)

    name = "parkbot_command_latency_seconds"
    assert (COMMAND_BUCKETS[0], COMMAND_BUCKETS[-1]) == (0.01, 5.0)
    assert value(metrics, f"{name}_bucket", command="latest", le="0.01") == 0
    assert value(metrics, f"{name}_bucket", command="latest", le="0.05") == 1
    assert value(metrics, f"{name}_bucket", command="latest", le="2.5") == 2
    assert value(metrics, f"{name}_bucket", command="latest", le="5.0") == 2
    assert value(metrics, f"{name}_bucket", command="latest", le="+Inf") == 3
    assert value(metrics, f"{name}_count", command="latest") == 3
    assert value(metrics, f"{name}_sum", command="latest") == pytest.approx(8.23)


def test_source_failing_flips_between_one_and_zero(metrics: Metrics):
    metrics.source_failing("hnkfq-news", True)
    metrics.source_failing("csjk", True)
    metrics.source_failing("csjk", False)

    assert value(metrics, "parkbot_source_failing", source="hnkfq-news") == 1
    assert value(metrics, "parkbot_source_failing", source="csjk") == 0


def test_chinese_label_values_survive(metrics: Metrics):
    metrics.poll("长沙经开区", "ok")
    metrics.command("最新", 0.2)
    metrics.digest("会员单位群", 3)

    assert value(metrics, "parkbot_polls_total", source="长沙经开区", status="ok") == 1
    assert value(metrics, "parkbot_command_latency_seconds_count", command="最新") == 1
    assert value(metrics, "parkbot_digests_total", subscriber="会员单位群") == 1


def test_render_gives_prometheus_text_and_its_content_type(metrics: Metrics):
    metrics.poll("csjk", "ok")
    body, content_type = metrics.render()

    assert content_type.startswith("text/plain; version=")
    assert "charset=utf-8" in content_type
    assert b"# TYPE parkbot_polls_total counter" in body


def test_instances_are_independent_and_off_the_global_registry():
    first, second = Metrics(), Metrics()
    first.poll("csjk", "ok")
    first.outbox(pending=3, dead=0)

    assert isinstance(first.registry, CollectorRegistry)
    assert first.registry is not second.registry
    assert first.registry is not REGISTRY
    assert value(second, "parkbot_polls_total", source="csjk", status="ok") is None
    assert value(second, "parkbot_outbox_pending") == 0
    assert REGISTRY.get_sample_value("parkbot_outbox_pending") is None
