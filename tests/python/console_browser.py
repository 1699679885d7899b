"""Drives the web console in headless Chromium (Debian's chromium and
chromium-driver, through Selenium) for tests/console.rs.

usage: console_browser.py URL TOPIC GROUP VICTIM SHOTS_DIR

URL is one broker's admin address (http://host:port/), TOPIC a topic with
records, GROUP a consumer group with offsets committed on it, VICTIM the id of a broker the test kills when this script asks:
it prints "kill" on stdout and waits for a line on stdin. SHOTS_DIR gets
overview.png and topic.png. The last stdout line is a JSON report of what
the page showed; every wait that runs out fails the script with what it
was waiting for.
"""

import json
import os
import sys
import time

from selenium import webdriver
from selenium.common.exceptions import (
    NoSuchElementException,
    StaleElementReferenceException,
    WebDriverException,
)
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By

NEW_TOPIC = "from-the-browser"


def log(*args):
    print(*args, file=sys.stderr, flush=True)


def browser():
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--window-size=1400,1000",
        "--hide-scrollbars",
    ):
        options.add_argument(arg)
    # The Debian driver, so that Selenium never tries to download one.
    return webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)


def wait(what, probe, timeout=30.0):
    """Calls probe until it returns something truthy; the page redraws
    every two seconds, so an element may go stale under the probe."""
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        try:
            value = probe()
            if value:
                return value
        except (StaleElementReferenceException, NoSuchElementException) as e:
            last = e
        time.sleep(0.25)
    raise SystemExit(f"timed out after {timeout}s waiting for {what} (last error: {last})")


def texts(driver, css):
    return [e.text for e in driver.find_elements(By.CSS_SELECTOR, css)]


def click(driver, what, css):
    def attempt():
        driver.find_element(By.CSS_SELECTOR, css).click()
        return True

    wait(f"to click {what} ({css})", attempt, timeout=10)


def confirm(driver, fields=None, must_type=None):
    """Fills the open confirmation dialog and confirms it."""
    wait("the confirmation dialog", lambda: driver.find_element(By.ID, "confirm").is_displayed())
    for name, value in (fields or {}).items():
        field = driver.find_element(By.ID, f"confirm-field-{name}")
        field.clear()
        field.send_keys(str(value))
    report = {}
    if must_type is not None:
        ok = driver.find_element(By.ID, "confirm-ok")
        report["enabled_before_typing"] = ok.is_enabled()
        driver.find_element(By.ID, "confirm-input").send_keys(must_type)
    driver.find_element(By.ID, "confirm-ok").click()
    return report


# The text of the last outcome read: the next action's must differ (the
# page keeps showing an outcome until the next one replaces it).
last_toast = [None]


def toast(driver, expect_ok):
    def probe():
        # One read of class, text and visibility: read one by one, they could
        # straddle the moment the next outcome replaces the last.
        cls, text, shown = driver.execute_script(
            "const t = document.getElementById('toast');"
            "return [t.className, t.textContent, !t.hidden];")
        if shown and cls in ("ok", "error") and text != last_toast[0]:
            return (cls, text)
        return None

    cls, text = wait("the action's outcome", probe, timeout=30)
    last_toast[0] = text
    if (cls == "ok") != expect_ok:
        raise SystemExit(f"expected {'success' if expect_ok else 'an error'}, the page said: {text}")
    return text


def go(driver, url, fragment):
    driver.get(url + "#" + fragment)


