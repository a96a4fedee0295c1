"""The demo page and its JSON endpoint; the page driven in a real headless browser."""

import shutil
import threading

import pytest

flask = pytest.importorskip("flask", reason="the serve extra (Flask) is not installed")

from zoo.serve import MAX_REQUEST, make_app, make_server  # noqa: E402

STORY = "Mary moved to the bathroom.\nJohn went to the hallway.\nMary went back to the kitchen."


@pytest.fixture(scope="module")
def client():
    return make_app().test_client()


def test_the_endpoint_answers_with_the_attention_and_a_picture(client):
    r = client.post("/api/answer", json={"model": "memn2n", "weights": "babi-1k", "story": STORY,
                                         "question": "Where is Mary?", "picture": True})
    assert r.status_code == 200, r.get_json()
    out = r.get_json()
    assert out["answer"] == "kitchen" and len(out["sentences"]) == 3
    assert len(out["attention"]) == 3 and all(len(a) == 3 for a in out["attention"])
    assert out["picture"].startswith("data:image/png;base64,")
    assert "babi-1k" in client.get("/api/models").get_json()["entnet"]


@pytest.mark.parametrize("body, message", [
    ({"model": "memn2n", "weights": "babi-1k", "story": "  ", "question": "Where is Mary?"}, "story is empty"),
    ({"model": "nope", "weights": "babi-1k", "story": STORY, "question": "Where?"}, "unknown model 'nope'"),
    ({"model": "memn2n", "weights": "babi-5k", "story": STORY, "question": "Where?"}, "unknown weights"),
    ({"model": "memn2n", "weights": "babi-1k", "story": STORY, "question": "?"}, "question has no words"),
    ({"model": "memn2n", "weights": "babi-1k", "story": 3, "question": "Where?"}, "'story' must be a string"),
    (["not", "an", "object"], "JSON object"),
])
def test_bad_requests_get_400_and_a_message(client, body, message):
    r = client.post("/api/answer", json=body)
    assert r.status_code == 400 and message in r.get_json()["error"]


def test_oversized_and_non_json_requests_and_the_server_stays_up(client):
    r = client.post("/api/answer", data="x" * (MAX_REQUEST + 1), content_type="application/json")
    assert r.status_code == 413 and "larger than" in r.get_json()["error"]
    r = client.post("/api/answer", data="story", content_type="text/plain")
    assert r.status_code == 400 and "must be JSON" in r.get_json()["error"]
    assert client.get("/nothing").status_code == 404
    assert client.get("/").status_code == 200


def test_the_server_listens_on_the_local_address_only():
    server = make_server(0)
    try:
        assert server.host == "127.0.0.1" and server.port > 0
    finally:
        server.server_close()
    with pytest.raises(ValueError, match="port must be"):
        make_server(70000)


@pytest.mark.skipif(shutil.which("chromedriver") is None, reason="no chromedriver (.ci/run installs Debian's "
                                                                  "chromium and chromium-driver)")
def test_the_page_in_a_headless_browser_answers_a_babi_story():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import Select, WebDriverWait

    server = make_server(0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    options = webdriver.ChromeOptions()
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"):
        options.add_argument(arg)
    if shutil.which("chromium"):
        options.binary_location = shutil.which("chromium")
    driver = webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=options)
    try:
        driver.get(f"http://127.0.0.1:{server.port}/")
        wait = WebDriverWait(driver, 120)
        wait.until(lambda d: len(Select(d.find_element(By.ID, "weights")).options) > 0)
        Select(driver.find_element(By.ID, "model")).select_by_value("memn2n")
        Select(driver.find_element(By.ID, "weights")).select_by_value("babi-1k")
        story = driver.find_element(By.ID, "story")
        story.clear()
        story.send_keys("Daniel went to the office.\nSandra journeyed to the garden.\nDaniel moved to the hallway.")
        question = driver.find_element(By.ID, "question")
        question.clear()
        question.send_keys("Where is Sandra?")
        driver.find_element(By.ID, "submit").click()
        wait.until(lambda d: d.find_element(By.ID, "answer").text not in ("", "..."))
        assert driver.find_element(By.ID, "answer").text == "garden"
        wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, "#picture img")))
        story.clear()
        driver.find_element(By.ID, "submit").click()  # an empty story: the page shows the server's message
        wait.until(lambda d: d.find_element(By.ID, "error").text != "")
        assert "story is empty" in driver.find_element(By.ID, "error").text
    finally:
        driver.quit()
        server.shutdown()
        thread.join(10)
