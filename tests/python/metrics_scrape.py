"""Scrapes a broker's GET /metrics twice, as Prometheus does (asking for
OpenMetrics) and as a plain client does (Prometheus' text format), and
parses each with the Prometheus project's parser for that format
(prometheus_client), which rejects malformed exposition. Prints one JSON
object: the OpenMetrics content type, its samples as {"name{label=value,...}":
value} with labels sorted by name, the number of samples of the text format
(the same set), and the text format itself (for promtool).

Usage: python3 metrics_scrape.py URL
"""
import json
import sys
import urllib.request

from prometheus_client.openmetrics.parser import text_string_to_metric_families as parse_openmetrics
from prometheus_client.parser import text_string_to_metric_families as parse_text


def get(url, accept):
    request = urllib.request.Request(url, headers={"Accept": accept})
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.headers.get("Content-Type", ""), response.read().decode("utf-8")


def samples(families):
    out = {}
    for family in families:
        for s in family.samples:
            labels = ",".join(f"{k}={v}" for k, v in sorted(s.labels.items()))
            out[f"{s.name}{{{labels}}}"] = s.value
    return out


def main(url):
    content_type, openmetrics = get(url, "application/openmetrics-text;version=1.0.0,text/plain;q=0.5")
    text_type, text = get(url, "*/*")
    print(json.dumps({
        "content_type": content_type,
        "samples": samples(parse_openmetrics(openmetrics)),
        "text_content_type": text_type,
        "text_samples": len(samples(parse_text(text))),
        "text": text,
    }))


if __name__ == "__main__":
    main(sys.argv[1])