def main():
    url, topic, group, victim, shots = sys.argv[1:6]
    url = url.rstrip("/") + "/"
    os.makedirs(shots, exist_ok=True)
    report = {}
    driver = browser()
    try:
        # The overview: three live brokers, and traffic in the charts.
        log("step:", 'The overview: three live brokers, and traffic in the charts.')
        go(driver, url, "/")
        statuses = wait(
            "three live brokers on the overview",
            lambda: (s := texts(driver, "#brokers tr[data-broker] td.status")) == ["live"] * 3 and s,
        )
        report["brokers"] = statuses
        report["controller_rows"] = texts(driver, "#brokers tr[data-broker] td:nth-child(3)").count(
            "controller"
        )
        wait(
            "produce throughput on the overview",
            lambda: (v := driver.find_element(By.CSS_SELECTOR, '[data-card="produce"] .value').text)
            not in ("–", "0 B/s")
            and v,
        )
        # Fifteen seconds of history, so that the screenshot shows a line.
        wait(
            "a drawn produce chart",
            lambda: len(
                driver.find_element(By.CSS_SELECTOR, '[data-chart="Produce"] polyline').get_attribute("points").split()
            )
            >= 15,
            timeout=60,
        )
        report["charts"] = len(driver.find_elements(By.CSS_SELECTOR, "figure.chart"))
        driver.save_screenshot(os.path.join(shots, "overview.png"))

        # The topic's partitions: a leader and offsets for each.
        log("step:", "The topic's partitions: a leader and offsets for each.")
        go(driver, url, f"/topics/{topic}")

        def partitions():
            rows = driver.find_elements(By.CSS_SELECTOR, "#partitions tr[data-partition]")
            cells = [[td.text for td in r.find_elements(By.TAG_NAME, "td")] for r in rows]
            led = [c for c in cells if c[1].isdigit() and c[6] not in ("–", "0")]
            return cells if cells and len(led) == len(cells) else None

        cells = wait("every partition with a leader and records", partitions)
        report["partitions"] = [
            {"partition": int(c[0]), "leader": int(c[1]), "replicas": c[3], "isr": c[4], "high_watermark": int(c[6].replace(",", ""))}
            for c in cells
        ]
        driver.save_screenshot(os.path.join(shots, "topic.png"))

        # The consumer group: listed, and its offsets with their lag.
        log("step:", "The consumer group: listed, and its offsets with their lag.")
        go(driver, url, "/groups")
        wait(f"group {group} listed", lambda: driver.find_elements(By.CSS_SELECTOR, f'#groups tr[data-group="{group}"]'))
        go(driver, url, f"/groups/{group}")

        def offsets():
            rows = driver.find_elements(By.CSS_SELECTOR, "#offsets tr[data-offset]")
            cells = [[td.text.replace(",", "") for td in r.find_elements(By.TAG_NAME, "td")] for r in rows]
            return cells if cells and all(c[4].isdigit() for c in cells) else None

        report["group_offsets"] = [
            {"topic": c[0], "partition": int(c[1]), "committed": int(c[2]), "high_watermark": int(c[3]), "lag": int(c[4])}
            for c in wait(f"group {group}'s offsets with lag", offsets)
        ]

        # A broker dies: it turns offline, the partitions under-replicated.
        log("step:", 'A broker dies: it turns offline, the partitions under-replicated.')
        print("kill", flush=True)
        sys.stdin.readline()
        go(driver, url, "/")
        wait(
            f"broker {victim} shown offline",
            lambda: texts(driver, f'#brokers tr[data-broker="{victim}"] td.status') == ["offline"],
            timeout=60,
        )
        report["victim"] = "offline"
        go(driver, url, f"/topics/{topic}")
        report["under_replicated_rows"] = wait(
            "under-replicated partitions highlighted",
            lambda: len(driver.find_elements(By.CSS_SELECTOR, "#partitions tr.under-replicated")),
            timeout=60,
        )
        report["health"] = texts(driver, "#partitions td.health")

        # Create a topic through the form (two live brokers: RF 2).
        log("step:", 'Create a topic through the form (two live brokers: RF 2).')
        go(driver, url, "/topics")
        wait("the create-topic form", lambda: driver.find_element(By.CSS_SELECTOR, "#create-topic"))
        form = driver.find_element(By.CSS_SELECTOR, "#create-topic")
        form.find_element(By.NAME, "name").send_keys(NEW_TOPIC)
        for name, value in (("partitions", 2), ("replication_factor", 2)):
            field = form.find_element(By.NAME, name)
            field.clear()
            field.send_keys(str(value))
        form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
        confirm(driver)
        report["created"] = toast(driver, True)
        wait(f"{NEW_TOPIC} in the topics table", lambda: driver.find_elements(By.CSS_SELECTOR, f'#topics tr[data-topic="{NEW_TOPIC}"]'))

        # Creating it again is refused, and the page says why.
        log("step:", 'Creating it again is refused, and the page says why.')
        form = driver.find_element(By.CSS_SELECTOR, "#create-topic")
        form.find_element(By.NAME, "name").send_keys(NEW_TOPIC)
        form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
        confirm(driver)
        report["duplicate"] = toast(driver, False)

        # Alter a config of the new topic.
        log("step:", 'Alter a config of the new topic.')
        go(driver, url, f"/topics/{NEW_TOPIC}")
        click(driver, "Edit retention.ms", '#configs tr[data-config="retention.ms"] [data-action="edit"]')
        confirm(driver, fields={"value": "3600000"})
        toast(driver, True)
        report["retention"] = wait(
            "retention.ms shown as an override",
            lambda: (row := texts(driver, '#configs tr[data-config="retention.ms"] td'))[1:3] == ["3600000", "override"]
            and row[1:3],
        )

        # Trim partition 0 of the topic with records five records forward
        log("step:", 'Trim partition 0 of the topic with records five records forward')
        # (or to its end, if it has fewer).
        go(driver, url, f"/topics/{topic}")
        row = wait(
            "partition 0's offsets",
            lambda: (c := texts(driver, '#partitions tr[data-partition="0"] td'))
            and c[5] not in ("–", "")
            and c,
        )
        start, end = (int(row[i].replace(",", "")) for i in (5, 6))
        target = min(end, start + 5)
        click(driver, "Trim partition 0", '#partitions tr[data-partition="0"] [data-action="trim"]')
        confirm(driver, fields={"offset": target})
        report["trimmed"] = toast(driver, True)
        report["trimmed_to"] = target
        report["log_start"] = wait(
            "the new log start of partition 0",
            lambda: (t := texts(driver, '#partitions tr[data-partition="0"] td:nth-child(6)'))
            == [f"{target:,}"]
            and int(t[0].replace(",", "")),
        )

        # Delete the new topic: the confirmation wants its name typed.
        log("step:", 'Delete the new topic: the confirmation wants its name typed.')
        go(driver, url, f"/topics/{NEW_TOPIC}")
        click(driver, "Delete topic", "#delete-topic")
        report.update(confirm(driver, must_type=NEW_TOPIC))
        report["deleted"] = toast(driver, True)
        wait("the topics page without the deleted topic", lambda: driver.current_url.endswith("#/topics")
             and not driver.find_elements(By.CSS_SELECTOR, f'#topics tr[data-topic="{NEW_TOPIC}"]')
             and driver.find_elements(By.CSS_SELECTOR, f'#topics tr[data-topic="{topic}"]'))
        report["console_errors"] = [
            e["message"]
            for e in driver.get_log("browser")
            if e.get("level") == "SEVERE" and "Failed to load resource" not in e["message"]
        ]
    except WebDriverException as e:
        raise SystemExit(f"the browser failed: {e}")
    except SystemExit:
        driver.save_screenshot(os.path.join(shots, "failure.png"))
        log("the page when it failed:", driver.find_element(By.TAG_NAME, "body").text)
        raise
    finally:
        driver.quit()
    print(json.dumps(report), flush=True)


if __name__ == "__main__":
    main()
